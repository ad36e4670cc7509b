"""The one owner of secrets: what counts as one, where requests and answers hold them, every form in
which a server could echo one back, and the registry that redacts them and hands them to the masker.

A server that echoes a request (a 400 quoting the JSON body, a 404 quoting the path, a debug page
quoting the ``Authorization`` header) rarely shows the secret byte for byte: JSON escapes quotes,
backslashes and non-ASCII letters, a path is percent-encoded, a Basic header is base64 of
``user:secret``, and whitespace gets collapsed or dropped. :func:`secret_forms` is the one place that
knows those forms; :class:`SecretRegistry` redacts them all and hands each to ``on_secret`` (the hook
passes Airflow's masker), so the second line of defence knows them too.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from collections.abc import Callable
from typing import Protocol
from urllib.parse import quote, quote_plus

from airflow_toggl.client.values import JSON

REDACTED = "***"
API_TOKEN_PASSWORD = "api_token"  # noqa: S105 - the literal word Toggl expects, not a secret
"""The password of a Basic header that carries an API token (``<token>:api_token``)."""

SECRET_FIELDS = frozenset({"api_token", "intercom_hash", "password", "current_password", "reset_token"})
"""Fields of Toggl answers (and request bodies) whose values are credentials."""

SECRET_ANSWER_PATHS = frozenset({"/api/v9/me/reset_token"})
"""Paths whose whole answer is a credential (a JSON string)."""

PASSWORD_RESET_CONFIRM_PATH = "/api/me/password_reset/confirm/"  # noqa: S105 - a path, not a secret
"""Toggl takes the emailed reset code as the path segment after this: the one secret in a path."""

_SECRET_SEGMENT = re.compile("^(" + re.escape(PASSWORD_RESET_CONFIRM_PATH) + ")(.+)$")
_SECRET_SEGMENT_IN_TEXT = re.compile("(" + re.escape(PASSWORD_RESET_CONFIRM_PATH) + r")[^\s\"'?#]+")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def path_secret(path: str) -> tuple[str, str | None]:
    """``path`` as logs may show it (the secret segment as ``<code>``), and that secret if it holds one."""
    match = _SECRET_SEGMENT.match(path)
    if match is None:
        return path, None
    return match.group(1) + "<code>", match.group(2)


def visit_secrets(value: object, found: Callable[[str, str | None], None]) -> None:
    """Call ``found(secret, login)`` for every string held by a :data:`SECRET_FIELDS` key anywhere in
    ``value``; ``login`` is the ``email`` beside it, which a Basic header would pair it with."""
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            email = current.get("email")
            login = email if isinstance(email, str) and email else None
            for key, item in current.items():
                if key in SECRET_FIELDS and isinstance(item, str) and item:
                    found(item, login)
                elif isinstance(item, (dict, list)):
                    pending.append(item)
        elif isinstance(current, list):
            pending.extend(item for item in current if isinstance(item, (dict, list)))


def fields_hold_secrets(value: object) -> bool:
    """Whether any :data:`SECRET_FIELDS` key of ``value`` holds a non-empty string."""
    found: list[str] = []
    visit_secrets(value, lambda secret, _login: found.append(secret))
    return bool(found)


def scrubbed(value: JSON, redact: Callable[[str], str]) -> JSON:
    """A copy of ``value`` with secret fields shown as ``***`` and ``redact`` applied to every string."""
    if isinstance(value, dict):
        return {
            key: REDACTED if key in SECRET_FIELDS and item is not None else scrubbed(item, redact)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrubbed(item, redact) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value


# -- the forms a server could echo ------------------------------------------------------------------


def _json_escaped(text: str, *, ensure_ascii: bool) -> str:
    return json.dumps(text, ensure_ascii=ensure_ascii)[1:-1]


def _base64_forms(text: str) -> set[str]:
    raw = text.encode()
    standard = base64.b64encode(raw).decode("ascii")
    urlsafe = base64.urlsafe_b64encode(raw).decode("ascii")
    return {standard, standard.rstrip("="), urlsafe, urlsafe.rstrip("=")}


def _percent_forms(text: str) -> set[str]:
    forms = {quote(text, safe=""), quote(text), quote_plus(text)}
    # Servers differ in the case of the hex digits: register both.
    forms |= {_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), form) for form in forms}
    return forms


def _escaped_forms(base: str) -> set[str]:
    """``base`` JSON-escaped (ASCII or not, once and twice), percent-encoded, HTML-escaped, repr'd."""
    forms: set[str] = set()
    for ensure_ascii in (True, False):
        escaped = _json_escaped(base, ensure_ascii=ensure_ascii)
        forms |= {escaped, _json_escaped(escaped, ensure_ascii=ensure_ascii)}
    forms |= _percent_forms(base)
    forms.add(html.escape(base, quote=True))
    forms.add(repr(base)[1:-1])
    return forms


def secret_forms(secret: str, *, user: str | None = None) -> frozenset[str]:
    """``secret`` as a server could echo it: raw, stripped, JSON-escaped (ASCII or not, once and
    twice), percent-encoded (path and form style, either hex case), HTML-escaped, whitespace
    collapsed or removed, and base64 of the secret, of ``user:secret`` and of ``secret:api_token``.

    Empty for an empty secret. ``user`` is the login the secret is paired with in a Basic header.
    """
    if not secret or not secret.strip():
        return frozenset()
    bases = {secret, secret.strip(), " ".join(secret.split()), "".join(secret.split())}
    forms: set[str] = set(bases)
    for base in bases:
        forms |= _escaped_forms(base)
    forms |= _base64_forms(secret)
    forms |= _base64_forms(f"{secret}:{API_TOKEN_PASSWORD}")
    if user:
        forms |= _base64_forms(f"{user}:{secret}")
    return frozenset(form for form in forms if form)


def _pattern_of(form: str) -> str:
    """A regex for ``form`` that also matches it with its whitespace runs changed or removed."""
    parts = form.split()
    if len(parts) <= 1 and form == form.strip():
        return re.escape(form)
    return r"\s*".join(re.escape(part) for part in parts)


class Credential(Protocol):
    """What the registry reads of a credential (:class:`~airflow_toggl.client.auth.TogglAuth`)."""

    email: str | None

    def secrets(self) -> tuple[str, ...]: ...


class SecretRegistry:
    """Remembers secrets, replaces every form of each (see :func:`secret_forms`) with ``***``, and
    hands each new form to ``on_secret`` (the masker hook) once.

    Matching ignores case, so a percent escape or a ``\\u`` escape in either case is caught; hiding a
    harmless case variant of a secret as well is the safe side to err on.
    """

    def __init__(self, on_secret: Callable[[str], None] | None = None) -> None:
        self._on_secret = on_secret
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str, *, user: str | None = None) -> list[str]:
        """Remember ``secret``; return the forms not known before (each also handed to ``on_secret``)."""
        new = sorted(secret_forms(secret, user=user) - self._forms)
        if new:
            self._forms.update(new)
            self._pattern = None
        if self._on_secret is not None:
            for form in new:
                self._on_secret(form)
        return new

    def add_auth(self, auth: Credential) -> None:
        """Every secret a credential holds, paired with its login where a Basic header pairs them."""
        for secret in auth.secrets():
            self.add(secret, user=auth.email)

    def add_fields(self, value: object) -> None:
        """Every secret held by a :data:`SECRET_FIELDS` key of a body or an answer."""

        def found(secret: str, login: str | None) -> None:
            self.add(secret, user=login)

        visit_secrets(value, found)

    def add_answer(self, path: str, body: object) -> None:
        """The secrets of a parsed answer: its secret fields, or all of it where the path answers one."""
        if path in SECRET_ANSWER_PATHS and isinstance(body, str):
            self.add(body)
        self.add_fields(body)

    def redact(self, text: str) -> str:
        """``text`` with every known form of every secret replaced by ``***``."""
        if not self._forms or not text:
            return text
        if self._pattern is None:
            ordered = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(_pattern_of(form) for form in ordered), re.IGNORECASE)
        return self._pattern.sub(REDACTED, text)

    def scrub(self, value: JSON) -> JSON:
        """A copy of an answer fit for logs and XCom: secret fields as ``***``, known secrets redacted."""
        return scrubbed(value, self.redact)

    def __repr__(self) -> str:
        return f"SecretRegistry({len(self._forms)} forms)"


# -- the secret in a path, in urllib3's own log lines -------------------------------------------------


class ResetCodeFilter(logging.Filter):
    """Hides the password reset code, which Toggl takes in the URL path, from urllib3's log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if PASSWORD_RESET_CONFIRM_PATH in message:
            record.msg, record.args = _SECRET_SEGMENT_IN_TEXT.sub(r"\1" + REDACTED, message), ()
        return True


URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.connection")


def hide_path_secrets_from_urllib3() -> None:
    """Install :class:`ResetCodeFilter` on urllib3's loggers, once (a second call adds nothing)."""
    for name in URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, ResetCodeFilter) for existing in logger.filters):
            logger.addFilter(ResetCodeFilter())
