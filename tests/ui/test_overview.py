"""Each row's state and reason, as a table; a row holds counts, times, ids and an email, never a cookie."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from airflow_toggl.client.session import TogglSession
from airflow_toggl.sessions.status import ConnectionStatus, QuotaSeen
from airflow_toggl.sessions.store import StoredSession
from airflow_toggl.ui.overview import (
    DEFAULT_ROTATION_THRESHOLD,
    ConnectionFacts,
    RotationRun,
    RotationSchedule,
    classify,
    overview_row,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
COOKIE = "cookie-SECRET-value"
STALE_COOKIE = "stale-SECRET-value"


def stored(left: timedelta | None, *, stale: int = 0, user_id: int | None = 7) -> StoredSession:
    expires = None if left is None else NOW + left
    return StoredSession(
        key="toggl_session_secret__a",
        session=TogglSession(cookie=COOKIE, expires_at=expires),
        user_id=user_id,
        created_at=NOW - timedelta(days=3),
        stale=tuple(TogglSession(cookie=f"{STALE_COOKIE}-{i}", expires_at=None) for i in range(stale)),
    )


def run(state: str) -> RotationRun:
    return RotationRun(dag_id="rot", task_id="rotate", run_id="scheduled__2026-03-01", state=state, at=NOW)


TWO_DAYS = ConnectionStatus(rotation_threshold=timedelta(days=2))


@pytest.mark.parametrize(
    ("facts", "state", "reason_part"),
    [
        (ConnectionFacts("a", stored=stored(timedelta(days=20))), "healthy", "20 d left; rotation at 7 d"),
        (
            ConnectionFacts("a", stored=stored(timedelta(days=5))),
            "expiring",
            "5 d left, under the rotation threshold of 7 d",
        ),
        (
            ConnectionFacts("a", stored=stored(timedelta(days=5)), status=TWO_DAYS),
            "healthy",
            "rotation at 2 d",
        ),
        (ConnectionFacts("a", stored=stored(timedelta(hours=-1))), "expiring", "has expired"),
        (ConnectionFacts("a", stored=stored(None)), "expiring", "expiry is unknown"),
        (
            ConnectionFacts("a", stored=stored(timedelta(days=20), stale=2)),
            "stale_pending",
            "2 old sessions still to delete",
        ),
        (
            ConnectionFacts("a", stored=stored(timedelta(days=5), stale=1)),
            "expiring",
            "under the rotation threshold",
        ),
        (ConnectionFacts("a", session_key="k"), "no_session", "no session stored under k"),
        (
            ConnectionFacts("a", stored=stored(timedelta(days=20)), last_run=run("failed")),
            "rotation_failing",
            "failed",
        ),
        (ConnectionFacts("a", last_run=run("up_for_retry")), "rotation_failing", "up for retry"),
        (ConnectionFacts("a", stored=stored(timedelta(days=20)), last_run=run("success")), "healthy", "left"),
        (
            ConnectionFacts("a", settings_error="connection setting 'timeout' is invalid"),
            "invalid",
            "'timeout'",
        ),
        (
            ConnectionFacts("a", store_error="Variable k is not a Toggl session store value"),
            "invalid",
            "Variable k",
        ),
    ],
)
def test_state_and_reason(facts: ConnectionFacts, state: str, reason_part: str) -> None:
    got_state, reason = classify(facts, NOW)
    assert got_state == state
    assert reason_part in reason


def test_a_row_has_every_part_and_no_cookie() -> None:
    facts = ConnectionFacts(
        "toggl_a",
        login="ada@example.com",
        auth_mode="basic",
        session_key="toggl_session_secret__a",
        stored=stored(timedelta(days=10), stale=1),
        status=ConnectionStatus(
            identity={"id": 7, "email": "ada@example.com", "seen_at": NOW.isoformat()},
            quotas={
                "organization 3": QuotaSeen(remaining=200, resets_in=10.0, seen_at=NOW),
                "user": QuotaSeen(remaining=24, resets_in=3100.0, seen_at=NOW),
            },
        ),
        schedule=RotationSchedule(dag_id="rot dag", task_id="rotate", next_run_at=NOW + timedelta(hours=3)),
        last_run=RotationRun(
            dag_id="rot dag", task_id="rotate", run_id="manual__2026/03", state="success", at=NOW
        ),
    )
    row = overview_row(facts, NOW)
    assert "SECRET" not in json.dumps(row)
    assert row["state"] == "stale_pending"
    assert row["user"] == {
        "id": 7,
        "email": "ada@example.com",
        "source": "session store, identity check",
        "seen_at": NOW.isoformat(),
    }
    session = row["session"]
    assert session["stored"] is True
    assert session["age_seconds"] == 3 * 86400
    assert session["remaining_seconds"] == 10 * 86400
    assert session["expires_at_is_hint"] is True
    assert session["threshold_seconds"] == DEFAULT_ROTATION_THRESHOLD.total_seconds()
    assert session["threshold_source"] == "default"
    assert session["stale_pending"] == 1
    assert row["rotation"]["last_run"]["url"] == "dags/rot%20dag/runs/manual__2026%2F03/tasks/rotate"
    assert row["rotation"]["next_run_at"] == (NOW + timedelta(hours=3)).isoformat()
    assert [q["scope"] for q in row["quotas"]] == ["user", "organization 3"]


def test_the_login_names_the_user_when_the_last_identity_check_saw_someone_else() -> None:
    facts = ConnectionFacts(
        "a",
        login="ada@example.com",
        stored=stored(timedelta(days=10), user_id=7),
        status=ConnectionStatus(identity={"id": 8, "email": "bob@example.com"}),
    )
    user = overview_row(facts, NOW)["user"]
    assert user["id"] == 7
    assert user["email"] == "ada@example.com"
    assert "login" in user["source"]
