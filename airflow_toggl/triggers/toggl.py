"""Trigger that lets a deferred Toggl task sleep in the triggerer until its hourly quota resets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_toggl.exceptions import TogglConfigError

DEFAULT_POLL_INTERVAL = 30.0
"""Seconds between wake-ups while waiting; short enough to notice a moved clock."""


class TogglQuotaResetTrigger(BaseTrigger):
    """Waits until ``resume_at`` (when Toggl's hourly quota resets), then fires once.

    The task resumes in ``execute_complete`` and goes on with its work; ``resume`` (how far the
    work got, such as a paged export's cursor) comes back in the event, so nothing done before the
    wait is done again. Waiting here instead of in the task frees the worker slot for up to an hour.

    :param resume_at: when to fire; a timezone-aware datetime (or its ISO 8601 text).
    :param toggl_conn_id: the connection whose quota is being waited for (shown in logs).
    :param poll_interval: longest single sleep, in seconds.
    :param resume: JSON-serialisable progress of the task, free of secrets, handed back in the event.
    """

    def __init__(
        self,
        resume_at: datetime | str,
        toggl_conn_id: str,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        resume: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.resume_at = _aware(resume_at)
        self.toggl_conn_id = toggl_conn_id
        self.poll_interval = check_poll_interval(poll_interval)
        self.resume = resume

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and every constructor argument."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "resume_at": self.resume_at,
                "toggl_conn_id": self.toggl_conn_id,
                "poll_interval": self.poll_interval,
                "resume": self.resume,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Sleep in steps of at most ``poll_interval`` until ``resume_at``, then yield one event."""
        self.log.info(
            "Waiting for the Toggl quota of connection %r to reset at %s.",
            self.toggl_conn_id,
            self.resume_at.isoformat(),
        )
        while (left := (self.resume_at - datetime.now(timezone.utc)).total_seconds()) > 0:
            await asyncio.sleep(min(left, self.poll_interval))
        yield TriggerEvent(
            {"status": "quota_reset", "resume_at": self.resume_at.isoformat(), "resume": self.resume}
        )


def check_poll_interval(value: object) -> float:
    """``value`` as seconds between clock checks; a TogglConfigError naming ``poll_interval`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TogglConfigError("poll_interval", "must be a number of seconds")
    if not value > 0:
        raise TogglConfigError("poll_interval", "must be a positive number of seconds")
    return float(value)


def _aware(value: datetime | str) -> datetime:
    """``value`` as an aware UTC datetime; naive or unparsable values are refused."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise TogglConfigError("resume_at", "is not an ISO 8601 timestamp") from None
    if not isinstance(value, datetime):
        raise TogglConfigError("resume_at", "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise TogglConfigError("resume_at", "must be timezone-aware (UTC)")
    return value.astimezone(timezone.utc)
