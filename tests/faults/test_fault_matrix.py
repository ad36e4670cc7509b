"""Every client method against every fault, checked against the retry policy table.

The cases and their expected outcomes live in ``scripts/devkit/fault_matrix`` (shared with
``scripts/fault_matrix.py``). Clients come from the shared ``make_client`` fixture with a recording
sleep, so Retry-After and quota waits take no wall time. Run with ``-s`` to see the table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_toggl.client import ApiTokenAuth, EmailPasswordAuth, TogglSession
from airflow_toggl.emulator import TogglEmulator
from airflow_toggl.exceptions import TogglAPIError, TogglConnectionError
from airflow_toggl.hooks.toggl import TogglHook
from devkit.fault_matrix.cases import CASES, KNOWN_BUGS, Case, expect
from devkit.fault_matrix.faults import FAULTS, FAULTS_BY_KEY, Variant
from devkit.fault_matrix.methods import METHODS, METHODS_BY_NAME, PASSWORD
from devkit.fault_matrix.policy import RETRIED, Row, client_settings
from devkit.fault_matrix.run import Bench, RecordingSleep, mismatches, observe, run_case
from devkit.fault_matrix.table import matrix_table, table_row


def _param(case: Case) -> Any:
    marks = []
    if case.id in KNOWN_BUGS:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case.id]))
    if case.fault.delay:
        marks.append(pytest.mark.slow)  # waits out the client's timeout on every attempt
    return pytest.param(case, id=case.id, marks=marks)


@pytest.fixture
def sleeps() -> RecordingSleep:
    """Overrides the shared recorder of ``make_client``: this one can also restart a server."""
    return RecordingSleep()


@pytest.fixture
def bench(
    toggl_emulator: TogglEmulator,
    toggl_emulator_factory: Callable[..., TogglEmulator],
    make_client: Callable[..., Any],
    sleeps: RecordingSleep,
) -> Bench:
    return Bench(toggl_emulator, make_client, sleeps, lambda port: toggl_emulator_factory(port=port))


@pytest.fixture(scope="module", autouse=True)
def quiet_retry_logs() -> Iterator[None]:
    """Hundreds of expected retries would bury the table printed with -s; restored afterwards."""
    loggers = [logging.getLogger(name) for name in ("airflow_toggl.client", "urllib3.connection")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture(scope="module")
def report() -> Iterator[list[tuple[str, ...]]]:
    """Collects one table row per case and prints the table once the module is done (seen with -s)."""
    rows: list[tuple[str, ...]] = []
    yield rows
    if rows:
        print(f"\n\nFault matrix ({len(rows)} cases)\n{matrix_table(rows)}")


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_fault_matrix(case: Case, bench: Bench, report: list[tuple[str, ...]]) -> None:
    observed = run_case(case, bench)
    report.append(table_row(case, observed, known_bug=case.id in KNOWN_BUGS))
    assert mismatches(case.expected, observed) == [], f"error: {observed.error!r}"


# -- the table itself -------------------------------------------------------------------------------


def test_every_method_meets_every_fault() -> None:
    seen = {(case.method.name, case.fault.key) for case in CASES}
    assert seen == {(method.name, fault.key) for method in METHODS for fault in FAULTS}
    assert len({case.id for case in CASES}) == len(CASES)


def test_state_changing_requests_are_sent_once_when_they_may_have_arrived() -> None:
    for case in CASES:
        if not case.method.idempotent and case.fault.row in (Row.SERVER_ERROR, Row.MAY_HAVE_ARRIVED):
            assert case.expected.requests == 1, case.id


def test_refused_and_rate_limited_requests_are_resent_whatever_the_method() -> None:
    for row in (Row.NOT_CONNECTED, Row.RATE_LIMITED, Row.QUOTA_RESETS_SOON):
        assert RETRIED[row] == (True, True)
    for case in CASES:
        if case.fault.row is Row.RATE_LIMITED and case.variant is Variant.EVERY:
            assert case.expected.requests == 3, case.id


# -- the same wiring through TogglHook (real sleeps: only short waits) ------------------------------

HOOK_CASES: tuple[tuple[str, str, Variant], ...] = (
    ("is_logged_in", "503", Variant.FIRST),
    ("get_me", "429-zero", Variant.FIRST),
    ("get_quota", "429-zero", Variant.EVERY),
    ("get_me", "402-plan", Variant.FIRST),
    ("delete_session", "403", Variant.FIRST),
    ("create_session", "drop", Variant.FIRST),
    ("signup", "429-zero", Variant.FIRST),
    ("request_password_reset", "500", Variant.EVERY),
    ("reset_api_token", "503", Variant.FIRST),
)


def _hook_call(hook: TogglHook, name: str, emulator: TogglEmulator, email: str) -> Callable[[], Any]:
    """The hook method ``name`` with the arguments a task would give it."""
    if name == "delete_session":
        session = TogglSession.from_cookie(emulator.issue_session(email))
        return lambda: hook.delete_session(session)
    if name == "signup":
        return lambda: hook.signup("new-by-hook@example.com", PASSWORD, "New User")
    if name == "request_password_reset":
        return lambda: hook.request_password_reset(email)
    method: Callable[[], Any] = getattr(hook, name)
    return method


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("name", "fault_key", "variant"),
    [pytest.param(*case, id=f"hook-{case[0]}-{case[1]}-{case[2].value}") for case in HOOK_CASES],
)
def test_hook_follows_the_same_policy(
    toggl_conn_env: dict[str, str],
    toggl_emulator: TogglEmulator,
    toggl_user: dict[str, Any],
    name: str,
    fault_key: str,
    variant: Variant,
) -> None:
    method, fault = METHODS_BY_NAME[name], FAULTS_BY_KEY[fault_key]
    hook = TogglHook()
    max_retries = hook.settings.config.max_retries
    assert max_retries == 2
    call = _hook_call(hook, name, toggl_emulator, toggl_user["email"])
    toggl_emulator.reset_counters()
    fault.inject(toggl_emulator, method.http_method, method.path, 1 if variant is Variant.FIRST else None)
    observed = observe(call, toggl_emulator, f"{method.http_method} {method.path}", sleeps=None)
    expected = expect(method, fault, variant, max_retries=max_retries)
    assert mismatches(expected, observed) == [], f"error: {observed.error!r}"


# -- answers lost after Toggl applied the request ---------------------------------------------------


@pytest.mark.timeout(20)
def test_a_lost_answer_to_delete_session_is_retried_and_reads_as_already_invalid(
    toggl_emulator: TogglEmulator,
    make_client: Callable[..., Any],
) -> None:
    email = toggl_emulator.add_user("lost-delete@example.com", PASSWORD)["email"]
    session = TogglSession.from_cookie(toggl_emulator.issue_session(email))
    client = make_client(**client_settings(toggl_emulator.url))
    toggl_emulator.reset_counters()
    toggl_emulator.inject_fault("/api/sessions", method="DELETE", action="drop", process=True)
    assert client.delete_session(session) is False
    counters = toggl_emulator.counters()
    assert counters["requests"] == {"DELETE /api/sessions": 2}
    assert counters["responses"] == {"DELETE /api/sessions 403": 1}
    assert not toggl_emulator.is_session_live(session.cookie)


@pytest.mark.timeout(20)
def test_a_lost_answer_to_reset_api_token_is_not_resent_and_the_new_token_is_read_from_me(
    toggl_emulator: TogglEmulator,
    make_client: Callable[..., Any],
) -> None:
    user = toggl_emulator.add_user("lost-token@example.com", PASSWORD)
    settings = client_settings(toggl_emulator.url)
    client = make_client(ApiTokenAuth(user["api_token"]), **settings)
    toggl_emulator.reset_counters()
    toggl_emulator.inject_fault("/api/v9/me/reset_token", action="truncate", process=True)
    with pytest.raises(TogglConnectionError) as info:
        client.reset_api_token()
    assert info.value.reason == "dropped"
    assert toggl_emulator.counters()["requests"] == {"POST /api/v9/me/reset_token": 1}
    new_token = (toggl_emulator.user(user["email"]) or {})["api_token"]
    assert new_token != user["api_token"]
    assert client.is_logged_in() is False
    recovered = make_client(EmailPasswordAuth(user["email"], PASSWORD), **settings).get_me()["api_token"]
    assert recovered == new_token


@pytest.mark.timeout(20)
def test_a_lost_answer_to_signup_is_not_resent(
    toggl_emulator: TogglEmulator,
    make_client: Callable[..., Any],
) -> None:
    client = make_client(**client_settings(toggl_emulator.url))
    toggl_emulator.inject_fault("/api/signup", action="drop", process=True)
    with pytest.raises(TogglConnectionError) as info:
        client.signup("lost-signup@example.com", PASSWORD, "New User")
    assert info.value.reason == "dropped"
    assert toggl_emulator.counters()["requests"] == {"POST /api/signup": 1}
    assert toggl_emulator.user("lost-signup@example.com") is not None
    with pytest.raises(TogglAPIError) as again:
        client.signup("lost-signup@example.com", PASSWORD, "New User")
    assert again.value.status_code == 400
