"""TogglHook over an Airflow connection (from the environment) against the emulator."""

from __future__ import annotations

import json

import pytest

from airflow_toggl.exceptions import (
    TogglAuthError,
    TogglConfigError,
    TogglPlanError,
    TogglQuotaExceededError,
)
from airflow_toggl.hooks.toggl import TogglHook
from devkit.airflow import toggl_connection


@pytest.mark.parametrize("auth_mode", [None, "api_token", "basic"])
def test_identity_with_each_credential(toggl_conn_env, toggl_user, auth_mode) -> None:
    hook = TogglHook(auth_mode=auth_mode)
    assert hook.get_me()["email"] == toggl_user["email"]
    assert hook.is_logged_in() is True
    assert hook.settings.auth_mode == (auth_mode or "api_token")


def test_session_mode_with_an_explicit_cookie(toggl_conn_env, toggl_user) -> None:
    session = TogglHook().create_session()
    hook = TogglHook(session_cookie=session.cookie)
    assert hook.get_me()["id"] == toggl_user["id"]
    assert hook.delete_session() is True
    assert hook.delete_session() is False
    assert hook.is_logged_in() is False


def test_identity_of_a_session(toggl_conn_env, toggl_user) -> None:
    hook = TogglHook()
    session = hook.create_session()
    assert hook.identity_of(session)["email"] == toggl_user["email"]
    assert hook.delete_session(session) is True


def test_quota_is_exposed(toggl_conn_env, toggl_emulator) -> None:
    toggl_emulator.configure(quota_limit=30, quota_window=3600)
    hook = TogglHook()
    hook.get_me()
    assert hook.last_quota is not None
    assert hook.last_quota.remaining == 29
    assert 0 < hook.last_quota.resets_in <= 3600
    quotas = {entry["organization_id"]: entry for entry in hook.get_quota()}
    assert quotas[None]["total"] == 30  # the user quota; each organization's is listed beside it
    assert quotas[None]["remaining"] == 28  # /me and /me/quota itself


def test_quota_beyond_max_wait_raises_with_the_reset_time(toggl_emulator, toggl_user, monkeypatch) -> None:
    connection = toggl_connection(toggl_emulator, toggl_user, max_quota_wait=5)
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    toggl_emulator.configure(quota_limit=1, quota_window=600)
    hook = TogglHook()
    hook.get_me()
    with pytest.raises(TogglQuotaExceededError) as info:
        hook.get_me()
    assert 500 < info.value.resets_in <= 600
    assert info.value.status_code == 402
    assert toggl_emulator.counters()["requests"]["GET /api/v9/me"] == 2


def test_quota_within_max_wait_is_waited_for(toggl_emulator, toggl_user, monkeypatch) -> None:
    connection = toggl_connection(toggl_emulator, toggl_user, max_quota_wait=10)
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    # A window longer than the pacing interval: the second call lands inside it even on a slow machine.
    toggl_emulator.configure(quota_limit=1, quota_window=4)
    hook = TogglHook()
    hook.get_me()
    assert hook.get_me()["id"] == toggl_user["id"]
    assert toggl_emulator.counters()["responses"]["GET /api/v9/me 402"] == 1


def test_plan_402_is_final(toggl_conn_env, toggl_emulator) -> None:
    toggl_emulator.inject_fault("/api/v9/me", status=402, body={"message": "plan"}, count=5)
    with pytest.raises(TogglPlanError):
        TogglHook().get_me()
    assert toggl_emulator.counters()["requests"]["GET /api/v9/me"] == 1


def test_wrong_password_is_an_auth_error(toggl_emulator, toggl_user, monkeypatch) -> None:
    user = {**toggl_user, "password": "pw-Wrong-999"}
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(toggl_connection(toggl_emulator, user)))
    hook = TogglHook(auth_mode="basic")
    with pytest.raises(TogglAuthError) as info:
        hook.get_me()
    assert "pw-Wrong-999" not in str(info.value)
    assert hook.test_connection()[0] is False


def test_full_account_flows(toggl_conn_env, toggl_emulator, toggl_user) -> None:
    hook = TogglHook()
    session = hook.signup("grace@example.com", "pw-Grace-Signup-5", "Grace")
    assert session is not None
    assert hook.identity_of(session)["email"] == "grace@example.com"
    hook.request_password_reset("grace@example.com")
    (code,) = toggl_emulator.outbox("grace@example.com")
    new_session = hook.confirm_password_reset(code, "pw-Grace-Reset-6")
    hook.close_account(new_session)
    with pytest.raises(TogglAuthError):
        hook.identity_of(session)


def test_reset_api_token(toggl_conn_env, toggl_emulator, toggl_user) -> None:
    hook = TogglHook()
    token = hook.reset_api_token()
    assert toggl_emulator.user(toggl_user["email"])["api_token"] == token
    assert hook.is_logged_in() is True


def test_session_mode_without_a_stored_session_names_the_key(toggl_conn_env) -> None:
    hook = TogglHook(auth_mode="session")
    with pytest.raises(TogglConfigError) as info:
        hook.get_me()
    assert info.value.field == "session_key"


def test_test_connection_checks_every_credential_and_leaves_nothing_behind(
    toggl_conn_env, toggl_emulator, toggl_user
) -> None:
    ok, message = TogglHook().test_connection()
    assert (ok, message) == (True, "Toggl accepted the api_token and email/password credentials")
    assert toggl_emulator.counters()["requests"] == {"GET /api/v9/me/logged": 2}
    assert {key.split(":")[0] for key in toggl_emulator.counters()["requests_by_credential"]} == {"token", "basic"}
    assert toggl_emulator.issued_sessions(toggl_user["email"]) == []


@pytest.mark.parametrize(
    ("wrong", "refused", "accepted"),
    [("password", "email/password", "api_token"), ("api_token", "api_token", "email/password")],
)
def test_test_connection_names_the_refused_credential(
    toggl_emulator, toggl_user, monkeypatch, wrong: str, refused: str, accepted: str
) -> None:
    bad_value = "pw-Wrong-Guess-4z" if wrong == "password" else "f" * 32
    connection = toggl_connection(toggl_emulator, {**toggl_user, wrong: bad_value})
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    ok, message = TogglHook().test_connection()
    assert ok is False
    assert message == f"Toggl refused the {refused} credentials (403); it accepted the {accepted} credentials"
    assert bad_value not in message


def test_test_connection_of_one_credential(toggl_emulator, toggl_user, monkeypatch) -> None:
    token_only = toggl_connection(toggl_emulator, toggl_user)
    del token_only["login"], token_only["password"]
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(token_only))
    assert TogglHook().test_connection() == (True, "Toggl accepted the api_token credentials")
    assert toggl_emulator.counters()["requests"] == {"GET /api/v9/me/logged": 1}


def test_test_connection_in_session_mode_checks_the_stored_session_too(
    toggl_conn_env, toggl_emulator, toggl_user, variables
) -> None:
    hook = TogglHook(auth_mode="session")
    assert hook.test_connection() == (
        False,
        "Invalid Toggl setting 'session_key': no session is stored under "
        "'toggl_session_secret__toggl_default': create or rotate one first",
    )
    signer = TogglHook()
    session = signer.create_session()
    hook.session_store().save(session, user_id=toggl_user["id"])
    message = "Toggl accepted the api_token, email/password and stored session credentials"
    assert hook.test_connection() == (True, message)
    signer.delete_session(session)
    ok, message = TogglHook(auth_mode="session").test_connection()
    assert (ok, message) == (
        False,
        "Toggl refused the stored session credentials (403); it accepted the api_token and email/password credentials",
    )


def test_test_connection_without_the_stored_session_spends_no_request(
    toggl_conn_env, toggl_emulator, variables
) -> None:
    ok, message = TogglHook(auth_mode="session").test_connection()
    assert ok is False
    assert "session_key" in message
    assert toggl_emulator.counters()["requests"] == {}


def test_missing_credentials_fail_before_any_request(toggl_emulator, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(toggl_connection(toggl_emulator)))
    with pytest.raises(TogglConfigError) as info:
        TogglHook().get_me()
    assert info.value.field == "api_token"
    assert toggl_emulator.counters()["requests"] == {}


def test_is_session_live_uses_the_hooks_own_connection(toggl_conn_env, toggl_emulator) -> None:
    hook = TogglHook()
    session = hook.create_session()
    assert hook.is_session_live(session) is True
    assert hook.delete_session(session) is True
    assert hook.is_session_live(session) is False
    assert toggl_emulator.counters()["connections"] == 1


def test_quotas_before_any_request_look_nothing_up() -> None:
    """Reading the quotas of a hook that sent nothing neither builds a client nor reads the connection."""
    hook = TogglHook(toggl_conn_id="no_such_connection")
    assert hook.quotas == {}
    assert hook.last_quota is None
    assert "_client" not in hook.__dict__
