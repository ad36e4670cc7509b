"""Every seed flow through the client against the emulator, over real sockets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_toggl.client import ApiTokenAuth, EmailPasswordAuth, SessionCookieAuth, TogglClient
from airflow_toggl.exceptions import TogglAPIError, TogglAuthError, TogglConnectionError


def test_me_with_token_and_basic_and_session(make_client, toggl_emulator, toggl_user) -> None:
    basic = make_client(EmailPasswordAuth(toggl_user["email"], toggl_user["password"]))
    session = basic.create_session(toggl_user["email"], toggl_user["password"])
    for auth in (
        ApiTokenAuth(toggl_user["api_token"]),
        EmailPasswordAuth(toggl_user["email"], toggl_user["password"]),
        SessionCookieAuth(session.cookie),
    ):
        me = make_client(auth).get_me()
        assert me["email"] == toggl_user["email"]
        assert me["id"] == toggl_user["id"]
    counts = toggl_emulator.counters()["requests_by_credential"]
    assert any(key.startswith("session:") for key in counts)
    assert any(key.startswith("token:") for key in counts)


def test_me_with_related_data(token_client: TogglClient) -> None:
    me = token_client.get_me(with_related_data=True)
    assert isinstance(me["workspaces"], list)


def test_logged_and_quota(token_client: TogglClient, make_client) -> None:
    assert token_client.is_logged_in() is True
    assert make_client(ApiTokenAuth("f" * 32)).is_logged_in() is False
    quota = token_client.get_quota()
    assert isinstance(quota, list)


def test_wrong_credentials_are_a_typed_403(make_client, toggl_user) -> None:
    client = make_client(EmailPasswordAuth(toggl_user["email"], "wrong-password"))
    with pytest.raises(TogglAuthError) as info:
        client.get_me()
    assert info.value.status_code == 403
    assert info.value.credential == "basic"
    assert "wrong-password" not in str(info.value)


def test_a_refusal_names_the_kind_of_credential(make_client, token_client, toggl_user) -> None:
    session = token_client.create_session(toggl_user["email"], toggl_user["password"])
    token_client.delete_session(session)
    for auth, kind in ((ApiTokenAuth("f" * 32), "api_token"), (SessionCookieAuth(session.cookie), "session")):
        with pytest.raises(TogglAuthError) as info:
            make_client(auth).get_me()
        assert info.value.credential == kind


def test_session_lifecycle(token_client: TogglClient, toggl_emulator, toggl_user) -> None:
    session = token_client.create_session(toggl_user["email"], toggl_user["password"])
    assert session.expires_at is not None
    assert timedelta(days=27) < session.remaining() <= timedelta(days=28)
    assert toggl_emulator.is_session_live(session.cookie)
    assert token_client.get_me(auth=token_client.session_auth(session))["id"] == toggl_user["id"]
    assert token_client.delete_session(session) is True
    assert not toggl_emulator.is_session_live(session.cookie)
    assert token_client.delete_session(session) is False
    with pytest.raises(TogglAuthError):
        token_client.get_me(auth=token_client.session_auth(session))


@pytest.mark.parametrize(
    ("email", "password"), [("ada@example.com", "not-the-password"), ("nobody@example.com", "pw-Distinct-7fQ2")]
)
def test_a_refused_sign_in_names_the_email_or_password_but_neither(
    token_client: TogglClient, toggl_user, email: str, password: str
) -> None:
    """The same message for a wrong password and an unknown email: it never says which, nor shows them."""
    with pytest.raises(TogglAuthError) as info:
        token_client.create_session(email, password)
    message = str(info.value)
    assert message == "Toggl refused the email or password for POST /api/sessions (403)"
    assert info.value.credential == "basic"
    assert email not in repr(info.value)
    assert password not in repr(info.value)


def test_expired_session_is_refused(token_client: TogglClient, toggl_emulator, toggl_user) -> None:
    toggl_emulator.configure(session_ttl=1)
    session = token_client.create_session(toggl_user["email"], toggl_user["password"])
    import time

    time.sleep(1.5)
    with pytest.raises(TogglAuthError):
        token_client.get_me(auth=token_client.session_auth(session))


def test_signup_then_close_account(make_client, toggl_emulator) -> None:
    client = make_client()
    session = client.signup("new@example.com", "pw-New-Account-1", "New User", timezone="Europe/Tallinn")
    assert session is not None
    me = client.get_me(auth=client.session_auth(session))
    assert me["email"] == "new@example.com"
    assert me["timezone"] == "Europe/Tallinn"
    with pytest.raises(TogglAPIError) as info:
        client.signup("new@example.com", "pw-New-Account-1", "Again")
    assert info.value.status_code == 400
    client.close_account(session)
    with pytest.raises(TogglAuthError):
        client.get_me(auth=client.session_auth(session))
    assert toggl_emulator.counters()["requests"]["POST /api/me/close_account/track"] == 1


def test_password_reset_request_and_confirm(make_client, toggl_emulator, toggl_user) -> None:
    client = make_client()
    client.request_password_reset(toggl_user["email"])
    client.request_password_reset("nobody@example.com")  # no account enumeration: also succeeds
    (code,) = toggl_emulator.outbox(toggl_user["email"])
    session = client.confirm_password_reset(code, "pw-Brand-New-2")
    assert client.get_me(auth=client.session_auth(session))["id"] == toggl_user["id"]
    assert make_client(EmailPasswordAuth(toggl_user["email"], "pw-Brand-New-2")).is_logged_in()
    assert not make_client(EmailPasswordAuth(toggl_user["email"], toggl_user["password"])).is_logged_in()
    with pytest.raises(TogglAPIError) as info:
        client.confirm_password_reset(code, "pw-Third-3")
    assert info.value.status_code == 400
    assert code not in str(info.value)
    assert "pw-Third-3" not in str(info.value)


def test_reset_api_token_switches_the_client_to_the_new_token(token_client, make_client, toggl_user) -> None:
    new_token = token_client.reset_api_token()
    assert new_token != toggl_user["api_token"]
    assert token_client.get_me()["api_token"] == new_token
    assert make_client(ApiTokenAuth(toggl_user["api_token"])).is_logged_in() is False


def test_one_tcp_connection_is_reused(token_client: TogglClient, toggl_emulator) -> None:
    toggl_emulator.reset_counters()
    for _ in range(3):
        token_client.is_logged_in()
    assert toggl_emulator.counters()["connections"] == 1


def test_every_request_has_the_timeout(make_client, toggl_emulator, toggl_user) -> None:
    client = make_client(ApiTokenAuth(toggl_user["api_token"]), timeout=0.3, max_retries=1)
    toggl_emulator.inject_fault("/api/v9/me/logged", action="delay", delay=1.5, count=2)
    with pytest.raises(TogglConnectionError) as info:
        client.is_logged_in()
    assert info.value.reason == "timeout"
    assert toggl_emulator.counters()["requests"]["GET /api/v9/me/logged"] == 2


def test_secrets_received_are_reported(make_client, toggl_user) -> None:
    seen: list[str] = []
    client = make_client(ApiTokenAuth(toggl_user["api_token"]), on_secret=seen.append)
    me = client.get_me()
    session = client.create_session(toggl_user["email"], toggl_user["password"])
    assert me["intercom_hash"] in seen
    assert session.cookie in seen
    assert toggl_user["password"] in seen
