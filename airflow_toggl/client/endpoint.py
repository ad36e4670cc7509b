"""A request as one object, from the named endpoint to the wire: :class:`Call`.

Every endpoint method of the client builds one :class:`Call` (method, service, path, query, body,
credentials, whether it may be sent twice, which secrets it carries) and hands it down; the sender,
the transport and the error mapping read what they need from it. A generic call is checked here
before any request is sent, so a typo or an absolute URL fails naming the field instead of carrying
the connection's credentials somewhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from airflow_toggl.client.errors import TogglConfigError
from airflow_toggl.client.secrets import PASSWORD_RESET_CONFIRM_PATH, fields_hold_secrets, path_secret
from airflow_toggl.client.values import JSON

if TYPE_CHECKING:
    from airflow_toggl.client.auth import TogglAuth

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
METHODS = IDEMPOTENT_METHODS | {"POST", "PATCH"}

_FORBIDDEN_CHARACTERS = re.compile(r"[\s\\?#\x00-\x1f\x7f]")


class Service(str, Enum):
    """The two Toggl services, each with its own base URL (its value is the name callers pass)."""

    TRACK = "track"
    ACCOUNTS = "accounts"


SERVICES = tuple(service.value for service in Service)


@dataclass(frozen=True)
class Call:
    """One logical request, from the endpoint method to the wire (each retry sends it again).

    ``auth`` None means the client's own credential. ``secrets`` are the secret values the request
    carries (a password in the body, a reset code in the path), registered before it is sent;
    ``sensitive`` marks a request whose error answers are never quoted, because it carries a secret
    or its answer is one. ``label`` names it in log lines and errors, with no secret in it.
    """

    method: str
    service: Service
    path: str
    idempotent: bool
    label: str
    params: Mapping[str, Any] | None = None
    json: JSON = None
    auth: TogglAuth | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    sensitive: bool = False

    def with_page(self, params: Mapping[str, Any] | None, json: JSON) -> Call:
        """The same call with another page's query and body."""
        return replace(self, params=params, json=json)


def endpoint(
    method: str,
    service: Service,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    json: JSON = None,
    auth: TogglAuth | None = None,
    idempotent: bool = True,
    secrets: tuple[str, ...] = (),
    sensitive: bool = False,
) -> Call:
    """A named endpoint's call; ``sensitive`` is implied by any secret it carries."""
    shown, in_path = path_secret(path)
    carried = (*secrets, in_path) if in_path else secrets
    return Call(
        method=method,
        service=service,
        path=path,
        idempotent=idempotent,
        label=f"{method} {shown}",
        params=params,
        json=json,
        auth=auth,
        secrets=carried,
        sensitive=sensitive or bool(carried) or fields_hold_secrets(json),
    )


def reset_confirm_path(code: str) -> str:
    """The confirm path for an emailed reset code (percent-encoded into one path segment)."""
    return PASSWORD_RESET_CONFIRM_PATH + quote(code, safe="")


def generic_call(
    method: object,
    path: object,
    service: object = Service.TRACK,
    idempotent: object = None,
    *,
    params: Mapping[str, Any] | None = None,
    json: JSON = None,
) -> Call:
    """Check a generic request's parts; a TogglConfigError names the first bad one."""
    if not isinstance(method, str) or method.strip().upper() not in METHODS:
        raise TogglConfigError("method", f"must be one of {', '.join(sorted(METHODS))}")
    verb = method.strip().upper()
    if service not in SERVICES:
        raise TogglConfigError("service", f"must be one of {', '.join(SERVICES)}")
    checked = validate_path(path)
    if idempotent is not None and not isinstance(idempotent, bool):
        raise TogglConfigError("idempotent", "must be true, false or empty (decided by the method)")
    safe = verb in IDEMPOTENT_METHODS if idempotent is None else idempotent
    return endpoint(verb, Service(service), checked, params=params, json=json, idempotent=safe)


def validate_path(path: object) -> str:
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
