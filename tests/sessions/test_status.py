"""The status record: what tasks saw of a connection, merged part by part, nothing secret kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from airflow_toggl.client.limits import Quota
from airflow_toggl.sessions.status import ConnectionStatus, StatusRecord, status_key
from devkit.doubles import MemoryVariables

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def record(variables: MemoryVariables, now: datetime = T0) -> StatusRecord:
    return StatusRecord("toggl_a", variables=variables, clock=lambda: now)


def test_a_missing_or_foreign_record_reads_as_empty() -> None:
    variables = MemoryVariables()
    assert record(variables).load() == ConnectionStatus()
    for garbage in ("not json", "[1, 2]", json.dumps({"quotas": "x", "identity": 3, "rotation": []})):
        variables.data[status_key("toggl_a")] = garbage
        assert record(variables).load() == ConnectionStatus()


def test_each_part_is_merged_and_kept_with_when_it_was_seen() -> None:
    variables = MemoryVariables()
    record(variables).note(quota=Quota(remaining=24, resets_in=3100.0))
    later = T0 + timedelta(minutes=5)
    record(variables, later).note(identity={"id": 7, "email": "a@example.com"}, auth_mode="session")
    record(variables, later).note(rotation_threshold=timedelta(days=2))
    record(variables, later).note(quota=Quota(remaining=None, resets_in=None), quota_scope="organization 9")
    status = record(variables).load()
    assert status.quotas["user"].remaining == 24
    assert status.quotas["user"].resets_in == 3100.0
    assert status.quotas["user"].seen_at == T0
    assert status.quotas["organization 9"].remaining is None
    assert status.identity == {
        "id": 7,
        "email": "a@example.com",
        "auth_mode": "session",
        "seen_at": later.isoformat(),
    }
    assert status.rotation_threshold == timedelta(days=2)
    assert status.rotation_threshold_seen_at == later


def test_only_id_and_email_of_an_identity_are_kept() -> None:
    variables = MemoryVariables()
    me = {"id": 7, "email": "a@example.com", "api_token": "tok-SECRET-1", "intercom_hash": "hash-SECRET-2"}
    record(variables).note(identity=me)
    raw = variables.data[status_key("toggl_a")]
    assert "SECRET" not in raw
    assert set(json.loads(raw)["identity"]) == {"id", "email", "auth_mode", "seen_at"}


def test_a_check_is_recorded_with_its_time() -> None:
    variables = MemoryVariables()
    record(variables).note(
        check={"ok": False, "message": "Toggl refused the stored session (403)", "by": "admin"}
    )
    assert record(variables).load().check == {
        "ok": False,
        "message": "Toggl refused the stored session (403)",
        "by": "admin",
        "at": T0.isoformat(),
    }
