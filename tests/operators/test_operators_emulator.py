"""Operators with the real hook against the emulator over HTTP, faults injected at each step.

Variables are in memory (the ``variables`` fixture); the DAG runs in ``test_dag_runs.py`` use
Airflow's real Variable table.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from airflow_toggl.client import retry
from airflow_toggl.client.session import TogglSession
from airflow_toggl.exceptions import TogglAPIError, TogglAuthError, TogglIdentityMismatchError
from airflow_toggl.operators import toggl as ops
from airflow_toggl.sessions.store import SessionStore
from devkit.airflow import toggl_connection
from devkit.deferral import TaskDeferred
from devkit.doubles import MemoryVariables
from tests.support.final import fails_for_good

KEY = "toggl_session_secret__toggl_default"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def env(toggl_conn_env: dict[str, str], variables: MemoryVariables) -> MemoryVariables:
    """The emulator's user as ``toggl_default``, and in-memory Variables."""
    return variables


def rotate(**kwargs: Any) -> dict[str, Any]:
    return ops.TogglRotateSessionOperator(task_id="rotate", **kwargs).execute({})


def live(emulator: Any, user: dict[str, Any]) -> set[str]:
    return {s["jti"] for s in emulator.live_sessions(user["email"])}


def stored_cookie() -> str:
    return SessionStore(KEY).load().session.cookie


def test_rotation_keeps_exactly_one_live_session(env, toggl_emulator, toggl_user) -> None:
    toggl_emulator.configure(session_ttl=3600)  # always due: an hour is less than 7 days
    first = rotate()
    assert first["rotated"] is True
    assert first["previous_deleted"] is None
    first_cookie = stored_cookie()
    second = rotate()
    assert second["rotated"] is True
    assert second["previous_deleted"] is True
    assert not toggl_emulator.is_session_live(first_cookie)
    assert toggl_emulator.is_session_live(stored_cookie())
    assert len(live(toggl_emulator, toggl_user)) == 1
    identity = ops.TogglIdentityCheckOperator(
        task_id="check", auth_mode="session", expected_user_id=second["user_id"]
    ).execute({})
    assert identity["email"] == toggl_user["email"]
    assert stored_cookie() not in json.dumps([first, second, identity])


def test_fresh_session_is_not_rotated(env, toggl_emulator, toggl_user) -> None:
    rotate()
    cookie = stored_cookie()
    again = rotate()
    assert again["rotated"] is False
    assert stored_cookie() == cookie


def test_create_fault_leaves_store_and_sessions_alone(env, toggl_emulator, toggl_user) -> None:
    toggl_emulator.configure(session_ttl=3600)
    rotate()
    before, sessions = env.data.get(KEY), live(toggl_emulator, toggl_user)
    toggl_emulator.inject_fault("/api/sessions", method="POST", status=500, count=1)
    with pytest.raises(TogglAPIError) as info:
        rotate()
    assert info.value.status_code == 500
    assert env.data.get(KEY) == before
    assert live(toggl_emulator, toggl_user) == sessions


def test_verify_fault_deletes_the_new_session(env, toggl_emulator, toggl_user) -> None:
    toggl_emulator.configure(session_ttl=3600)
    rotate()
    before, sessions = env.data.get(KEY), live(toggl_emulator, toggl_user)
    toggl_emulator.inject_fault("/api/v9/me", method="GET", status=500, count=10)
    with pytest.raises(TogglAPIError):
        rotate(check_live=False)
    toggl_emulator.clear_faults()
    assert env.data.get(KEY) == before
    assert live(toggl_emulator, toggl_user) == sessions  # the new one was created, then deleted


def test_store_write_fault_deletes_the_new_session(env, toggl_emulator, toggl_user) -> None:
    env.fail_set = 1
    with pytest.raises(RuntimeError):
        rotate()
    assert KEY not in env.data
    assert live(toggl_emulator, toggl_user) == set()


def test_old_session_delete_fault_is_finished_next_run(env, toggl_emulator, toggl_user) -> None:
    toggl_emulator.configure(session_ttl=3600)
    rotate()
    old_cookie = stored_cookie()
    toggl_emulator.configure(session_ttl=28 * 86400)
    toggl_emulator.inject_fault("/api/sessions", method="DELETE", status=500, count=10)
    result = rotate()
    toggl_emulator.clear_faults()
    assert result["rotated"] is True
    assert result["previous_deleted"] is False
    assert result["stale_pending"] == 1
    assert toggl_emulator.is_session_live(old_cookie)

    again = rotate()
    assert again["rotated"] is False
    assert again["stale_pending"] == 0
    assert not toggl_emulator.is_session_live(old_cookie)
    assert SessionStore(KEY).load().stale == ()
    assert len(live(toggl_emulator, toggl_user)) == 1


def test_session_deleted_elsewhere_is_replaced(env, toggl_emulator, toggl_user) -> None:
    from airflow_toggl.hooks.toggl import TogglHook

    rotate()
    old_cookie = stored_cookie()
    assert TogglHook(session_cookie=old_cookie).delete_session() is True
    result = rotate()
    assert result["rotated"] is True
    assert result["previous_deleted"] is True
    assert toggl_emulator.is_session_live(stored_cookie())


def test_lifecycle_operators(env, toggl_emulator, toggl_user) -> None:
    created = ops.TogglCreateSessionOperator(task_id="create").execute({})
    assert created["user_id"] == toggl_user["id"]
    assert created["session_key"] == KEY
    assert len(live(toggl_emulator, toggl_user)) == 1
    deleted = ops.TogglDeleteSessionOperator(task_id="delete").execute({})
    assert deleted == {"session_key": KEY, "deleted": True}
    assert live(toggl_emulator, toggl_user) == set()
    assert ops.TogglDeleteSessionOperator(task_id="again").execute({})["deleted"] is False


def test_identity_mismatch_over_http(env, toggl_emulator, toggl_user) -> None:
    operator = ops.TogglIdentityCheckOperator(task_id="check", expected_email="eve@example.com")
    with fails_for_good(TogglIdentityMismatchError, match=r"ada@example\.com"):
        operator.execute({})


def test_refused_credentials_fail_the_health_check(
    env, toggl_emulator, toggl_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ops.TogglCredentialsCheckOperator(task_id="ok").execute({})["logged_in"] is True
    bad = toggl_connection(toggl_emulator, toggl_user)
    bad["extra"]["api_token"] = "f" * 32
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(bad))
    with fails_for_good(TogglAuthError, match="refused the api_token credentials"):
        ops.TogglCredentialsCheckOperator(task_id="bad").execute({})


def test_reset_api_token(env, toggl_emulator, toggl_user, monkeypatch: pytest.MonkeyPatch) -> None:
    result = ops.TogglResetApiTokenOperator(task_id="reset").execute({})
    name = "toggl_api_token_secret__toggl_default"
    assert result == {"token_variable": name}
    new_token = env.data[name]
    assert new_token == toggl_emulator.user(toggl_user["email"])["api_token"] != toggl_user["api_token"]
    assert new_token not in json.dumps(result)
    with fails_for_good(TogglAuthError):
        ops.TogglCredentialsCheckOperator(task_id="old").execute({})
    updated = toggl_connection(toggl_emulator, toggl_user)
    updated["extra"]["api_token"] = new_token
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(updated))
    assert ops.TogglCredentialsCheckOperator(task_id="new").execute({})["logged_in"] is True


def test_password_reset_flow(env, toggl_emulator, toggl_user) -> None:
    requested = ops.TogglRequestPasswordResetOperator(task_id="request").execute({})
    assert requested == {"email": toggl_user["email"], "requested": True}
    code = toggl_emulator.outbox(toggl_user["email"])[-1]
    env.data["toggl_new_password"] = "pw-Brand-New-8x"
    confirmed = ops.TogglConfirmPasswordResetOperator(
        task_id="confirm", code=code, new_password_variable="toggl_new_password"
    ).execute({})
    assert confirmed["user_id"] == toggl_user["id"]
    assert toggl_emulator.user(toggl_user["email"])["password"] == "pw-Brand-New-8x"
    assert toggl_emulator.is_session_live(stored_cookie())


def test_signup_and_close_account(env, toggl_emulator, toggl_user) -> None:
    env.data["toggl_signup_password"] = "pw-Signup-3k"
    key = "toggl_session_secret__newcomer"
    signed_up = ops.TogglSignupOperator(
        task_id="signup",
        account_email="newcomer@example.com",
        password_variable="toggl_signup_password",
        display_name="Newcomer",
        session_key=key,
    ).execute({})
    account = toggl_emulator.user("newcomer@example.com")
    assert account is not None
    assert not account["closed"]
    if signed_up["session_key"] is None:  # the service answered without a session
        pytest.skip("signup returned no session")
    assert signed_up["user_id"] == account["id"]

    with fails_for_good(TogglIdentityMismatchError):
        ops.TogglCloseAccountOperator(
            task_id="wrong", confirm_email=toggl_user["email"], session_key=key
        ).execute({})
    assert not toggl_emulator.user("newcomer@example.com")["closed"]
    closed = ops.TogglCloseAccountOperator(
        task_id="close", confirm_email="newcomer@example.com", session_key=key
    ).execute({})
    assert closed == {"email": "newcomer@example.com", "user_id": account["id"], "closed": True}
    assert toggl_emulator.user("newcomer@example.com")["closed"]
    assert key not in env.data
    assert not toggl_emulator.user(toggl_user["email"])["closed"]


def test_quota_defers_and_resumes(
    variables, toggl_emulator, toggl_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A used-up quota (402 with headers) beyond max_quota_wait defers; the trigger resumes the task."""
    connection = toggl_connection(toggl_emulator, toggl_user, max_quota_wait=0)
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    quota_headers = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "1"}
    toggl_emulator.inject_fault("/api/v9/me", method="GET", status=402, headers=quota_headers, count=1)
    operator = ops.TogglIdentityCheckOperator(task_id="check", deferrable=True, poll_interval=0.2)
    monkeypatch.setattr(retry, "QUOTA_RESET_MARGIN", 0.2)
    with pytest.raises(TaskDeferred) as info:
        operator.execute({})
    assert info.value.method_name == "execute_complete"

    async def first_event() -> Any:
        async for event in info.value.trigger.run():
            return event

    event = asyncio.run(asyncio.wait_for(first_event(), 15))
    resumed = ops.TogglIdentityCheckOperator(task_id="check", deferrable=True)
    assert resumed.execute_complete({}, event.payload)["id"] == toggl_user["id"]
    assert toggl_emulator.counters()["responses"]["GET /api/v9/me 402"] == 1


def test_quota_from_the_real_limit_defers(
    variables, toggl_emulator, toggl_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator's own hourly quota (not an injected answer) also ends in a deferral."""
    connection = toggl_connection(toggl_emulator, toggl_user, max_quota_wait=0)
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    toggl_emulator.configure(quota_limit=1, quota_window=600)
    operator = ops.TogglIdentityCheckOperator(task_id="check", deferrable=True)
    assert operator.execute({})["id"] == toggl_user["id"]
    with pytest.raises(TaskDeferred) as info:
        ops.TogglIdentityCheckOperator(task_id="check", deferrable=True).execute({})
    assert info.value.trigger.resume_at > ops.datetime.now(ops.timezone.utc) + ops.timedelta(seconds=500)
    assert toggl_emulator.counters()["quota_exceeded"] == 1


def test_rotation_interrupted_by_the_quota_defers_without_leaking(
    variables, toggl_emulator, toggl_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quota runs out while verifying a new session: it is deleted, the task defers, the rerun stores one."""
    connection = toggl_connection(toggl_emulator, toggl_user, max_quota_wait=0)
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    quota_headers = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "1"}
    toggl_emulator.inject_fault("/api/v9/me", method="GET", status=402, headers=quota_headers, count=1)
    operator = ops.TogglRotateSessionOperator(task_id="rotate", deferrable=True)
    with pytest.raises(TaskDeferred):
        operator.execute({})
    assert toggl_emulator.live_sessions(toggl_user["email"]) == []
    assert KEY not in variables.data
    event = {"status": "quota_reset", "resume_at": "2026-01-01T00:00:00+00:00"}
    result = ops.TogglRotateSessionOperator(task_id="rotate", deferrable=True).execute_complete({}, event)
    assert result["rotated"] is True
    assert len(toggl_emulator.live_sessions(toggl_user["email"])) == 1
    assert toggl_emulator.is_session_live(stored_cookie())


def test_session_key_picks_the_store(env, toggl_emulator, toggl_user) -> None:
    """``session_key`` names the Variable the session operators read and write (the default one stays empty)."""
    other = "toggl_session_secret__other"
    cookie = toggl_emulator.issue_session(toggl_user["email"])
    SessionStore(other).save(TogglSession.from_cookie(cookie), user_id=toggl_user["id"])
    identity = ops.TogglIdentityCheckOperator(
        task_id="check", auth_mode="session", session_key=other
    ).execute({})
    assert identity["id"] == toggl_user["id"]
    deleted = ops.TogglDeleteSessionOperator(task_id="delete", session_key=other).execute({})
    assert deleted == {"session_key": other, "deleted": True}
    assert not toggl_emulator.is_session_live(cookie)
    assert other not in env.data
    assert KEY not in env.data
