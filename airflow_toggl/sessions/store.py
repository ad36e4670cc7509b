"""Where a Toggl session lives between tasks: one Airflow Variable per connection.

A rotated session must reach later tasks on any worker without travelling through XCom, and tasks
may write Variables (not Connections) in Airflow 3. The Variable holds JSON::

    {
      "version": 1,
      "session_token": "<cookie>",
      "expires_at": "2026-01-01T00:00:00+00:00" | null,
      "user_id": 123 | null,
      "created_at": "2025-12-04T00:00:00+00:00",
      "stale_session_tokens": [{"session_token": "<cookie>", "expires_at": "..." | null}]
    }

Every field holding a cookie has "token" in its name and the default key has "secret" in it, so
Airflow hides them in logs and the UI. ``stale_session_tokens`` lists old sessions whose
deletion failed (or is still pending): the next rotation finishes the job.

Variables are only touched by :meth:`SessionStore.load`, :meth:`~SessionStore.save` and
:meth:`~SessionStore.clear`, and by the secret-Variable helpers the account operators use
(:func:`read_secret_variable`, :func:`write_secret_variable`), never at import or construction.
Logs name a session by :func:`session_label`, never by its value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from airflow.sdk import Variable

from airflow_toggl.client.session import TogglSession
from airflow_toggl.exceptions import TogglConfigError

log = logging.getLogger(__name__)

SESSION_KEY_PREFIX = "toggl_session_secret__"
"""Prefix of the default store key; "secret" makes Airflow hide the Variable's value."""

STORE_FORMAT_VERSION = 1

_SENSITIVE_WORDS = ("secret", "token", "password")


def default_session_key(conn_id: str) -> str:
    """The store key used for a connection when none is configured."""
    return f"{SESSION_KEY_PREFIX}{conn_id}"


def looks_sensitive(name: str) -> bool:
    """Whether a Variable name contains a word Airflow's default masker treats as secret."""
    lowered = name.lower()
    return any(word in lowered for word in _SENSITIVE_WORDS)


class VariableBackend(Protocol):
    """The three Variable operations the store needs (Airflow's ``Variable`` or a test double)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...


class AirflowVariables:
    """:class:`VariableBackend` over ``airflow.sdk.Variable``."""

    def get(self, key: str) -> str | None:
        """The raw value, or None when the Variable does not exist."""
        value = Variable.get(key, default=None)
        return None if value is None else str(value)

    def set(
        self, key: str, value: str, description: str = "Toggl session store (managed by airflow-toggl)"
    ) -> None:
        """Create or replace the Variable."""
        Variable.set(key, value, description=description)

    def delete(self, key: str) -> None:
        """Remove the Variable."""
        Variable.delete(key)


def check_secret_variable_name(field: str, value: Any, *, required: bool = False) -> None:
    """A TogglConfigError naming ``field`` unless ``value`` names a Variable Airflow treats as secret."""
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        raise TogglConfigError(field, "must be the name of an Airflow Variable")
    if not looks_sensitive(value):
        raise TogglConfigError(
            field, "must contain 'secret', 'token' or 'password' so that Airflow hides its value"
        )


def read_secret_variable(name: str) -> str:
    """The value of a Variable holding a secret; a TogglConfigError naming it when missing or empty."""
    value = AirflowVariables().get(name)
    if not value:
        raise TogglConfigError(name, "Airflow Variable is missing or empty")
    return value


def write_secret_variable(name: str, value: str, *, description: str) -> None:
    """Create or replace a Variable holding a secret."""
    AirflowVariables().set(name, value, description=description)


def iso_utc(value: datetime | None) -> str | None:
    """``value`` as ISO 8601 text in UTC (None stays None): how times are stored and returned."""
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def session_label(session: TogglSession) -> str:
    """How logs and errors name a session without its value: a short SHA-256 fingerprint and expiry."""
    digest = hashlib.sha256(session.cookie.encode()).hexdigest()[:12]
    return f"session sha256:{digest} (expires {iso_utc(session.expires_at) or 'unknown'})"


def same_cookie(a: TogglSession, b: TogglSession) -> bool:
    """Constant-time comparison of two sessions' cookies."""
    return hmac.compare_digest(a.cookie.encode(), b.cookie.encode())


@dataclass(frozen=True)
class StoredSession:
    """What the store holds: the current session, whose it is, and old sessions still to delete."""

    key: str
    session: TogglSession = field(repr=False)
    user_id: int | None = None
    created_at: datetime | None = None
    stale: tuple[TogglSession, ...] = field(default=(), repr=False)

    @property
    def expires_at(self) -> datetime | None:
        """When the current session expires (None if unknown)."""
        return self.session.expires_at

    def holds(self, session: TogglSession) -> bool:
        """Whether ``session`` is the stored current session."""
        return same_cookie(self.session, session)

    def __repr__(self) -> str:
        expires = self.expires_at.isoformat() if self.expires_at else None
        return (
            f"StoredSession(key={self.key!r}, session_token=***, expires_at={expires!r}, "
            f"user_id={self.user_id!r}, stale={len(self.stale)})"
        )

    __str__ = __repr__


class SessionStore:
    """Reads and writes one connection's session in an Airflow Variable.

    :param key: Variable key; keep a word such as ``secret`` in it so Airflow hides the value.
    :param variables: Variable backend; Airflow's ``Variable`` when omitted.
    """

    def __init__(self, key: str, *, variables: VariableBackend | None = None) -> None:
        if not isinstance(key, str) or not key.strip():
            raise TogglConfigError("session_key", "must be a non-empty Variable key")
        self.key = key
        self._variables = variables if variables is not None else AirflowVariables()
        if not looks_sensitive(key):
            log.warning(
                "Session store key %r has no 'secret', 'token' or 'password' in it: "
                "Airflow will show its value in the UI.",
                key,
            )

    @classmethod
    def for_connection(cls, conn_id: str, *, variables: VariableBackend | None = None) -> SessionStore:
        """The store at a connection's default key."""
        return cls(default_session_key(conn_id), variables=variables)

    def load(self) -> StoredSession | None:
        """The stored session, or None when the Variable is absent or empty."""
        raw = self._variables.get(self.key)
        if raw is None or not raw.strip():
            return None
        return _decode(self.key, raw)

    def save(
        self,
        session: TogglSession,
        *,
        user_id: int | None,
        stale: Iterable[TogglSession] = (),
        created_at: datetime | None = None,
    ) -> StoredSession:
        """Write ``session`` as the current one, with the old sessions still to delete.

        ``created_at`` is when the session was made (now, unless an existing entry is rewritten).
        """
        pending = _dedupe(s for s in stale if not same_cookie(s, session))
        stored = StoredSession(
            key=self.key,
            session=session,
            user_id=user_id,
            created_at=created_at or datetime.now(timezone.utc),
            stale=pending,
        )
        self._variables.set(self.key, _encode(stored))
        return stored

    def clear(self) -> None:
        """Remove the stored session (a missing Variable is fine)."""
        if self._variables.get(self.key) is not None:
            self._variables.delete(self.key)

    def __repr__(self) -> str:
        return f"SessionStore(key={self.key!r})"


def _dedupe(sessions: Iterable[TogglSession]) -> tuple[TogglSession, ...]:
    kept: list[TogglSession] = []
    for session in sessions:
        if not any(same_cookie(session, other) for other in kept):
            kept.append(session)
    return tuple(kept)


def _encode(stored: StoredSession) -> str:
    return json.dumps(
        {
            "version": STORE_FORMAT_VERSION,
            "session_token": stored.session.cookie,
            "expires_at": iso_utc(stored.session.expires_at),
            "user_id": stored.user_id,
            "created_at": iso_utc(stored.created_at),
            "stale_session_tokens": [
                {"session_token": s.cookie, "expires_at": iso_utc(s.expires_at)} for s in stored.stale
            ],
        }
    )


def _decode(key: str, raw: str) -> StoredSession:
    """Parse the stored JSON; any problem names the key, never the value."""

    def bad(problem: str) -> TogglConfigError:
        return TogglConfigError(f"Variable {key}", f"is not a Toggl session store value: {problem}")

    try:
        data = json.loads(raw)
    except ValueError:
        raise bad("not JSON") from None
    if not isinstance(data, dict):
        raise bad("not a JSON object")
    try:
        session = _session_of(data)
        user_id = data.get("user_id")
        if user_id is not None and (isinstance(user_id, bool) or not isinstance(user_id, int)):
            raise _FieldError("user_id is not an integer")
        created_at = parse_time(data.get("created_at"))
        stale_items = data.get("stale_session_tokens") or []
        if not isinstance(stale_items, list):
            raise _FieldError("stale_session_tokens is not a list")
        stale = tuple(_session_of(item) for item in stale_items)
    except (ValueError, TypeError, AttributeError) as error:
        problem = str(error) if isinstance(error, _FieldError) else "malformed field"
        raise bad(problem) from None
    return StoredSession(key=key, session=session, user_id=user_id, created_at=created_at, stale=stale)


class _FieldError(ValueError):
    """A problem with a named field; its message names the field only."""


def _session_of(item: Any) -> TogglSession:
    if not isinstance(item, dict):
        raise _FieldError("a session entry is not an object")
    cookie = item.get("session_token")
    if not isinstance(cookie, str) or not cookie:
        raise _FieldError("session_token is missing or empty")
    session = TogglSession.from_cookie(cookie)
    if session.expires_at is None:
        # Not a JWT: keep the expiry that was recorded when it was stored, if any.
        session = TogglSession(cookie=cookie, expires_at=parse_time(item.get("expires_at")))
    return session


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (UTC when it names no zone), None for None; a ValueError naming no value otherwise."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _FieldError("a timestamp is not a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _FieldError("a timestamp is not ISO 8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


__all__ = [
    "SESSION_KEY_PREFIX",
    "AirflowVariables",
    "SessionStore",
    "StoredSession",
    "VariableBackend",
    "check_secret_variable_name",
    "default_session_key",
    "iso_utc",
    "looks_sensitive",
    "parse_time",
    "read_secret_variable",
    "same_cookie",
    "session_label",
    "write_secret_variable",
]
