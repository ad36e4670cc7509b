"""Everything the emulator remembers: users, sessions, reset codes, limits, faults, counters.

One re-entrant lock guards all of it. Request handling takes the lock for the whole (fast,
I/O-free) logical step, so concurrent requests see consistent state.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_toggl.emulator.config import EmulatorConfig, bounded_number
from airflow_toggl.emulator.faults import Fault
from airflow_toggl.emulator.limits import LeakyBucket, QuotaWindow

_ACCOUNTS_ID_ALPHABET = string.ascii_letters + string.digits
_MAX_ID = 2**63 - 1  # Toggl's ids are 64-bit integers


def iso_timestamp(epoch: float) -> str:
    """ISO 8601 in UTC with a ``Z``, like Toggl's ``at`` fields."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_api_token() -> str:
    """A Track API token: 32 lowercase hex characters."""
    return secrets.token_hex(16)


@dataclass
class User:
    """One Toggl account."""

    id: int
    email: str
    password: str
    api_token: str
    fullname: str
    timezone: str
    default_workspace_id: int
    organization_id: int
    toggl_accounts_id: str
    intercom_hash: str
    created_at: float
    updated_at: float
    closed: bool = False

    def record(self) -> dict[str, Any]:
        """A copy of the account for test assertions (includes the secrets)."""
        return {
            "id": self.id,
            "email": self.email,
            "password": self.password,
            "api_token": self.api_token,
            "fullname": self.fullname,
            "timezone": self.timezone,
            "default_workspace_id": self.default_workspace_id,
            "organization_id": self.organization_id,
            "toggl_accounts_id": self.toggl_accounts_id,
            "closed": self.closed,
        }


@dataclass
class SessionRecord:
    """One issued session cookie, known by its ``jti``."""

    jti: str
    user_id: int
    expires_at: int
    cookie: str = field(default="", repr=False)
    deleted: bool = False


@dataclass
class Counters:
    """What the emulator received and sent, for assertions."""

    requests: Counter[str] = field(default_factory=Counter)
    responses: Counter[str] = field(default_factory=Counter)
    requests_by_credential: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    connections_by_path: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    quota_exceeded: int = 0

    def snapshot(self) -> dict[str, Any]:
        """Plain dicts and ints, safe to hand out."""
        return {
            "requests": dict(self.requests),
            "responses": dict(self.responses),
            "requests_by_credential": dict(self.requests_by_credential),
            "connections": self.connections,
            "connections_by_path": dict(self.connections_by_path),
            "rate_limited": self.rate_limited,
            "quota_exceeded": self.quota_exceeded,
        }


class EmulatorState:
    """The emulator's memory; callers hold ``lock`` while reading or changing it."""

    def __init__(self, config: EmulatorConfig) -> None:
        """Start empty, with random id bases so ids differ between emulators."""
        self.lock = threading.RLock()
        self.config = config
        self.users: dict[int, User] = {}
        self.by_email: dict[str, int] = {}
        self.by_token: dict[str, int] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.reset_codes: dict[str, int] = {}
        self.outboxes: dict[str, list[str]] = {}
        self.buckets: dict[tuple[Any, ...], LeakyBucket] = {}
        self.quotas: dict[tuple[Any, ...], QuotaWindow] = {}
        self.faults: list[Fault] = []
        self.counters = Counters()
        self._secret = secrets.token_bytes(32)
        self._next_user_id = 1_000_000 + secrets.randbelow(8_000_000)
        self._next_workspace_id = 1_000_000 + secrets.randbelow(8_000_000)

    def now(self) -> float:
        """The emulator clock."""
        return float(self.config.clock())

    # Users -------------------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        password: str,
        *,
        api_token: str | None = None,
        fullname: str | None = None,
        timezone: str = "UTC",
        default_workspace_id: int | None = None,
    ) -> User:
        """Create an account; refuses an email or API token that an open account already has."""
        if not isinstance(email, str) or "@" not in email:
            raise ValueError("email must be an email address")
        if not isinstance(password, str) or not password:
            raise ValueError("password must be a non-empty string")
        for name, value in (("api_token", api_token), ("fullname", fullname), ("timezone", timezone)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string")
        if default_workspace_id is not None:
            bounded_number("default_workspace_id", default_workspace_id, int, 1, _MAX_ID, False)
        if self.find_by_email(email) is not None:
            raise ValueError("a user with that email already exists")
        token = api_token or new_api_token()
        if token in self.by_token:
            raise ValueError("that API token belongs to another user")
        user_id = self._next_user_id
        self._next_user_id += 1
        workspace_id = default_workspace_id or self._allocate_workspace()
        now = self.now()
        user = User(
            id=user_id,
            email=email,
            password=password,
            api_token=token,
            fullname=fullname or email.split("@", 1)[0],
            timezone=timezone,
            default_workspace_id=workspace_id,
            organization_id=self._allocate_workspace(),
            toggl_accounts_id="".join(secrets.choice(_ACCOUNTS_ID_ALPHABET) for _ in range(22)),
            intercom_hash=hmac.new(self._secret, str(user_id).encode(), hashlib.sha256).hexdigest(),
            created_at=now,
            updated_at=now,
        )
        self.users[user_id] = user
        self.by_email[email.lower()] = user_id
        self.by_token[token] = user_id
        return user

    def _allocate_workspace(self) -> int:
        """A fresh workspace or organisation id."""
        value = self._next_workspace_id
        self._next_workspace_id += 1
        return value

    def find_by_email(self, email: str) -> User | None:
        """The open account with that email (case-insensitive)."""
        user = self.users.get(self.by_email.get(email.lower(), -1))
        return user if user is not None and not user.closed else None

    def latest_by_email(self, email: str) -> User | None:
        """The newest account with that email, closed or not (for assertions)."""
        return self.users.get(self.by_email.get(email.lower(), -1))

    def find_by_token(self, token: str) -> User | None:
        """The open account owning an API token."""
        user = self.users.get(self.by_token.get(token, -1))
        return user if user is not None and not user.closed else None

    def reset_token(self, user: User) -> str:
        """Give ``user`` a new API token; the old one stops working at once."""
        self.by_token.pop(user.api_token, None)
        user.api_token = new_api_token()
        user.updated_at = self.now()
        self.by_token[user.api_token] = user.id
        return user.api_token

    def close_account(self, user: User) -> None:
        """Close ``user``: its password, token and sessions stop working."""
        user.closed = True
        user.updated_at = self.now()
        self.by_token.pop(user.api_token, None)
        for record in self.sessions.values():
            if record.user_id == user.id:
                record.deleted = True

    # Password reset ----------------------------------------------------------------------

    def issue_reset_code(self, user: User) -> str:
        """A fresh single-use reset code, "mailed" to the user's outbox."""
        code = secrets.token_hex(20)
        self.reset_codes[code] = user.id
        self.outboxes.setdefault(user.email.lower(), []).append(code)
        return code

    def redeem_reset_code(self, code: str) -> User | None:
        """Consume a reset code; ``None`` when unknown, used, or its account is closed."""
        user = self.users.get(self.reset_codes.pop(code, -1))
        return user if user is not None and not user.closed else None

    # Sessions ----------------------------------------------------------------------------

    def live_session(self, jti: str, now: float) -> SessionRecord | None:
        """The session with that jti if it is unexpired, undeleted and its account open."""
        record = self.sessions.get(jti)
        if record is None or record.deleted or record.expires_at <= now:
            return None
        user = self.users.get(record.user_id)
        return record if user is not None and not user.closed else None

    # Faults ------------------------------------------------------------------------------

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Use up one application of the first fault matching the request."""
        for fault in self.faults:
            if fault.matches(method, path):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # Limits ------------------------------------------------------------------------------

    def bucket(self, key: tuple[Any, ...]) -> LeakyBucket:
        """The leaky bucket of one (identity, client IP)."""
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = LeakyBucket(updated=self.now())
        return bucket

    def quota(self, key: tuple[Any, ...]) -> QuotaWindow:
        """The quota window of one (user, scope)."""
        return self.quotas.setdefault(key, QuotaWindow())
