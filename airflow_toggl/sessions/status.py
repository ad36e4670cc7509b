"""What tasks last saw of a connection, for the sessions page: quotas, identity, rotation threshold.

Toggl answers every request with the quota it counted against; the identity checks learn whose
credentials a connection holds. The sessions page in the Airflow UI shows these without asking
Toggl again, so the tasks that saw them keep them here: one Airflow Variable per connection,
``toggl_status__<conn id>``, holding JSON::

    {
      "version": 1,
      "identity": {"id": 123, "email": "ada@example.com", "auth_mode": "session",
                   "seen_at": "2026-01-01T00:00:00+00:00"},
      "quotas": {"user": {"remaining": 24, "resets_in": 3100.0, "seen_at": "..."},
                 "organization:9": {"remaining": 230, "resets_in": 1200.0, "seen_at": "..."}},
      "rotation": {"min_remaining": 604800.0, "seen_at": "..."},
      "check": {"ok": true, "message": "...", "at": "..."}
    }

Nothing secret goes in (ids, an email, counts and times), so the key has no secret-looking word and
Airflow shows the value. Writes merge into what is there; a write that fails never fails a task.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_toggl.client.limits import Quota
from airflow_toggl.client.quotas import USER_SCOPE
from airflow_toggl.sessions.store import AirflowVariables, VariableBackend, iso_utc, parse_time

log = logging.getLogger(__name__)

STATUS_KEY_PREFIX = "toggl_status__"
STATUS_FORMAT_VERSION = 1
USER_QUOTA = USER_SCOPE
"""The scope of the quota that requests about the user (``/me``, sessions) count against."""
IDENTITY_FIELDS = ("id", "email")
"""The only ``/me`` fields kept: enough to say whose credentials they are, nothing secret."""


def status_key(conn_id: str) -> str:
    """The Variable holding a connection's status record."""
    return f"{STATUS_KEY_PREFIX}{conn_id}"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class QuotaSeen:
    """An hourly quota as one answer reported it, and when."""

    remaining: int | None
    resets_in: float | None
    seen_at: datetime | None


@dataclass(frozen=True)
class ConnectionStatus:
    """A connection's status record as read; every part may be missing."""

    identity: dict[str, Any] | None = None
    quotas: dict[str, QuotaSeen] = field(default_factory=dict)
    rotation_threshold: timedelta | None = None
    rotation_threshold_seen_at: datetime | None = None
    check: dict[str, Any] | None = None


class StatusRecord:
    """Reads and merges one connection's status record.

    :param conn_id: the connection.
    :param variables: Variable backend; Airflow's ``Variable`` (Task SDK) when omitted.
    :param clock: the current UTC time.
    """

    def __init__(
        self,
        conn_id: str,
        *,
        variables: VariableBackend | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.key = status_key(conn_id)
        self._variables = variables if variables is not None else AirflowVariables()
        self._clock = clock

    def load(self) -> ConnectionStatus:
        """The record; an empty one when the Variable is missing or not a record of ours."""
        data = self._raw()
        quotas = {
            str(scope): QuotaSeen(
                remaining=_int_or_none(entry.get("remaining")),
                resets_in=_float_or_none(entry.get("resets_in")),
                seen_at=_time_or_none(entry.get("seen_at")),
            )
            for scope, entry in _mapping(data.get("quotas")).items()
            if isinstance(entry, Mapping)
        }
        identity = _mapping(data.get("identity"))
        rotation = _mapping(data.get("rotation"))
        threshold = _float_or_none(rotation.get("min_remaining"))
        check = _mapping(data.get("check"))
        return ConnectionStatus(
            identity=dict(identity) or None,
            quotas=quotas,
            rotation_threshold=None if threshold is None else timedelta(seconds=threshold),
            rotation_threshold_seen_at=_time_or_none(rotation.get("seen_at")),
            check=dict(check) or None,
        )

    def note(
        self,
        *,
        quota: Quota | None = None,
        quota_scope: str = USER_QUOTA,
        quotas: Mapping[str, Quota] | None = None,
        identity: Mapping[str, Any] | None = None,
        auth_mode: str | None = None,
        rotation_threshold: timedelta | None = None,
        check: Mapping[str, Any] | None = None,
    ) -> None:
        """Merge what was seen into the record (parts not given stay as they were).

        ``quota`` is one quota, of ``quota_scope`` (its own ``scope`` when it has one); ``quotas`` any
        number by scope (``user``, ``organization:<id>``, ``workspace:<id>``), each kept apart.
        """
        now = iso_utc(self._clock())
        data = self._raw()
        seen = dict(quotas or {})
        if quota is not None:
            seen[quota.scope or quota_scope] = quota
        if seen:
            kept = dict(_mapping(data.get("quotas")))
            for scope, figures in seen.items():
                kept[scope] = {"remaining": figures.remaining, "resets_in": figures.resets_in, "seen_at": now}
            data["quotas"] = kept
        if identity is not None:
            kept = {name: identity.get(name) for name in IDENTITY_FIELDS}
            data["identity"] = {**kept, "auth_mode": auth_mode, "seen_at": now}
        if rotation_threshold is not None:
            data["rotation"] = {"min_remaining": rotation_threshold.total_seconds(), "seen_at": now}
        if check is not None:
            data["check"] = {**check, "at": now}
        data["version"] = STATUS_FORMAT_VERSION
        self._variables.set(self.key, json.dumps(data))

    def _raw(self) -> dict[str, Any]:
        raw = self._variables.get(self.key)
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            log.warning("Variable %s is not a Toggl status record; it will be replaced.", self.key)
            return {}
        return data if isinstance(data, dict) else {}

    def __repr__(self) -> str:
        return f"StatusRecord(key={self.key!r})"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _time_or_none(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        return None


__all__ = [
    "STATUS_KEY_PREFIX",
    "USER_QUOTA",
    "ConnectionStatus",
    "QuotaSeen",
    "StatusRecord",
    "status_key",
]
