"""No secret in configuration errors, reprs, rendered template fields or the trigger."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_toggl._compat import AirflowFailException
from airflow_toggl.client.auth import ApiTokenAuth, EmailPasswordAuth, NoAuth, SessionCookieAuth
from airflow_toggl.client.client import TogglClient
from airflow_toggl.client.config import ClientConfig
from airflow_toggl.exceptions import (
    TogglConfigError,
    TogglError,
    TogglQuotaExceededError,
)
from airflow_toggl.hooks.toggl import TogglHook, settings_from_connection
from devkit.airflow import AIRFLOW_VERSION, ROOT
from devkit.airflow_cluster import find_leaks
from devkit.doubles import MemoryVariables
from tests.support.secrets_scan import (
    HOOK_EMAIL,
    HOOK_NEW_PASSWORD,
    HOOK_PASSWORD,
    HOOK_TOKEN,
    RESET_CODE_VARIABLE,
    SIGNUP_EMAIL,
    SIGNUP_PASSWORD,
    STORE_KEY,
    Bench,
    Ledger,
    SecretBook,
    assert_no_leaks,
    capture_logs,
    scan_error,
)

pytestmark = pytest.mark.timeout(600)


# -- 4b. configuration errors ------------------------------------------------------------------


def _settings(**fields: Any) -> Callable[[], Any]:
    base: dict[str, Any] = {"login": HOOK_EMAIL, "password": HOOK_PASSWORD, "extras": {}}
    base.update(fields)
    return lambda: settings_from_connection("toggl_default", **base)


def _store_load(raw: str) -> Callable[[], Any]:
    from airflow_toggl.sessions.store import SessionStore

    variables = MemoryVariables()
    variables.set(STORE_KEY, raw)
    return lambda: SessionStore(STORE_KEY, variables=variables).load()


COOKIE = "cookieScan.Pq8wZ3rT6yH1.sigScan-Nc5vB2"  # not a JWT: a session of unknown expiry
CODE = "c0de5ca7c0de5ca7c0de5ca7c0de5ca7c0de5ca7"


def _config_cases() -> list[tuple[str, Callable[[], Any], str]]:
    """(name, call, field): each call raises TogglConfigError naming ``field``; secrets sit in bad values."""
    from airflow_toggl.operators.toggl import (
        TogglConfirmPasswordResetOperator,
        TogglCredentialsCheckOperator,
        TogglResetApiTokenOperator,
        TogglSignupOperator,
    )
    from airflow_toggl.triggers.toggl import TogglQuotaResetTrigger

    at = f"https://{HOOK_EMAIL}:{HOOK_PASSWORD}@api.track.toggl.com"
    return [
        ("URL carrying credentials", _settings(extras={"track_api_url": at}), "track_api_url"),
        (
            "plain http URL with the token in its path",
            _settings(extras={"accounts_api_url": f"http://example.com/{HOOK_TOKEN}"}),
            "accounts_api_url",
        ),
        (
            "URL with the token in its query",
            _settings(extras={"track_api_url": f"https://api.track.toggl.com/?t={HOOK_TOKEN}"}),
            "track_api_url",
        ),
        (
            "unparsable URL holding the password",
            _settings(extras={"track_api_url": f"https://[{HOOK_PASSWORD}"}),
            "track_api_url",
        ),
        ("password typed into timeout", _settings(extras={"timeout": HOOK_PASSWORD}), "timeout"),
        ("token typed into max_retries", _settings(extras={"max_retries": HOOK_TOKEN}), "max_retries"),
        ("password typed into verify", _settings(extras={"verify": HOOK_PASSWORD}), "verify"),
        ("password typed into auth_mode", _settings(extras={"auth_mode": HOOK_PASSWORD}), "auth_mode"),
        (
            "token typed into requests_per_second",
            _settings(extras={"requests_per_second": HOOK_TOKEN}),
            "requests_per_second",
        ),
        ("extra is not an object", _settings(extras=[HOOK_PASSWORD, HOOK_TOKEN]), "extra"),
        ("password is not text", _settings(password=[HOOK_PASSWORD]), "password"),
        ("password without login", _settings(login=None), "login"),
        ("api_token mode without a token", _settings(extras={"auth_mode": "api_token"}), "api_token"),
        ("api_token extra is not text", _settings(extras={"api_token": [HOOK_TOKEN]}), "api_token"),
        ("session_key is not text", _settings(extras={"session_key": {"k": HOOK_TOKEN}}), "session_key"),
        (
            "cookie with a forbidden character",
            lambda: SessionCookieAuth(f"{COOKIE};{HOOK_TOKEN}"),
            "session_cookie",
        ),
        ("email/password auth without the email", lambda: EmailPasswordAuth(" ", HOOK_PASSWORD), "login"),
        (
            "hook: basic mode with a session cookie",
            lambda: TogglHook(auth_mode="basic", session_cookie=COOKIE),
            "auth_mode",
        ),
        (
            "hook: cookie with a space",
            lambda: TogglHook(session_cookie=f"{COOKIE} {HOOK_TOKEN}"),
            "session_cookie",
        ),
        ("hook: password typed into auth_mode", lambda: TogglHook(auth_mode=HOOK_PASSWORD), "auth_mode"),
        (
            "client: empty reset code",
            lambda: TogglClient(ClientConfig()).confirm_password_reset(" ", HOOK_NEW_PASSWORD),
            "code",
        ),
        ("store: not JSON", _store_load(f"{COOKIE} {{"), f"Variable {STORE_KEY}"),
        (
            "store: bad user_id next to a cookie",
            _store_load(json.dumps({"session_token": COOKIE, "user_id": HOOK_TOKEN})),
            f"Variable {STORE_KEY}",
        ),
        (
            "store: timestamp holding a secret",
            _store_load(json.dumps({"session_token": COOKIE, "created_at": HOOK_PASSWORD})),
            f"Variable {STORE_KEY}",
        ),
        (
            "store: stale entry without a cookie",
            _store_load(json.dumps({"session_token": COOKIE, "stale_session_tokens": [{"x": HOOK_TOKEN}]})),
            f"Variable {STORE_KEY}",
        ),
        (
            "operator: password passed as its Variable name",
            lambda: TogglSignupOperator(
                task_id="s", account_email=SIGNUP_EMAIL, password_variable=SIGNUP_PASSWORD, display_name="x"
            ).execute({}),
            "password_variable",
        ),
        (
            "operator: new password passed as its Variable name",
            lambda: TogglConfirmPasswordResetOperator(
                task_id="c", code=CODE, new_password_variable=HOOK_NEW_PASSWORD
            ).execute({}),
            "new_password_variable",
        ),
        (
            "operator: token passed as its Variable name",
            lambda: TogglResetApiTokenOperator(task_id="r", token_variable=HOOK_TOKEN).execute({}),
            "token_variable",
        ),
        (
            "operator: password typed into auth_mode",
            lambda: TogglCredentialsCheckOperator(task_id="k", auth_mode=HOOK_PASSWORD).execute({}),
            "auth_mode",
        ),
        (
            "trigger: token typed into resume_at",
            lambda: TogglQuotaResetTrigger(resume_at=HOOK_TOKEN, toggl_conn_id="toggl_default"),
            "resume_at",
        ),
    ]


CONFIG_CASES = _config_cases()


@pytest.mark.parametrize(("name", "call", "field_name"), CONFIG_CASES, ids=[case[0] for case in CONFIG_CASES])
def test_config_error_leaks_nothing(
    name: str, call: Callable[[], Any], field_name: str, book: SecretBook, masked: list[Any], ledger: Ledger
) -> None:
    for secret_name, value in (
        ("password", HOOK_PASSWORD),
        ("api_token", HOOK_TOKEN),
        ("new password", HOOK_NEW_PASSWORD),
        ("signup password", SIGNUP_PASSWORD),
        ("session cookie", COOKIE),
        ("reset code", CODE),
    ):
        book.add(secret_name, value)
    with capture_logs() as logs:
        raised = provoke_final(call)
    # An operator fails for good: Airflow's AirflowFailException, caused by the TogglConfigError.
    error = raised.__cause__ if isinstance(raised, AirflowFailException) else raised
    assert isinstance(error, TogglConfigError), repr(error)
    # Positive control: the error names the field it is about.
    assert error.field == field_name
    assert field_name in str(error)
    assert_no_leaks(scan_error(raised, name, logs, book, ledger))


def provoke_final(call: Callable[[], Any]) -> BaseException:
    """The TogglError ``call`` raises, or the AirflowFailException an operator raises for it."""
    try:
        call()
    except AirflowFailException as final:
        return final
    except TogglError as error:
        return error
    raise AssertionError("no TogglError was raised")


# -- 5. reprs, rendered template fields, the trigger ------------------------------------------


def test_reprs_hold_no_secret(bench: Bench, book: SecretBook, ledger: Ledger) -> None:
    from airflow_toggl.sessions.rotation import RotationOutcome
    from airflow_toggl.sessions.store import SessionStore

    session = bench.session()
    stale = bench.session()
    book.harvest(bench.emulator)
    api = bench.hook()
    api.get_me()
    basic = bench.hook(auth_mode="basic")
    basic.is_logged_in()
    by_cookie = bench.hook(session_cookie=session.cookie)
    by_cookie.is_logged_in()
    variables = MemoryVariables()
    store = SessionStore(STORE_KEY, variables=variables)
    stored = store.save(session, user_id=bench.user["id"], stale=[stale])
    outcome = RotationOutcome(STORE_KEY, True, bench.user["id"], session.expires_at, True, 1)
    objects: dict[str, object] = {
        "TogglHook (api_token)": api,
        "TogglHook (basic)": basic,
        "TogglHook (session)": by_cookie,
        "ConnectionSettings": api.settings,
        "ConnectionSettings (basic)": basic.settings,
        "ClientConfig": api.settings.config,
        "TogglClient (api_token)": api.get_conn(),
        "TogglClient (basic)": basic.get_conn(),
        "TogglClient (session)": by_cookie.get_conn(),
        "ApiTokenAuth": ApiTokenAuth(HOOK_TOKEN),
        "EmailPasswordAuth": EmailPasswordAuth(HOOK_EMAIL, HOOK_PASSWORD),
        "SessionCookieAuth": SessionCookieAuth(session.cookie),
        "NoAuth": NoAuth(),
        "auth fingerprint": ApiTokenAuth(HOOK_TOKEN).fingerprint,
        "TogglSession": session,
        "StoredSession": stored,
        "SessionStore": store,
        "RotationOutcome": outcome,
        "RotationOutcome.to_xcom": json.dumps(outcome.to_xcom()),
        "last quota": api.last_quota,
    }
    texts = [
        (f"{name}: {how}", render(value))
        for name, value in objects.items()
        for how, render in (("repr", repr), ("str", str), ("format", "{}".format))
    ]
    # Positive controls: the store really holds the cookies, and public fields do show.
    assert session.cookie in variables.data[STORE_KEY]
    assert find_leaks(texts, {"email": HOOK_EMAIL})
    assert any("***" in text for _, text in texts)
    assert_no_leaks(ledger.scan("reprs and strs", texts, book))


class _XComStub:
    """Just enough of a task instance for the example DAGs' templates."""

    def xcom_pull(self, task_ids: str | None = None, **kwargs: Any) -> Any:
        row = {"user_id": 4242, "id": 4242}
        return [row] if task_ids == "list_workspaces" else row


@pytest.mark.xfail(
    AIRFLOW_VERSION.release[:3] < (3, 1, 8),  # seen on 3.1.1; 3.1.8 and later pass
    strict=False,
    reason=(
        "Airflow 3.1.1's task runner stores rendered fields redacted by core's secrets masker "
        "(airflow.serialization.helpers), while a Variable read teaches the Task SDK's masker: "
        "rendered here, in-process, the reset code stays readable (3.1.8 hides it; a real 3.1.1 task "
        "is not checked here)"
    ),
)
def test_rendered_template_fields_hold_no_secret(
    book: SecretBook, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every task of the example DAGs, rendered with a reset code in its Variable; then what Airflow stores."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.2
        from airflow.models.dagbag import DagBag
    from airflow.sdk.execution_time.context import VariableAccessor
    from airflow.sdk.execution_time.task_runner import _serialize_rendered_fields

    book.add("reset code", CODE)
    monkeypatch.setenv(f"AIRFLOW_VAR_{RESET_CODE_VARIABLE.upper()}", CODE)
    dagbag = DagBag(dag_folder=str(ROOT / "dags"))
    assert dagbag.import_errors == {}
    from airflow.sdk.execution_time import macros

    context = {
        "ds": "2026-11-30",
        "macros": macros,
        "params": {"email": ""},
        "var": {"value": VariableAccessor(deserialize_json=False)},
        "ti": _XComStub(),
    }
    raw: list[tuple[str, str]] = []
    stored: list[tuple[str, str]] = []
    tasks = [task for dag in dagbag.dags.values() for task in dag.tasks]
    for task in tasks:
        task.render_template_fields(context)
        where = f"{task.dag_id}.{task.task_id}"
        values = {name: getattr(task, name) for name in task.template_fields}
        if task.task_id == "confirm_password_reset":
            assert values.pop("code") == CODE  # rendered: the operator needs it
        raw.append((f"{where} template fields", json.dumps(values, default=str)))
        raw.append((f"{where} repr", f"{task!r} {task!s}"))
        stored.append((f"{where} as stored", json.dumps(_serialize_rendered_fields(task), default=str)))
    confirm = next(text for where, text in stored if where.endswith(".confirm_password_reset as stored"))
    assert json.loads(confirm)["code"] == "***"
    assert len(tasks) >= 10
    assert any("toggl_default" in text for _, text in stored)
    leaks = ledger.scan("operators: rendered template fields", raw, book)
    leaks += ledger.scan("operators: rendered fields as Airflow stores them", stored, book)
    assert_no_leaks(leaks)


def test_trigger_and_deferral_hold_no_secret(book: SecretBook, masked: list[Any], ledger: Ledger) -> None:
    try:
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:  # Airflow before 3.2
        from airflow.exceptions import TaskDeferred

    from airflow_toggl.operators.toggl import TogglRotateSessionOperator
    from airflow_toggl.triggers.toggl import TogglQuotaResetTrigger

    for name, value in (("password", HOOK_PASSWORD), ("api_token", HOOK_TOKEN), ("cookie", COOKIE)):
        book.add(name, value)
    operator = TogglRotateSessionOperator(task_id="rotate", deferrable=True, poll_interval=0.01)
    quota = TogglQuotaExceededError("Toggl hourly quota used up for GET /api/v9/me (402)", resets_in=0)
    deferred = provoke_deferral(lambda: operator.defer_until_quota_reset(quota, 0.0), TaskDeferred)
    trigger = deferred.trigger
    assert isinstance(trigger, TogglQuotaResetTrigger)

    async def first_event() -> Any:
        async for event in TogglQuotaResetTrigger(
            resume_at=datetime.now(timezone.utc) - timedelta(seconds=1), toggl_conn_id="toggl_default"
        ).run():
            return event
        return None

    with capture_logs(("airflow_toggl", "airflow.triggers", "airflow.task")) as logs:
        event = asyncio.run(first_event())
    texts = [
        ("trigger serialize()", json.dumps(trigger.serialize(), default=str)),
        ("trigger repr", repr(trigger)),
        ("TaskDeferred repr", repr(deferred)),
        ("trigger event", repr(event)),
        *logs.texts("trigger run"),
    ]
    assert all("toggl_default" in text for _, text in texts[:1])
    assert "quota_reset" in texts[3][1]
    assert_no_leaks(ledger.scan("trigger: serialize, event, logs", texts, book))


def provoke_deferral(call: Callable[[], Any], kind: type[BaseException]) -> Any:
    try:
        call()
    except kind as deferred:
        return deferred
    raise AssertionError("the operator did not defer")
