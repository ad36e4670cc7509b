"""What a generic call may ask for: the method, the service, a relative path; and the secrets in answers.

Checked before any request is sent, so a typo or an absolute URL fails naming the field instead of
carrying the connection's credentials somewhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from airflow_toggl.client.errors import TogglConfigError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
METHODS = IDEMPOTENT_METHODS | {"POST", "PATCH"}
SERVICES = ("track", "accounts")

SECRET_FIELDS = frozenset({"api_token", "intercom_hash", "password", "current_password", "reset_token"})
"""Fields of Toggl answers (and request bodies) whose values are credentials."""

SECRET_ANSWER_PATHS = frozenset({"/api/v9/me/reset_token"})
"""Paths whose whole answer is a credential (a JSON string)."""

_SECRET_SEGMENT = re.compile(r"^(/api/me/password_reset/confirm/)(.+)$")
_FORBIDDEN_CHARACTERS = re.compile(r"[\s\\?#\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Call:
    """A validated generic request: what is sent, and the label its log lines and errors use."""

    method: str
    service: str
    path: str
    idempotent: bool
    label: str
    path_secret: str | None = None


def generic_call(method: Any, path: Any, service: Any = "track", idempotent: Any = None) -> Call:
    """Check a generic request's parts; a TogglConfigError names the first bad one."""
    if not isinstance(method, str) or method.strip().upper() not in METHODS:
        raise TogglConfigError("method", f"must be one of {', '.join(sorted(METHODS))}")
    verb = method.strip().upper()
    service = getattr(service, "value", service)
    if service not in SERVICES:
        raise TogglConfigError("service", f"must be one of {', '.join(SERVICES)}")
    checked = validate_path(path)
    if idempotent is not None and not isinstance(idempotent, bool):
        raise TogglConfigError("idempotent", "must be true, false or empty (decided by the method)")
    secret_match = _SECRET_SEGMENT.match(checked)
    shown = secret_match.group(1) + "<code>" if secret_match else checked
    return Call(
        method=verb,
        service=service,
        path=checked,
        idempotent=verb in IDEMPOTENT_METHODS if idempotent is None else idempotent,
        label=f"{verb} {shown}",
        path_secret=secret_match.group(2) if secret_match else None,
    )


def validate_path(path: Any) -> str:
    """A path relative to the service's base URL: starts with one ``/``, no host, no ``..``, no query."""
    if not isinstance(path, str) or not path.strip():
        raise TogglConfigError("path", "must be a path such as /api/v9/me/workspaces")
    if not path.startswith("/") or path.startswith("//") or "://" in path:
        raise TogglConfigError("path", "must start with a single / and name no scheme or host")
    if _FORBIDDEN_CHARACTERS.search(path):
        raise TogglConfigError(
            "path",
            "must not hold spaces, backslashes, control characters, ? or #: pass query values as params",
        )
    decoded = unquote(path)
    if any(segment in (".", "..") for segment in decoded.split("/")) or "\\" in decoded:
        raise TogglConfigError("path", "must not hold . or .. segments")
    return path


def visit_secrets(value: Any, found: Callable[[str], None]) -> None:
    """Call ``found`` with every string held by a :data:`SECRET_FIELDS` key anywhere in ``value``."""
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            for key, item in current.items():
                if key in SECRET_FIELDS and isinstance(item, str) and item:
                    found(item)
                elif isinstance(item, (dict, list)):
                    pending.append(item)
        elif isinstance(current, list):
            pending.extend(item for item in current if isinstance(item, (dict, list)))


def scrubbed(value: Any, redact: Callable[[str], str]) -> Any:
    """A copy of ``value`` with secret fields shown as ``***`` and ``redact`` applied to every string."""
    if isinstance(value, dict):
        return {
            key: "***" if key in SECRET_FIELDS and item is not None else scrubbed(item, redact)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrubbed(item, redact) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value
