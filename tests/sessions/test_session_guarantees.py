"""The session layer's promises, each with a fault injected at one step, over HTTP to the emulator.

After any single fault the store holds a session Toggl accepts, or the task fails saying so. Every
session the code created and does not keep is deleted, or named in a warning by its label (never
its value). A session counts as deleted only once Toggl answered a DELETE for it; the expiry in its
cookie is a hint, never proof. A stored session of another user than the connection's is not kept
silently. The operators run in this process with the real hook; Airflow's ``Variable`` goes to an
in-memory table that can fail a read or a write (the store is this package's own boundary).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_toggl.client.session import TogglSession
from airflow_toggl.emulator.server import TogglEmulator
from airflow_toggl.exceptions import TogglAPIError, TogglError, TogglIdentityMismatchError
from airflow_toggl.operators.toggl import (
    TogglCloseAccountOperator,
    TogglDeleteSessionOperator,
    TogglRotateSessionOperator,
    TogglSignupOperator,
)
from airflow_toggl.sessions.store import SessionStore, session_label
from devkit.airflow import toggl_connection
from tests.support.final import fails_for_good
from tests.support.rotation_faults import FaultyVariables, VariableReadError, requests_to, route_sdk_variables

KEY = "toggl_session_secret__toggl_default"
PASSWORD_VARIABLE = "toggl_signup_password"
NEWCOMER = "newcomer@example.com"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def variables(
    monkeypatch: pytest.MonkeyPatch, toggl_emulator: TogglEmulator, toggl_user: dict[str, Any]
) -> FaultyVariables:
    """The emulator's user as ``toggl_default`` (one retry, 2 s timeout); Variables in a faulty table."""
    connection = toggl_connection(toggl_emulator, toggl_user, max_retries=1, timeout=2)
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    table = FaultyVariables()
    route_sdk_variables(monkeypatch, table)
    return table


@pytest.fixture
def store(variables: FaultyVariables) -> SessionStore:
    return SessionStore(KEY, variables=variables)


@pytest.fixture
def seeded(store: SessionStore, toggl_emulator: TogglEmulator) -> str:
    """One normal rotation has stored a live session (lasting an hour: every later run rotates)."""
    toggl_emulator.configure(session_ttl=3600)
    rotate()
    return stored_cookie(store)


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="airflow_toggl")
    return caplog


def rotate() -> dict[str, Any]:
    return TogglRotateSessionOperator(task_id="rotate").execute({})


def live_cookies(emulator: TogglEmulator, email: str) -> set[str]:
    return {s["cookie"] for s in emulator.live_sessions(email, include_cookies=True)}


def stored_cookie(store: SessionStore) -> str | None:
    stored = store.load()
    return None if stored is None else stored.session.cookie


# -- rotation ----------------------------------------------------------------------------------


def test_store_read_failing_after_verify_deletes_the_new_session(
    store: SessionStore,
    seeded: str,
    variables: FaultyVariables,
    toggl_emulator: TogglEmulator,
    toggl_user: dict[str, Any],
) -> None:
    old = seeded
    variables.fail_read(nth=2)  # 1: is a rotation due?  2: just before writing the new session
    with pytest.raises(VariableReadError):
        rotate()
    assert stored_cookie(store) == old
    assert live_cookies(toggl_emulator, toggl_user["email"]) == {old}
    assert len(toggl_emulator.issued_sessions(toggl_user["email"])) == 2


def test_a_new_session_that_cannot_be_deleted_is_named_in_a_warning(
    store: SessionStore,
    seeded: str,
    variables: FaultyVariables,
    toggl_emulator: TogglEmulator,
    toggl_user: dict[str, Any],
    warnings: pytest.LogCaptureFixture,
) -> None:
    old = seeded
    variables.fail_read(nth=2)
    toggl_emulator.inject_fault("/api/sessions", method="DELETE", status=500, count=None)
    with pytest.raises(VariableReadError):
        rotate()
    toggl_emulator.clear_faults()
    (new,) = live_cookies(toggl_emulator, toggl_user["email"]) - {old}
    assert session_label(TogglSession.from_cookie(new)) in warnings.text
    assert new not in warnings.text
    assert stored_cookie(store) == old


def test_a_write_that_landed_is_kept_when_the_read_back_fails(
    store: SessionStore,
    seeded: str,
    variables: FaultyVariables,
    toggl_emulator: TogglEmulator,
    toggl_user: dict[str, Any],
) -> None:
    old = seeded
    variables.refuse_next_set(applied=True)
    variables.fail_read_after_next_set()
    with pytest.raises(Exception, match="failed after it was applied"):
        rotate()
    stored = store.load()
    assert stored is not None
    assert stored.session.cookie != old
    assert toggl_emulator.is_session_live(stored.session.cookie)
    assert [s.cookie for s in stored.stale] == [old]
    assert rotate()["stale_pending"] == 0  # the retry finishes the job
    assert live_cookies(toggl_emulator, toggl_user["email"]) == {stored_cookie(store)}


def seed_with_the_worker_clock_ahead(emulator: TogglEmulator, store: SessionStore) -> str:
    """Store a session while Toggl's clock runs 3 days behind this worker's: its cookie looks expired."""
    emulator.configure(session_ttl=3600, clock=lambda: time.time() - 3 * 86400)
    rotate()
    old = stored_cookie(store)
    assert TogglSession.from_cookie(old).expires_at < datetime.now(timezone.utc)
    assert emulator.is_session_live(old)
    return old


def test_an_old_session_past_its_expiry_still_gets_a_delete(
    store: SessionStore, variables: FaultyVariables, toggl_emulator: TogglEmulator, toggl_user: dict[str, Any]
) -> None:
    old = seed_with_the_worker_clock_ahead(toggl_emulator, store)
    deletes = requests_to(toggl_emulator, "DELETE /api/sessions")
    outcome = rotate()
    assert outcome["previous_deleted"] is True
    assert requests_to(toggl_emulator, "DELETE /api/sessions") == deletes + 1
    assert not toggl_emulator.is_session_live(old)
    assert live_cookies(toggl_emulator, toggl_user["email"]) == {stored_cookie(store)}


def test_an_old_session_whose_delete_fails_is_not_reported_deleted(
    store: SessionStore, variables: FaultyVariables, toggl_emulator: TogglEmulator, toggl_user: dict[str, Any]
) -> None:
    old = seed_with_the_worker_clock_ahead(toggl_emulator, store)
    toggl_emulator.inject_fault("/api/sessions", method="DELETE", status=500, count=None)
    outcome = rotate()
    toggl_emulator.clear_faults()
    assert outcome["previous_deleted"] is False
    assert outcome["stale_pending"] == 1
    assert [s.cookie for s in store.load().stale] == [old]


def test_a_stored_session_of_another_user_fails_the_rotation(
    store: SessionStore,
    variables: FaultyVariables,
    toggl_emulator: TogglEmulator,
    toggl_user: dict[str, Any],
    warnings: pytest.LogCaptureFixture,
) -> None:
    toggl_emulator.add_user("eve@example.com", "pw-Eve-5tR1")
    theirs = toggl_emulator.issue_session("eve@example.com")  # 28 days left: not due by its expiry
    store.save(TogglSession.from_cookie(theirs), user_id=None)
    before = variables.get(KEY)
    with fails_for_good(TogglIdentityMismatchError) as info:
        rotate()
    assert info.value.field == "email"
    assert KEY in warnings.text
    assert variables.get(KEY) == before
    assert toggl_emulator.is_session_live(theirs)
    assert toggl_emulator.issued_sessions(toggl_user["email"]) == []


def assert_the_store_survives(
    emulator: TogglEmulator, store: SessionStore, path: str, method: str, status: int, run: Any, error: Any
) -> None:
    """With ``path`` answering ``status``, ``run`` fails with ``error`` and the stored session stays live."""
    cookie = stored_cookie(store)
    emulator.inject_fault(path, method=method, status=status, count=None)
    with pytest.raises(error):
        run()
    emulator.clear_faults()
    assert stored_cookie(store) == cookie
    assert cookie is not None
    assert emulator.is_session_live(cookie)


def test_delete_refused_while_toggl_still_accepts_the_session_keeps_the_store(
    store: SessionStore, seeded: str, toggl_emulator: TogglEmulator, toggl_user: dict[str, Any]
) -> None:
    delete = TogglDeleteSessionOperator(task_id="delete")
    assert_the_store_survives(
        toggl_emulator, store, "/api/sessions", "DELETE", 403, lambda: delete.execute({}), TogglError
    )
    assert TogglDeleteSessionOperator(task_id="delete").execute({})["deleted"] is True
    assert live_cookies(toggl_emulator, toggl_user["email"]) == set()


# -- account flows -----------------------------------------------------------------------------


def signup(**kwargs: Any) -> dict[str, Any]:
    return TogglSignupOperator(
        task_id="signup", account_email=NEWCOMER, password_variable=PASSWORD_VARIABLE, display_name="New", **kwargs
    ).execute({})


def test_signup_without_a_store_deletes_the_session_when_me_fails(
    variables: FaultyVariables, toggl_emulator: TogglEmulator
) -> None:
    variables.set(PASSWORD_VARIABLE, "pw-Signup-3k")
    toggl_emulator.inject_fault("/api/v9/me", method="GET", status=500, count=None)
    with pytest.raises(TogglAPIError):
        signup()
    toggl_emulator.clear_faults()
    assert toggl_emulator.user(NEWCOMER) is not None  # the account exists
    assert len(toggl_emulator.issued_sessions(NEWCOMER)) == 1
    assert toggl_emulator.live_sessions(NEWCOMER) == []


def test_signup_with_a_store_deletes_the_session_when_the_store_fails(
    variables: FaultyVariables, toggl_emulator: TogglEmulator
) -> None:
    variables.set(PASSWORD_VARIABLE, "pw-Signup-3k")
    variables.fail_read(nth=2)  # 1: the password Variable  2: the store, just before writing
    with pytest.raises(VariableReadError):
        signup(session_key="toggl_session_secret__newcomer")
    assert len(toggl_emulator.issued_sessions(NEWCOMER)) == 1
    assert toggl_emulator.live_sessions(NEWCOMER) == []


def close(user: dict[str, Any]) -> dict[str, Any]:
    return TogglCloseAccountOperator(task_id="close", confirm_email=user["email"]).execute({})


def test_close_account_without_a_stored_session_deletes_its_own_when_closing_fails(
    variables: FaultyVariables, toggl_emulator: TogglEmulator, toggl_user: dict[str, Any]
) -> None:
    toggl_emulator.inject_fault("/api/me/close_account/track", method="POST", status=500, count=None)
    with pytest.raises(TogglAPIError):
        close(toggl_user)
    toggl_emulator.clear_faults()
    assert not toggl_emulator.user(toggl_user["email"])["closed"]
    assert len(toggl_emulator.issued_sessions(toggl_user["email"])) == 1
    assert toggl_emulator.live_sessions(toggl_user["email"]) == []


def test_close_account_keeps_the_stored_session_when_closing_fails_and_drops_it_after(
    store: SessionStore, seeded: str, toggl_emulator: TogglEmulator, toggl_user: dict[str, Any]
) -> None:
    assert_the_store_survives(
        toggl_emulator,
        store,
        "/api/me/close_account/track",
        "POST",
        500,
        lambda: close(toggl_user),
        TogglAPIError,
    )
    assert close(toggl_user) == {"email": toggl_user["email"], "user_id": toggl_user["id"], "closed": True}
    assert store.load() is None
    assert toggl_emulator.user(toggl_user["email"])["closed"]
