"""Session rotation with a fault at every step, a killed task, and two workers racing.

Every rotation here is the real ``TogglRotateSessionOperator`` with the real ``TogglHook`` talking
HTTP to the emulator, whose sessions last an hour: less than the 7 days ``min_remaining``, so every
run rotates. Two kinds of store:

- the fault matrix runs the operator in this process with Airflow's ``Variable`` routed to a
  thread-safe in-memory table that can refuse a write (the store is our own boundary, so a double is
  the honest way to fail it);
- the crash and race cases run ``airflow tasks test toggl_session_rotation rotate_session`` in
  subprocesses against this test session's SQLite metadata database, so the store is a real Variable.

After each faulted run: the store holds a session the emulator accepts (and ``/me`` through the hook
in session mode works), and at most one session besides it is live. Then the same rotation runs
again with the fault cleared, as Airflow's retry would, and once more as the next scheduled run:
after each, only the stored session is live and nothing is left listed for deletion. A session
Toggl created but whose answer never reached the client (an "orphan") cannot be deleted by anyone;
the cases that produce one say so, and it is excused from the convergence check by its cookie.

Run with ``-s`` to see the table of figures that docs/reliability.md ("Rotation") reports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_toggl._compat import AirflowFailException
from airflow_toggl.emulator.server import TogglEmulator
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglConnectionError,
    TogglQuotaExceededError,
)
from airflow_toggl.operators.toggl import TogglRotateSessionOperator
from airflow_toggl.sessions.store import SessionStore
from devkit.airflow import MetadataDbVariables, toggl_connection
from tests.support.rotation_faults import (
    Census,
    FaultyVariables,
    Report,
    Row,
    TaskProcess,
    VariableReadError,
    VariableWriteError,
    Violations,
    census_cell,
    check_at_most_one_extra,
    check_converged,
    check_listed,
    check_usable,
    issued_cookies,
    requests_to,
    route_sdk_variables,
    running_tasks,
    session_of,
    start_rotate_task,
    take_census,
    wait_until,
)

CONN_ID = "toggl_default"
KEY = "toggl_session_secret__rotation_faults"
SESSION_TTL = 3600
"""An hour, well under the operator's 7-day ``min_remaining``: every run is due."""
TIMEOUT = 2.0
"""The connection's request timeout."""
LATE = 4.0
"""How late a delayed answer is: longer than ``TIMEOUT``."""
MAX_RETRIES = 1
QUOTA_EXHAUSTED = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "3600"}
KILL_WINDOW = 30.0
"""How long the emulator holds the request the task is killed in (the kill comes long before)."""
RACE_FIRST_CREATE, RACE_SECOND_CREATE = 4.0, 7.0
"""Delays of the two racing runs' creates: both read the store before either writes."""
TASK_TIMEOUT = 90.0
TASK_REQUEST_TIMEOUT = 20.0
"""The subprocesses' request timeout: longer than any delay the emulator holds a racing create."""


REPORT_TITLE = (
    "Rotation faults (live / extra / stale: sessions Toggl accepts, those besides the stored one, "
    "sessions the store lists for deletion)"
)


@pytest.fixture(scope="module")
def report() -> Iterator[Report]:
    """The figures of this module's cases, printed once they have all run (visible with ``-s``)."""
    collected = Report(REPORT_TITLE)
    yield collected
    print("\n" + collected.render())


def connection_env(emulator: TogglEmulator, user: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, str]:
    connection = toggl_connection(
        emulator, user, session_key=KEY, max_retries=MAX_RETRIES, timeout=timeout, max_quota_wait=5
    )
    return {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(connection)}


def rotate() -> dict[str, Any]:
    """One run of the rotation task, in this process; a final failure is raised as the error behind it."""
    try:
        return TogglRotateSessionOperator(task_id="rotate_session", toggl_conn_id=CONN_ID).execute({})
    except AirflowFailException as final:  # not retried by Airflow; what matters here is the session layer's error
        raise final.__cause__ or final from None


def describe(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    reason = getattr(error, "reason", None) if isinstance(error, TogglConnectionError) else None
    detail = status if status is not None else reason
    return type(error).__name__ + (f" {detail}" if detail is not None else "")


def describe_outcome(outcome: dict[str, Any]) -> str:
    return (
        f"ok, previous_deleted={outcome['previous_deleted']}, stale_pending={outcome['stale_pending']}"
        if outcome["rotated"]
        else "ok, not rotated"
    )


# -- the fault matrix ----------------------------------------------------------------------------

Arm = Callable[[TogglEmulator, FaultyVariables], None]


def http_fault(path: str, method: str, **options: Any) -> Arm:
    def arm(emulator: TogglEmulator, variables: FaultyVariables) -> None:
        emulator.inject_fault(path, method=method, **options)

    return arm


def create_fault(**options: Any) -> Arm:
    return http_fault("/api/sessions", "POST", count=1, **options)


def verify_fault(**options: Any) -> Arm:
    # Every attempt fails (the client may retry a GET): the fault stays until cleared.
    return http_fault("/api/v9/me", "GET", count=None, **options)


def delete_fault(**options: Any) -> Arm:
    return http_fault("/api/sessions", "DELETE", count=None, **options)


def refuse_write(*, applied: bool) -> Arm:
    def arm(emulator: TogglEmulator, variables: FaultyVariables) -> None:
        variables.refuse_next_set(applied=applied)

    return arm


def fail_read_back(emulator: TogglEmulator, variables: FaultyVariables) -> None:
    variables.fail_read_after_next_set()


def fail_read_before_write(emulator: TogglEmulator, variables: FaultyVariables) -> None:
    variables.fail_read(nth=2)  # 1: is a rotation due?  2: the store, read again just before writing


def write_lands_then_read_back_fails(emulator: TogglEmulator, variables: FaultyVariables) -> None:
    variables.refuse_next_set(applied=True)
    variables.fail_read_after_next_set()


@dataclass(frozen=True)
class FaultCase:
    """One fault at one step, and what the faulted run must leave behind."""

    id: str
    step: str
    fault: str
    arm: Arm
    raises: type[BaseException] | None
    extra_after: int
    """Live sessions besides the stored one right after the faulted run."""
    orphans: int = 0
    """Sessions Toggl created whose cookie never reached the client."""
    applied_late: bool = False
    """The emulator applies the faulted request only after the client gave up on it."""
    known_bug: tuple[type[Exception], ...] = ()
    """The invariants a known product bug breaks in this case (the case is then a strict xfail)."""
    bug: str = ""


CASES = [
    FaultCase("create-500", "create", "500", create_fault(status=500), TogglAPIError, 0),
    FaultCase("create-403", "create", "403", create_fault(status=403), TogglAuthError, 0),
    FaultCase("create-drop", "create", "connection dropped", create_fault(action="drop"),
              TogglConnectionError, 0),
    FaultCase("create-timeout", "create", f"no answer within {TIMEOUT:g}s (not applied)",
              create_fault(action="drop", delay=LATE), TogglConnectionError, 0),
    FaultCase("create-applied-drop", "after create", "applied, then connection dropped",
              create_fault(action="drop", process=True), TogglConnectionError, 1, orphans=1),
    FaultCase("create-applied-timeout", "after create", f"applied {LATE:g}s late, after the client's timeout",
              create_fault(action="delay", delay=LATE), TogglConnectionError, 1, orphans=1,
              applied_late=True),
    FaultCase("verify-403", "verify", "403", verify_fault(status=403), TogglAuthError, 0),
    FaultCase("verify-500", "verify", "500 on every attempt", verify_fault(status=500), TogglAPIError, 0),
    FaultCase("verify-drop", "verify", "dropped on every attempt", verify_fault(action="drop"),
              TogglConnectionError, 0),
    FaultCase("verify-quota", "verify", "402, quota resets in 3600s > max_quota_wait",
              verify_fault(status=402, headers=QUOTA_EXHAUSTED), TogglQuotaExceededError, 0),
    FaultCase("store-read-before-write", "before store", "store read fails after create and verify",
              fail_read_before_write, VariableReadError, 0),
    FaultCase("store-refused", "store", "Variable write refused", refuse_write(applied=False),
              VariableWriteError, 0),
    FaultCase("store-applied-then-error", "store", "Variable written, then the write raised",
              refuse_write(applied=True), VariableWriteError, 1),
    FaultCase("store-applied-unreadable", "store", "Variable written, then the write raised and the store "
              "could not be read", write_lands_then_read_back_fails, VariableWriteError, 1),
    FaultCase("store-read-back", "after store", "read-back after the write fails", fail_read_back,
              VariableReadError, 1),
    FaultCase("delete-500", "delete old", "500 on every attempt", delete_fault(status=500), None, 1),
    FaultCase("delete-drop", "delete old", "dropped on every attempt", delete_fault(action="drop"), None, 1),
    FaultCase("delete-applied-drop", "delete old", "applied, then dropped (retry meets 403)",
              http_fault("/api/sessions", "DELETE", count=1, action="drop", process=True), None, 0),
    FaultCase("delete-403", "delete old", "403 while the old session is still live",
              delete_fault(status=403), None, 1),
]  # fmt: skip


def case_param(case: FaultCase) -> Any:
    marks = []
    if case.known_bug:
        marks.append(pytest.mark.xfail(strict=True, raises=case.known_bug, reason=case.bug))
    if case.id.endswith("-timeout"):
        marks.append(pytest.mark.slow)  # waits out the client's timeout, and the late answer
    return pytest.param(case, id=case.id, marks=marks)


@pytest.fixture
def memory_store(
    monkeypatch: pytest.MonkeyPatch, toggl_emulator: TogglEmulator, toggl_user: dict[str, Any]
) -> tuple[SessionStore, FaultyVariables]:
    """The connection for the emulator's user, and Airflow's Variables in a faulty in-memory table."""
    for name, value in connection_env(toggl_emulator, toggl_user).items():
        monkeypatch.setenv(name, value)
    variables = FaultyVariables()
    route_sdk_variables(monkeypatch, variables)
    toggl_emulator.configure(session_ttl=SESSION_TTL)
    return SessionStore(KEY, variables=variables), variables


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", [case_param(case) for case in CASES])
def test_fault_at_each_step(
    case: FaultCase,
    memory_store: tuple[SessionStore, FaultyVariables],
    toggl_emulator: TogglEmulator,
    toggl_user: dict[str, Any],
    report: Report,
) -> None:
    store, variables = memory_store
    email, violations = toggl_user["email"], Violations()

    def census() -> Census:
        return take_census(toggl_emulator, email, store)

    first = rotate()
    seeded = census()
    assert first["rotated"] is True
    assert len(seeded.live) == 1
    assert seeded.stored_is_live
    issued_before = issued_cookies(toggl_emulator, email)

    case.arm(toggl_emulator, variables)
    outcome: dict[str, Any] | None = None
    if case.raises is None:
        outcome = rotate()
        assert outcome["rotated"] is True
        faulted = describe_outcome(outcome)
    else:
        with pytest.raises(case.raises) as caught:
            rotate()
        assert type(caught.value) is case.raises
        faulted = describe(caught.value)
    toggl_emulator.clear_faults()
    variables.clear_faults()
    if case.applied_late:
        wait_until(
            lambda: len(issued_cookies(toggl_emulator, email)) > len(issued_before),
            LATE + 5,
            "the emulator to apply the late create",
        )

    after_fault = census()
    check_usable(after_fault, toggl_emulator, CONN_ID, toggl_user["id"], violations)
    check_at_most_one_extra(after_fault, violations)
    assert len(after_fault.extra) == case.extra_after
    new_cookies = issued_cookies(toggl_emulator, email) - issued_before
    orphans = {c for c in new_cookies if c in after_fault.extra} if case.orphans else set()
    assert len(orphans) == case.orphans
    check_listed(after_fault, orphans, violations)
    if outcome is not None:
        assert outcome["stale_pending"] == after_fault.stale

    retried = rotate()  # the task's retry: the same rotation, the fault gone
    assert retried["rotated"] is True
    after_retry = census()
    check_usable(after_retry, toggl_emulator, CONN_ID, toggl_user["id"], violations)
    check_converged(after_retry, orphans, violations)

    rotate()  # the next scheduled run
    after_next = census()
    check_usable(after_next, toggl_emulator, CONN_ID, toggl_user["id"], violations)
    check_converged(after_next, orphans, violations)
    assert after_next.stored_cookie not in (seeded.stored_cookie, after_retry.stored_cookie)

    verdict = violations.names()
    if orphans:
        verdict += f" ({len(orphans)} orphan, never seen by the client)"
    report.add(
        Row(
            case.step,
            case.fault,
            faulted,
            census_cell(after_fault),
            census_cell(after_retry),
            census_cell(after_next),
            verdict,
        )
    )
    violations.raise_first()


# -- a killed task and two racing workers: ``airflow tasks test`` on the SQLite metadata DB --------


@pytest.fixture
def db_env(
    airflow_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    toggl_emulator: TogglEmulator,
    toggl_user: dict[str, Any],
) -> Iterator[tuple[SessionStore, dict[str, str]]]:
    """A store in the real Variable table, seeded with one live session that is due for rotation.

    Yields the store (read from this process) and the environment for the task subprocesses.
    """
    env = connection_env(toggl_emulator, toggl_user, timeout=TASK_REQUEST_TIMEOUT)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    variables = MetadataDbVariables()
    route_sdk_variables(monkeypatch, variables)
    toggl_emulator.configure(session_ttl=SESSION_TTL)
    store = SessionStore(KEY, variables=variables)
    store.clear()
    cookie = toggl_emulator.issue_session(toggl_user["email"])
    store.save(session_of(cookie), user_id=toggl_user["id"])
    yield store, env
    store.clear()


def any_ended(tasks: list[TaskProcess]) -> Callable[[], bool]:
    return lambda: any(task.ended for task in tasks)


_ROTATED = re.compile(rf"Session under {KEY} (rotated|kept)")


def task_result(task: TaskProcess) -> str:
    """``rotated``/``kept``/``lost race`` as the task logged it, or how it ended."""
    output = task.text()
    if "Another task stored a session first" in output:
        return "lost the race"
    found = _ROTATED.search(output)
    return found.group(1) if found else f"exit {task.process.returncode}"


@dataclass(frozen=True)
class KillWindow:
    """Where the task is killed: while the emulator holds this request."""

    id: str
    path: str
    method: str
    step: str
    known_bug: tuple[type[Exception], ...] = ()
    bug: str = ""

    @property
    def request(self) -> str:
        return f"{self.method} {self.path}"


KILL_WINDOWS = [
    KillWindow("during-delete", "/api/sessions", "DELETE", "delete old (new session stored)"),
    # A session created by a task killed before storing it exists only in that dead process: like
    # a create whose answer was lost, it is an orphan no later run can know of (it expires).
    KillWindow("during-verify", "/api/v9/me", "GET", "verify (new session not stored yet)"),
]


def kill_param(window: KillWindow) -> Any:
    marks = []
    if window.known_bug:
        marks.append(pytest.mark.xfail(strict=True, raises=window.known_bug, reason=window.bug))
    return pytest.param(window, id=window.id, marks=marks)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("window", [kill_param(window) for window in KILL_WINDOWS])
def test_task_killed_mid_rotation_converges_on_rerun(
    window: KillWindow,
    db_env: tuple[SessionStore, dict[str, str]],
    toggl_emulator: TogglEmulator,
    toggl_user: dict[str, Any],
    tmp_path: Path,
    report: Report,
) -> None:
    store, env = db_env
    email, violations = toggl_user["email"], Violations()
    seeded = take_census(toggl_emulator, email, store)
    issued_before = issued_cookies(toggl_emulator, email)

    # The held request is dropped, never applied: whatever it was doing is left undone by the kill.
    toggl_emulator.inject_fault(window.path, method=window.method, action="drop", delay=KILL_WINDOW)
    logical_date = datetime.now(timezone.utc)
    killed = start_rotate_task(env, tmp_path / "killed.log", logical_date)
    with running_tasks(killed):
        wait_until(
            lambda: requests_to(toggl_emulator, window.request) >= 1,
            TASK_TIMEOUT,
            window.request,
            unless=lambda: killed.ended,
        )
        killed.kill()
    toggl_emulator.clear_faults()

    after_kill = take_census(toggl_emulator, email, store)
    check_usable(after_kill, toggl_emulator, CONN_ID, toggl_user["id"], violations)
    created = issued_cookies(toggl_emulator, email) - issued_before
    assert len(created) == 1
    orphans = tuple(created) if window.id == "during-verify" else ()
    check_at_most_one_extra(after_kill, violations)
    check_listed(after_kill, orphans, violations)
    assert after_kill.stored is not None
    if window.id == "during-delete":
        assert after_kill.stored_cookie in created
        assert [s.cookie for s in after_kill.stored.stale] == [seeded.stored_cookie]
    else:
        assert after_kill.stored_cookie == seeded.stored_cookie

    rerun = start_rotate_task(env, tmp_path / "rerun.log", logical_date)  # the task's retry
    with running_tasks(rerun):
        rerun.wait(TASK_TIMEOUT)
    assert rerun.succeeded, rerun.text()[-4000:]
    after_rerun = take_census(toggl_emulator, email, store)
    check_usable(after_rerun, toggl_emulator, CONN_ID, toggl_user["id"], violations)
    check_converged(after_rerun, orphans, violations)

    rotate()
    after_next = take_census(toggl_emulator, email, store)
    check_usable(after_next, toggl_emulator, CONN_ID, toggl_user["id"], violations)
    check_converged(after_next, orphans, violations)

    report.add(
        Row(
            "crash",
            f"SIGKILL during {window.step}",
            f"killed; rerun {task_result(rerun)}",
            census_cell(after_kill),
            census_cell(after_rerun),
            census_cell(after_next),
            violations.names(),
        )
    )
    violations.raise_first()


@pytest.mark.timeout(240)
def test_two_workers_rotating_at_once(
    db_env: tuple[SessionStore, dict[str, str]],
    toggl_emulator: TogglEmulator,
    toggl_user: dict[str, Any],
    tmp_path: Path,
    report: Report,
) -> None:
    store, env = db_env
    email, violations = toggl_user["email"], Violations()
    seeded = take_census(toggl_emulator, email, store)
    issued_before = issued_cookies(toggl_emulator, email)
    # Faults apply in order: the first create to arrive is held 4 s, the second 7 s, so the second
    # worker writes at least 3 s after the first (after its read-back: a plain lost update).
    for delay in (RACE_FIRST_CREATE, RACE_SECOND_CREATE):
        toggl_emulator.inject_fault("/api/sessions", method="POST", action="delay", delay=delay)

    now = datetime.now(timezone.utc)
    workers = [
        start_rotate_task(env, tmp_path / f"worker-{n}.log", now + timedelta(seconds=n)) for n in (1, 2)
    ]

    def creates() -> int:
        return requests_to(toggl_emulator, "POST /api/sessions")

    with running_tasks(*workers):
        ended = any_ended(workers)
        first = wait_until(lambda: creates() >= 1, TASK_TIMEOUT, "a create", unless=ended)
        second = wait_until(lambda: creates() >= 2, TASK_TIMEOUT, "both creates", unless=ended)
        for worker in workers:
            worker.wait(TASK_TIMEOUT)
    assert all(worker.succeeded for worker in workers), "\n\n".join(w.text()[-3000:] for w in workers)
    # The second worker read the store before sending its create, and the first could only write
    # after its create was answered: so both read the seeded session before either wrote.
    assert second < first + RACE_FIRST_CREATE - 0.2, "the workers did not overlap"

    after_race = take_census(toggl_emulator, email, store)
    check_usable(after_race, toggl_emulator, CONN_ID, toggl_user["id"], violations)
    check_at_most_one_extra(after_race, violations)
    check_listed(after_race, (), violations)
    created = [s["cookie"] for s in toggl_emulator.issued_sessions(email) if s["cookie"] not in issued_before]
    assert len(created) == 2
    assert after_race.stored_cookie == created[-1]  # the later writer's session
    assert not toggl_emulator.is_session_live(seeded.stored_cookie or "")

    rotate()  # one more normal rotation
    after_next = take_census(toggl_emulator, email, store)
    check_usable(after_next, toggl_emulator, CONN_ID, toggl_user["id"], violations)
    check_converged(after_next, (), violations)

    report.add(
        Row(
            "race",
            f"two `tasks test` runs at once, creates held {RACE_FIRST_CREATE:g} s and {RACE_SECOND_CREATE:g} s",
            " / ".join(task_result(worker) for worker in workers) + f"; creates {second - first:.1f} s apart",
            census_cell(after_race),
            "-",
            census_cell(after_next),
            violations.names(),
        )
    )
    violations.raise_first()
