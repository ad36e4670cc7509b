"""Test doubles shared by the operator tests: JWT-shaped cookies, in-memory Variables, a scripted hook."""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_toggl.client.session import TogglSession
from airflow_toggl.exceptions import TogglAuthError, TogglConnectionError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
_serial = itertools.count(1)


def make_cookie(expires_at: datetime | None, subject: str = "user-1") -> str:
    """A JWT-shaped cookie (unsigned: only its claims are read) expiring at ``expires_at``."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims: dict[str, Any] = {"sub": subject, "jti": f"s{next(_serial)}"}
    if expires_at is not None:
        claims["exp"] = int(expires_at.timestamp())
    return f"{part({'alg': 'EdDSA', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def make_session(expires_in: timedelta | None = timedelta(days=28), now: datetime = NOW) -> TogglSession:
    """A session expiring ``expires_in`` after ``now`` (unknown expiry when None)."""
    if expires_in is None:
        return TogglSession.from_cookie(f"opaque-session-{next(_serial)}")
    return TogglSession.from_cookie(make_cookie(now + expires_in))


@dataclass
class Settings:
    conn_id: str = "toggl_default"
    email: str | None = "ada@example.com"
    password: str | None = "pw-Distinct-7fQ2"
    auth_mode: str = "basic"
    session_key: str = "toggl_session_secret__toggl_default"
    max_quota_wait: float = 60.0


@dataclass
class FakeHook:
    """Scripted ``TogglHook``: records calls; ``fail`` maps a method name to an exception to raise."""

    settings: Settings = field(default_factory=Settings)
    user: dict[str, Any] = field(
        default_factory=lambda: {"id": 42, "email": "ada@example.com", "api_token": "tok-SECRET-1"}
    )
    identity_override: dict[str, Any] | None = None
    fail: dict[str, BaseException] = field(default_factory=dict)
    fail_delete_for: set[str] = field(default_factory=set)
    live: set[str] = field(default_factory=set)
    created: list[TogglSession] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    logged_in: bool = True
    logged_out: set[str] = field(default_factory=set)
    """Cookies ``/me/logged`` refuses although they can still be deleted."""
    liveness_checks: list[str] = field(default_factory=list)
    new_expires_in: timedelta = timedelta(days=28)
    now: datetime = NOW

    def _maybe_fail(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]

    def create_session(self) -> TogglSession:
        self._maybe_fail("create_session")
        session = make_session(self.new_expires_in, now=self.now)
        self.created.append(session)
        self.live.add(session.cookie)
        return session

    def delete_session(self, session: TogglSession | None = None) -> bool:
        self._maybe_fail("delete_session")
        assert session is not None
        if session.cookie in self.fail_delete_for:
            raise TogglConnectionError("connection refused")
        self.deleted.append(session.cookie)
        was_live = session.cookie in self.live
        self.live.discard(session.cookie)
        return was_live

    def identity_of(self, session: TogglSession) -> dict[str, Any]:
        self._maybe_fail("identity_of")
        if session.cookie not in self.live:
            raise TogglAuthError("refused", status_code=403)
        return dict(self.identity_override or self.user)

    def get_me(self, with_related_data: bool = False) -> dict[str, Any]:
        self._maybe_fail("get_me")
        return dict(self.user)

    def is_session_live(self, session: TogglSession) -> bool:
        self._maybe_fail("is_session_live")
        self.liveness_checks.append(session.cookie)
        return session.cookie in self.live and session.cookie not in self.logged_out

    def session_store(self) -> Any:
        from airflow_toggl.sessions.store import SessionStore

        return SessionStore(self.settings.session_key)

    def is_logged_in(self) -> bool:
        self._maybe_fail("is_logged_in")
        return self.logged_in
