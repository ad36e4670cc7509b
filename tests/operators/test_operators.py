"""Operators in isolation: argument checks, what reaches XCom, and the deferral round trip."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_toggl.exceptions import (
    TogglAuthError,
    TogglConfigError,
    TogglError,
    TogglIdentityMismatchError,
    TogglQuotaExceededError,
)
from airflow_toggl.operators import toggl as ops
from airflow_toggl.sessions.store import SessionStore
from airflow_toggl.triggers.toggl import TogglQuotaResetTrigger
from devkit.deferral import TaskDeferred
from devkit.doubles import MemoryVariables
from tests.support.fakes import FakeHook, make_session
from tests.support.final import fails_for_good

KEY = "toggl_session_secret__toggl_default"
SECRET_WORDS = ("password", "token", "cookie", "secret", "code_value")


class AccountHook(FakeHook):
    """FakeHook plus the account flows."""

    def request_password_reset(self, email: str) -> None:
        self.calls.append(f"request_password_reset:{email}")

    def confirm_password_reset(self, code: str, new_password: str) -> Any:
        self.calls.append(f"confirm_password_reset:{code}:{new_password}")
        return self.create_session()

    def reset_api_token(self) -> str:
        self._maybe_fail("reset_api_token")
        return "new-api-token-SECRET"

    def signup(self, email: str, password: str, display_name: str, timezone: str = "UTC") -> Any:
        self.calls.append(f"signup:{email}:{password}")
        self.user = {"id": 99, "email": email, "api_token": "tok-NEW"}
        return self.create_session()

    def close_account(self, session: Any = None) -> None:
        self.calls.append("close_account")


@pytest.fixture
def hook() -> AccountHook:
    return AccountHook(now=datetime.now(timezone.utc))


def live_session(days: float = 20) -> Any:
    """A session expiring ``days`` from the real now (operators use the real clock)."""
    return make_session(timedelta(days=days), now=datetime.now(timezone.utc))


def with_hook(operator: ops.TogglBaseOperator, hook: FakeHook) -> ops.TogglBaseOperator:
    operator.__dict__["hook"] = hook
    return operator


def assert_no_secret(value: Any, hook: FakeHook) -> None:
    text = json.dumps(value)
    for session in hook.created:
        assert session.cookie not in text
    assert "tok-" not in text
    assert "SECRET" not in text
    assert "pw-" not in text


ALL_OPERATORS = [
    lambda: ops.TogglIdentityCheckOperator(task_id="t"),
    lambda: ops.TogglCredentialsCheckOperator(task_id="t"),
    lambda: ops.TogglCreateSessionOperator(task_id="t"),
    lambda: ops.TogglDeleteSessionOperator(task_id="t"),
    lambda: ops.TogglRotateSessionOperator(task_id="t"),
    lambda: ops.TogglRequestPasswordResetOperator(task_id="t"),
    lambda: ops.TogglConfirmPasswordResetOperator(task_id="t", code="123"),
    lambda: ops.TogglResetApiTokenOperator(task_id="t"),
    lambda: ops.TogglSignupOperator(
        task_id="t", account_email="new@example.com", password_variable="new_password", display_name="N"
    ),
    lambda: ops.TogglCloseAccountOperator(task_id="t", confirm_email="ada@example.com"),
]


# -- construction ------------------------------------------------------------------------------


@pytest.fixture
def offline(no_network: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket, Variable read or connection read fails the test."""
    from airflow.sdk import BaseHook, Variable

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("Variable or connection read")

    monkeypatch.setattr(Variable, "get", classmethod(forbidden))
    monkeypatch.setattr(BaseHook, "get_connection", classmethod(forbidden))


@pytest.mark.parametrize("build", ALL_OPERATORS)
def test_construction_is_offline_and_templates_no_secret(build, offline: None) -> None:
    operator = build()
    assert "toggl_conn_id" in operator.template_fields
    for field in operator.template_fields:
        assert not any(word in field for word in SECRET_WORDS), field


BAD_ARGUMENTS = [
    (lambda: ops.TogglRotateSessionOperator(task_id="t", min_remaining=timedelta(seconds=-1)), "min_remaining"),
    (lambda: ops.TogglRotateSessionOperator(task_id="t", min_remaining=-5), "min_remaining"),
    (lambda: ops.TogglRotateSessionOperator(task_id="t", min_remaining="7d"), "min_remaining"),
    (lambda: ops.TogglIdentityCheckOperator(task_id="t", auth_mode="cookie"), "auth_mode"),
    (lambda: ops.TogglCredentialsCheckOperator(task_id="t", auth_mode="oauth"), "auth_mode"),
    (lambda: ops.TogglResetApiTokenOperator(task_id="t", auth_mode="oauth"), "auth_mode"),
    (lambda: ops.TogglIdentityCheckOperator(task_id="t", toggl_conn_id=""), "toggl_conn_id"),
    (lambda: ops.TogglIdentityCheckOperator(task_id="t", poll_interval=0), "poll_interval"),
    (lambda: ops.TogglIdentityCheckOperator(task_id="t", poll_interval="5"), "poll_interval"),
    (lambda: ops.TogglResetApiTokenOperator(task_id="t", token_variable="toggl_new"), "token_variable"),
    (
        lambda: ops.TogglConfirmPasswordResetOperator(task_id="t", code="1", new_password_variable="pw"),
        "new_password_variable",
    ),
    (lambda: ops.TogglConfirmPasswordResetOperator(task_id="t", code=" "), "code"),
    (lambda: ops.TogglConfirmPasswordResetOperator(task_id="t", code="1", deferrable=True), "deferrable"),
    (
        lambda: ops.TogglSignupOperator(task_id="t", account_email="a@b.c", password_variable=None, display_name="A"),
        "password_variable",
    ),
    (
        lambda: ops.TogglSignupOperator(task_id="t", account_email="", password_variable="a_secret", display_name="A"),
        "account_email",
    ),
    (lambda: ops.TogglCloseAccountOperator(task_id="t", confirm_email=""), "confirm_email"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "field"), BAD_ARGUMENTS)
def test_bad_arguments_are_kept_as_given_and_refused_by_execute_before_any_request(
    build, field: str, offline: None
) -> None:
    operator = build()  # __init__ only assigns: Jinja has not rendered anything yet
    with fails_for_good(TogglConfigError) as info:
        operator.execute({})
    assert info.value.field == field


def test_init_keeps_template_fields_exactly_as_given() -> None:
    rotate = ops.TogglRotateSessionOperator(task_id="t", min_remaining=3600, poll_interval=5)
    assert rotate.min_remaining == 3600
    assert rotate.poll_interval == 5
    check = ops.TogglIdentityCheckOperator(
        task_id="t3", auth_mode="{{ params.mode }}", expected_email=" {{ conn.toggl_default.login }} "
    )
    assert check.auth_mode == "{{ params.mode }}"
    assert check.expected_email == " {{ conn.toggl_default.login }} "
    confirm = ops.TogglConfirmPasswordResetOperator(task_id="t4", code=" {{ params.code }} ")
    assert confirm.code == " {{ params.code }} "


def test_a_rendered_value_is_checked_after_rendering(offline: None) -> None:
    operator = ops.TogglIdentityCheckOperator(task_id="t", auth_mode="{{ params.mode }}")
    operator.render_template_fields({"params": {"mode": "cookie"}})
    assert operator.auth_mode == "cookie"
    with fails_for_good(TogglConfigError) as info:
        operator.execute({})
    assert info.value.field == "auth_mode"


def test_default_args_reach_every_operator_argument() -> None:
    """Airflow fills arguments from ``default_args`` for the ``__init__`` of each class that defines one."""
    from airflow.sdk import DAG

    defaults = {
        "toggl_conn_id": "toggl_other",
        "session_key": "toggl_session_secret__other",
        "poll_interval": 7,
        "min_remaining": 60,
        "check_live": False,
    }
    with DAG("default_args_reach", schedule=None, default_args=defaults):
        create = ops.TogglCreateSessionOperator(task_id="create")
        rotate = ops.TogglRotateSessionOperator(task_id="rotate")
        check = ops.TogglIdentityCheckOperator(task_id="check", auth_mode="session")
    for operator in (create, rotate, check):
        assert operator.toggl_conn_id == "toggl_other"
        assert operator.session_key == "toggl_session_secret__other"
        assert operator.poll_interval == 7
    assert (rotate.min_remaining, rotate.check_live) == (60, False)


def test_session_operators_carry_the_profile_link() -> None:
    from airflow_toggl.links.toggl import TogglProfileLink

    for build in ALL_OPERATORS[:5]:
        links = build().operator_extra_links
        assert any(isinstance(link, TogglProfileLink) for link in links)
    link = TogglProfileLink()
    assert link.name == "Toggl Track profile"
    assert link.get_link(None, ti_key=None) == "https://track.toggl.com/profile"


# -- deferral ----------------------------------------------------------------------------------


def quota_error(resets_in: float = 120) -> TogglQuotaExceededError:
    return TogglQuotaExceededError("quota used up", resets_in=resets_in, status_code=402)


def test_quota_error_defers_until_the_reset(hook: AccountHook) -> None:
    hook.fail["is_logged_in"] = quota_error(120)
    operator = with_hook(
        ops.TogglCredentialsCheckOperator(task_id="t", deferrable=True, poll_interval=5), hook
    )
    before = datetime.now(timezone.utc)
    with pytest.raises(TaskDeferred) as info:
        operator.execute({})
    deferred = info.value
    assert deferred.method_name == "execute_complete"
    trigger = deferred.trigger
    assert isinstance(trigger, TogglQuotaResetTrigger)
    assert trigger.toggl_conn_id == "toggl_default"
    assert trigger.poll_interval == 5
    assert before + timedelta(seconds=120) <= trigger.resume_at <= before + timedelta(seconds=130)


def test_quota_error_fails_a_non_deferrable_task(hook: AccountHook) -> None:
    hook.fail["is_logged_in"] = quota_error()
    operator = with_hook(ops.TogglCredentialsCheckOperator(task_id="t"), hook)
    with pytest.raises(TogglQuotaExceededError):
        operator.execute({})


def test_execute_complete_runs_the_work_again(hook: AccountHook, monkeypatch: pytest.MonkeyPatch) -> None:
    operator = ops.TogglCredentialsCheckOperator(task_id="t", deferrable=True)
    fresh_hooks: list[AccountHook] = []

    def new_hook(self: Any) -> AccountHook:
        fresh_hooks.append(AccountHook())
        return fresh_hooks[-1]

    monkeypatch.setattr(ops.TogglCredentialsCheckOperator, "hook", property(new_hook))
    event = {"status": "quota_reset", "resume_at": "2026-03-01T12:00:00+00:00"}
    result = operator.execute_complete({}, event)
    assert result == {"toggl_conn_id": "toggl_default", "auth_mode": "basic", "logged_in": True}
    with pytest.raises(TogglError, match="Unexpected event"):
        operator.execute_complete({}, {"status": "error"})


def test_execute_complete_may_defer_again(hook: AccountHook) -> None:
    hook.fail["is_logged_in"] = quota_error(30)
    operator = with_hook(ops.TogglCredentialsCheckOperator(task_id="t", deferrable=True), hook)
    operator.__class__.hook  # noqa: B018 - the property exists on the class
    # Whatever hook the resumed work builds, put the failing one back in its place.
    original = operator.execute_toggl

    def again(context: Any) -> Any:
        operator.__dict__["hook"] = hook
        return original(context)

    operator.execute_toggl = again
    with pytest.raises(TaskDeferred):
        operator.execute_complete({}, {"status": "quota_reset", "resume_at": "x"})


# -- identity and credentials ------------------------------------------------------------------


def test_identity_check_returns_public_fields_only(hook: AccountHook) -> None:
    hook.user = {
        "id": 42,
        "email": "ada@example.com",
        "fullname": "Ada",
        "timezone": "UTC",
        "default_workspace_id": 9,
        "toggl_accounts_id": "acc-1",
        "api_token": "tok-SECRET",
        "intercom_hash": "hash-SECRET",
    }
    operator = with_hook(
        ops.TogglIdentityCheckOperator(
            task_id="t", expected_email="ADA@example.com", expected_user_id="42", expected_workspace_id=9
        ),
        hook,
    )
    result = operator.execute({})
    assert result == {
        "id": 42,
        "email": "ada@example.com",
        "fullname": "Ada",
        "timezone": "UTC",
        "default_workspace_id": 9,
        "toggl_accounts_id": "acc-1",
    }
    assert_no_secret(result, hook)


def test_identity_mismatch_names_field_expected_and_actual(hook: AccountHook) -> None:
    operator = with_hook(ops.TogglIdentityCheckOperator(task_id="t", expected_user_id=7), hook)
    with fails_for_good(TogglIdentityMismatchError, match=r"'id': expected 7, got 42"):
        operator.execute({})


def test_credentials_check_fails_clearly_when_refused(hook: AccountHook) -> None:
    hook.logged_in = False
    operator = with_hook(ops.TogglCredentialsCheckOperator(task_id="t"), hook)
    with fails_for_good(TogglAuthError, match=r"refused the basic credentials of connection 'toggl_default'"):
        operator.execute({})


# -- sessions ----------------------------------------------------------------------------------


def test_create_session_stores_and_returns_no_cookie(hook: AccountHook, variables: MemoryVariables) -> None:
    result = with_hook(ops.TogglCreateSessionOperator(task_id="t"), hook).execute({})
    new = hook.created[0]
    assert result == {"session_key": KEY, "user_id": 42, "expires_at": new.expires_at.isoformat()}
    assert SessionStore(KEY).load().holds(new)
    assert_no_secret(result, hook)


def test_create_session_replaces_and_deletes_an_older_one(
    hook: AccountHook, variables: MemoryVariables
) -> None:
    old = live_session(20)
    hook.live.add(old.cookie)
    SessionStore(KEY).save(old, user_id=42)
    with_hook(ops.TogglCreateSessionOperator(task_id="t"), hook).execute({})
    assert hook.deleted == [old.cookie]


def test_delete_session(hook: AccountHook, variables: MemoryVariables) -> None:
    session = live_session()
    hook.live.add(session.cookie)
    SessionStore(KEY).save(session, user_id=42)
    operator = with_hook(ops.TogglDeleteSessionOperator(task_id="t"), hook)
    assert operator.execute({}) == {"session_key": KEY, "deleted": True}
    assert KEY not in variables.data
    assert operator.execute({}) == {"session_key": KEY, "deleted": False}


def test_rotate_session_operator(hook: AccountHook, variables: MemoryVariables) -> None:
    operator = with_hook(ops.TogglRotateSessionOperator(task_id="t", check_live=False), hook)
    first = operator.execute({})
    assert first["rotated"] is True
    assert first["previous_deleted"] is None
    second = operator.execute({})
    assert second["rotated"] is False
    assert second["expires_at"] == first["expires_at"]
    assert_no_secret([first, second], hook)


def test_rotate_checks_liveness_of_the_stored_session(hook: AccountHook, variables: MemoryVariables) -> None:
    current = live_session(20)  # 20 days left, but Toggl refuses it: rotate
    SessionStore(KEY).save(current, user_id=42)
    result = with_hook(ops.TogglRotateSessionOperator(task_id="t"), hook).execute({})
    assert hook.calls[:2] == ["identity_of", "create_session"]
    assert result["rotated"] is True


# -- account flows -----------------------------------------------------------------------------


def test_an_alert_address_in_default_args_is_not_the_reset_target(hook: AccountHook) -> None:
    from airflow.sdk import DAG

    alerts = DAG("alerts", schedule=None, default_args={"email": "alerts@example.com"})
    with alerts, pytest.warns(Warning, match="email"):  # Airflow deprecates task emails for notifiers
        operator = ops.TogglRequestPasswordResetOperator(task_id="t")
    assert operator.email == "alerts@example.com"  # Airflow's failure-alert address
    assert with_hook(operator, hook).execute({}) == {"email": "ada@example.com", "requested": True}


def test_request_password_reset_defaults_to_the_connection_email(hook: AccountHook) -> None:
    result = with_hook(ops.TogglRequestPasswordResetOperator(task_id="t"), hook).execute({})
    assert result == {"email": "ada@example.com", "requested": True}
    hook.settings.email = None
    with fails_for_good(TogglConfigError):
        with_hook(ops.TogglRequestPasswordResetOperator(task_id="t2"), hook).execute({})


def test_confirm_password_reset_reads_the_variable_and_stores_the_session(
    hook: AccountHook, variables: MemoryVariables
) -> None:
    variables.data["toggl_new_password"] = "pw-New-9"
    operator = ops.TogglConfirmPasswordResetOperator(
        task_id="t", code=" 123456 ", new_password_variable="toggl_new_password"
    )
    result = with_hook(operator, hook).execute({})
    assert "confirm_password_reset:123456:pw-New-9" in hook.calls
    assert result["session_key"] == KEY
    assert result["user_id"] == 42
    assert SessionStore(KEY).load().holds(hook.created[0])
    assert_no_secret(result, hook)


def test_confirm_password_reset_defaults_to_the_connection_password(
    hook: AccountHook, variables: MemoryVariables
) -> None:
    with_hook(ops.TogglConfirmPasswordResetOperator(task_id="t", code="1"), hook).execute({})
    assert f"confirm_password_reset:1:{hook.settings.password}" in hook.calls


def test_confirm_password_reset_missing_variable(hook: AccountHook, variables: MemoryVariables) -> None:
    operator = ops.TogglConfirmPasswordResetOperator(
        task_id="t", code="1", new_password_variable="absent_password"
    )
    with fails_for_good(TogglConfigError, match="absent_password"):
        with_hook(operator, hook).execute({})


def test_reset_api_token_goes_to_a_variable_only(hook: AccountHook, variables: MemoryVariables) -> None:
    result = with_hook(ops.TogglResetApiTokenOperator(task_id="t"), hook).execute({})
    assert result == {"token_variable": "toggl_api_token_secret__toggl_default"}
    assert variables.data["toggl_api_token_secret__toggl_default"] == "new-api-token-SECRET"


def test_signup_without_store_deletes_the_session(hook: AccountHook, variables: MemoryVariables) -> None:
    variables.data["new_user_password"] = "pw-Signup-1"
    operator = ops.TogglSignupOperator(
        task_id="t",
        account_email="new@example.com",
        password_variable="new_user_password",
        display_name="New",
    )
    result = with_hook(operator, hook).execute({})
    assert result == {"email": "new@example.com", "user_id": 99, "session_key": None, "expires_at": None}
    assert hook.deleted == [hook.created[0].cookie]


def test_signup_with_store_keeps_the_session(hook: AccountHook, variables: MemoryVariables) -> None:
    variables.data["new_user_password"] = "pw-Signup-1"
    operator = ops.TogglSignupOperator(
        task_id="t",
        account_email="new@example.com",
        password_variable="new_user_password",
        display_name="New",
        session_key="toggl_session_secret__new_user",
    )
    result = with_hook(operator, hook).execute({})
    assert result["session_key"] == "toggl_session_secret__new_user"
    assert result["user_id"] == 99
    assert SessionStore("toggl_session_secret__new_user").load().holds(hook.created[0])
    assert_no_secret(result, hook)


def test_close_account_refuses_the_wrong_account(hook: AccountHook, variables: MemoryVariables) -> None:
    operator = ops.TogglCloseAccountOperator(task_id="t", confirm_email="someone.else@example.com")
    with fails_for_good(TogglIdentityMismatchError):
        with_hook(operator, hook).execute({})
    assert "close_account" not in hook.calls
    assert hook.deleted == [hook.created[0].cookie]  # the temporary session is not left behind


def test_close_account_with_the_stored_session(hook: AccountHook, variables: MemoryVariables) -> None:
    session = live_session()
    hook.live.add(session.cookie)
    SessionStore(KEY).save(session, user_id=42)
    result = with_hook(
        ops.TogglCloseAccountOperator(task_id="t", confirm_email="ada@example.com"), hook
    ).execute({})
    assert result == {"email": "ada@example.com", "user_id": 42, "closed": True}
    assert "close_account" in hook.calls
    assert KEY not in variables.data


def test_rendered_reset_code_is_masked(masked: list) -> None:
    operator = ops.TogglConfirmPasswordResetOperator(task_id="t", code="{{ params.reset_code }}")
    operator.render_template_fields({"params": {"reset_code": "654321"}})
    assert operator.code == "654321"
    assert "654321" in masked


def test_empty_rendered_reset_code_fails_before_any_request(
    hook: AccountHook, variables: MemoryVariables
) -> None:
    operator = with_hook(
        ops.TogglConfirmPasswordResetOperator(task_id="t", code="{{ params.reset_code }}"), hook
    )
    operator.code = "  "
    with fails_for_good(TogglConfigError) as info:
        operator.execute({})
    assert info.value.field == "code"
    assert not any(call.startswith("confirm_password_reset") for call in hook.calls)


def test_reset_code_from_a_secret_variable_is_rendered_and_masked(
    masked: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example DAG's template: Airflow's own Variable accessor, the code in a ``*secret*`` Variable."""
    from airflow.sdk.execution_time.context import VariableAccessor

    monkeypatch.setenv("AIRFLOW_VAR_TOGGL_PASSWORD_RESET_CODE_SECRET", "765432")
    operator = ops.TogglConfirmPasswordResetOperator(
        task_id="t", code="{{ var.value.toggl_password_reset_code_secret }}"
    )
    operator.render_template_fields({"var": {"value": VariableAccessor(deserialize_json=False)}})
    assert operator.code == "765432"
    assert "765432" in masked
