"""One row of the sessions page: what Airflow's stores say of a ``toggl`` connection, and its state.

Pure functions over facts already read (:mod:`airflow_toggl.ui.sources` reads them): no database,
no Variable, no request to Toggl, so the rules are tested as tables. A row holds ids, an email,
counts and times; never a password, token or cookie (:class:`StoredSession` keeps its cookies out
of everything it shows, and only counts and times are taken from it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from airflow_toggl.sessions.status import ConnectionStatus
from airflow_toggl.sessions.store import StoredSession, iso_utc

DEFAULT_ROTATION_THRESHOLD = timedelta(days=7)
"""``TogglRotateSessionOperator``'s default ``min_remaining``, used until a rotation task records its own."""

HEALTHY = "healthy"
EXPIRING = "expiring"
STALE_PENDING = "stale_pending"
ROTATION_FAILING = "rotation_failing"
NO_SESSION = "no_session"
INVALID = "invalid"
STATES = (ROTATION_FAILING, INVALID, EXPIRING, STALE_PENDING, NO_SESSION, HEALTHY)
"""Every state a row can be in, the most urgent first."""

FAILED_TASK_STATES = frozenset({"failed", "upstream_failed", "up_for_retry"})
"""Task states that count as a failing rotation (a retry pending means the last attempt failed)."""


@dataclass(frozen=True)
class RotationRun:
    """The latest run of a rotation task: its DAG run, the task's state and when it ran."""

    dag_id: str
    task_id: str
    run_id: str
    state: str | None
    at: datetime | None

    @property
    def url(self) -> str:
        """The task in the run, relative to the Airflow UI's base URL."""
        return "/".join(
            (
                "dags",
                quote(self.dag_id, safe=""),
                "runs",
                quote(self.run_id, safe=""),
                "tasks",
                quote(self.task_id, safe=""),
            )
        )


@dataclass(frozen=True)
class RotationSchedule:
    """A rotation task of the connection and its DAG's schedule."""

    dag_id: str
    task_id: str
    next_run_at: datetime | None = None
    paused: bool = False


@dataclass(frozen=True)
class ConnectionFacts:
    """Everything read about one connection, before any judgement."""

    conn_id: str
    login: str | None = None
    auth_mode: str | None = None
    settings_error: str | None = None
    session_key: str | None = None
    stored: StoredSession | None = None
    store_error: str | None = None
    status: ConnectionStatus = field(default_factory=ConnectionStatus)
    schedule: RotationSchedule | None = None
    last_run: RotationRun | None = None


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 1)


def threshold_of(facts: ConnectionFacts) -> tuple[timedelta, str]:
    """The rotation threshold to measure time left against, and where it comes from."""
    recorded = facts.status.rotation_threshold
    if recorded is not None:
        return recorded, "rotation task"
    return DEFAULT_ROTATION_THRESHOLD, "default"


def classify(facts: ConnectionFacts, now: datetime) -> tuple[str, str]:
    """The row's state and a short reason, the most urgent condition first."""
    run = facts.last_run
    if run is not None and run.state in FAILED_TASK_STATES:
        return (
            ROTATION_FAILING,
            f"the last rotation ({run.dag_id}.{run.task_id}) {run.state.replace('_', ' ')}",
        )
    if facts.settings_error:
        return INVALID, facts.settings_error
    if facts.store_error:
        return INVALID, facts.store_error
    stored = facts.stored
    if stored is None:
        where = f" under {facts.session_key}" if facts.session_key else ""
        return NO_SESSION, f"no session stored{where}"
    remaining = stored.session.remaining(now)
    threshold, _ = threshold_of(facts)
    if remaining is None:
        return EXPIRING, "the stored session's expiry is unknown: the next rotation replaces it"
    if remaining <= timedelta(0):
        return EXPIRING, "the stored session has expired (by its cookie's exp)"
    if remaining <= threshold:
        return EXPIRING, f"{_human(remaining)} left, under the rotation threshold of {_human(threshold)}"
    if stored.stale:
        count = len(stored.stale)
        return STALE_PENDING, f"{count} old session{'s' if count > 1 else ''} still to delete on Toggl"
    return HEALTHY, f"{_human(remaining)} left; rotation at {_human(threshold)}"


def _human(delta: timedelta) -> str:
    """A duration in its largest sensible unit: ``3 d 4 h``, ``5 h 10 min``, ``42 min``."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"


def user_of(facts: ConnectionFacts) -> dict[str, Any] | None:
    """Whose session is stored: id from the store; email from the last identity check or the login.

    A rotation verifies that a new session belongs to the connection's email before storing it, so
    the login names the stored session's user when the identity check has not seen it.
    """
    identity = facts.status.identity or {}
    stored_id = facts.stored.user_id if facts.stored else None
    checked_id = identity.get("id")
    if stored_id is None and checked_id is None:
        return None
    if stored_id is None or checked_id == stored_id:
        return {
            "id": checked_id if stored_id is None else stored_id,
            "email": identity.get("email"),
            "source": "identity check" if stored_id is None else "session store, identity check",
            "seen_at": identity.get("seen_at"),
        }
    return {
        "id": stored_id,
        "email": facts.login,
        "source": "store (id) and login (email)",
        "seen_at": None,
    }


def session_of(facts: ConnectionFacts, now: datetime) -> dict[str, Any]:
    """The stored session as counts and times (no cookie)."""
    threshold, source = threshold_of(facts)
    base: dict[str, Any] = {
        "key": facts.session_key,
        "threshold_seconds": _seconds(threshold),
        "threshold_source": source,
    }
    stored = facts.stored
    if stored is None:
        return {**base, "stored": False, "stale_pending": 0}
    return {
        **base,
        "stored": True,
        "created_at": iso_utc(stored.created_at),
        "age_seconds": _seconds(now - stored.created_at) if stored.created_at else None,
        "expires_at": iso_utc(stored.expires_at),
        "expires_at_is_hint": True,
        "remaining_seconds": _seconds(stored.session.remaining(now)),
        "stale_pending": len(stored.stale),
    }


def rotation_of(facts: ConnectionFacts) -> dict[str, Any] | None:
    """The rotation task, its latest run and the next scheduled one."""
    schedule, run = facts.schedule, facts.last_run
    if schedule is None and run is None:
        return None
    last = None
    if run is not None:
        last = {"run_id": run.run_id, "state": run.state, "at": iso_utc(run.at), "url": run.url}
    return {
        "dag_id": schedule.dag_id if schedule else run.dag_id if run else None,
        "task_id": schedule.task_id if schedule else run.task_id if run else None,
        "last_run": last,
        "next_run_at": iso_utc(schedule.next_run_at) if schedule else None,
        "paused": schedule.paused if schedule else None,
    }


def quotas_of(status: ConnectionStatus) -> list[dict[str, Any]]:
    """The quotas last seen, the user's first, then each organization's."""
    order = sorted(status.quotas, key=lambda scope: (scope != "user", scope))
    return [
        {
            "scope": scope,
            "remaining": status.quotas[scope].remaining,
            "resets_in": status.quotas[scope].resets_in,
            "seen_at": iso_utc(status.quotas[scope].seen_at),
        }
        for scope in order
    ]


def overview_row(facts: ConnectionFacts, now: datetime) -> dict[str, Any]:
    """The page's row for one connection, JSON-ready and free of secrets."""
    state, reason = classify(facts, now)
    return {
        "conn_id": facts.conn_id,
        "auth_mode": facts.auth_mode,
        "state": state,
        "reason": reason,
        "user": user_of(facts),
        "session": session_of(facts, now),
        "rotation": rotation_of(facts),
        "quotas": quotas_of(facts.status),
        "last_check": facts.status.check,
    }


__all__ = [
    "DEFAULT_ROTATION_THRESHOLD",
    "EXPIRING",
    "HEALTHY",
    "INVALID",
    "NO_SESSION",
    "ROTATION_FAILING",
    "STALE_PENDING",
    "STATES",
    "ConnectionFacts",
    "RotationRun",
    "RotationSchedule",
    "classify",
    "overview_row",
]
