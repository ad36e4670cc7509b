"""The quota reset trigger: serialization round trip and its async run loop."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from airflow_toggl.exceptions import TogglConfigError
from airflow_toggl.triggers.toggl import TogglQuotaResetTrigger


def collect(trigger: TogglQuotaResetTrigger, timeout: float = 10) -> list:
    async def run() -> list:
        return [event async for event in trigger.run()]

    return asyncio.run(asyncio.wait_for(run(), timeout))


def test_serialize_round_trips_every_argument() -> None:
    resume_at = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
    resume = {"cursor": {"pages": 3, "first_row_number": 601}, "rows": 600}
    trigger = TogglQuotaResetTrigger(
        resume_at=resume_at, toggl_conn_id="toggl_x", poll_interval=5, resume=resume
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_toggl.triggers.toggl.TogglQuotaResetTrigger"
    assert kwargs == {
        "resume_at": resume_at,
        "toggl_conn_id": "toggl_x",
        "poll_interval": 5.0,
        "resume": resume,
    }
    again = TogglQuotaResetTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)


def test_serialized_kwargs_survive_airflow_serialization() -> None:
    from airflow.serialization.serialized_objects import BaseSerialization

    trigger = TogglQuotaResetTrigger(
        resume_at=datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc),
        toggl_conn_id="toggl_default",
        resume={"cursor": {"pages": 1, "page": 2}, "rows": 50},
    )
    _, kwargs = trigger.serialize()
    restored = TogglQuotaResetTrigger(**BaseSerialization.deserialize(BaseSerialization.serialize(kwargs)))
    assert restored.resume_at == trigger.resume_at
    assert restored.resume == trigger.resume


def test_fires_at_once_when_the_reset_is_past() -> None:
    resume_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    events = collect(TogglQuotaResetTrigger(resume_at=resume_at, toggl_conn_id="toggl_default"))
    assert len(events) == 1
    assert events[0].payload == {"status": "quota_reset", "resume_at": resume_at.isoformat(), "resume": None}
    resume = {"cursor": {"pages": 2, "page": 3}, "rows": 4}
    again = collect(TogglQuotaResetTrigger(resume_at=resume_at, toggl_conn_id="c", resume=resume))
    assert again[0].payload["resume"] == resume  # the task goes on from it


def test_waits_in_small_sleeps_until_the_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    real_sleep = asyncio.sleep

    async def short_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await real_sleep(min(seconds, 0.05))

    monkeypatch.setattr("airflow_toggl.triggers.toggl.asyncio.sleep", short_sleep)
    resume_at = datetime.now(timezone.utc) + timedelta(seconds=0.4)
    trigger = TogglQuotaResetTrigger(resume_at=resume_at, toggl_conn_id="c", poll_interval=0.1)
    events = collect(trigger)
    assert datetime.now(timezone.utc) >= resume_at
    assert len(events) == 1
    assert len(sleeps) >= 2
    assert max(sleeps) <= 0.1


def test_accepts_iso_text() -> None:
    trigger = TogglQuotaResetTrigger(resume_at="2026-03-01T12:30:00+01:00", toggl_conn_id="c")
    assert trigger.resume_at == datetime(2026, 3, 1, 11, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"resume_at": datetime(2026, 3, 1)}, "resume_at"),
        ({"resume_at": "soon"}, "resume_at"),
        ({"resume_at": 12}, "resume_at"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": True}, "poll_interval"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict, field: str) -> None:
    arguments = {"resume_at": datetime.now(timezone.utc), "toggl_conn_id": "c", **kwargs}
    with pytest.raises(TogglConfigError) as info:
        TogglQuotaResetTrigger(**arguments)
    assert info.value.field == field
