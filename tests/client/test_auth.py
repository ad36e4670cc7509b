"""The three credentials as request headers, exactly as Toggl documents them."""

from __future__ import annotations

import pytest
import requests

from airflow_toggl.client.auth import (
    ApiTokenAuth,
    EmailPasswordAuth,
    NoAuth,
    SessionCookieAuth,
    basic_authorization,
)
from airflow_toggl.exceptions import TogglConfigError


def _prepared(**headers: str) -> requests.PreparedRequest:
    return requests.Request("GET", "https://api.track.toggl.com/api/v9/me", headers=headers).prepare()


def test_basic_header_matches_the_documented_example() -> None:
    assert basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


def test_api_token_uses_the_literal_password_api_token() -> None:
    request = ApiTokenAuth("1971800d4d82861d8f2c1651fea4d212")(_prepared(Cookie="stale=1"))
    assert request.headers["Authorization"] == basic_authorization(
        "1971800d4d82861d8f2c1651fea4d212", "api_token"
    )
    assert "Cookie" not in request.headers


def test_email_password() -> None:
    request = EmailPasswordAuth("ada@example.com", "pw")(_prepared())
    assert request.headers["Authorization"] == basic_authorization("ada@example.com", "pw")


def test_session_cookie_is_sent_without_authorization() -> None:
    request = SessionCookieAuth("abc.def.ghi")(_prepared(Authorization="Basic eA=="))
    assert request.headers["Cookie"] == "__Secure-accounts-session=abc.def.ghi"
    assert "Authorization" not in request.headers


def test_no_auth_strips_credentials() -> None:
    request = NoAuth()(_prepared(Authorization="Basic eA==", Cookie="a=b"))
    assert "Authorization" not in request.headers
    assert "Cookie" not in request.headers


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (lambda: ApiTokenAuth(" "), "api_token"),
        (lambda: EmailPasswordAuth("", "pw"), "login"),
        (lambda: EmailPasswordAuth("a@b.c", ""), "password"),
        (lambda: SessionCookieAuth(""), "session_cookie"),
        (lambda: SessionCookieAuth("a;b"), "session_cookie"),
        (lambda: SessionCookieAuth("a\r\nX-Injected: 1"), "session_cookie"),
    ],
)
def test_bad_credentials_name_the_field(factory, field: str) -> None:
    with pytest.raises(TogglConfigError) as info:
        factory()
    assert info.value.field == field


def test_reprs_and_fingerprints_hide_secrets() -> None:
    secret = "tok-Very-Distinct-91"
    for auth in (ApiTokenAuth(secret), EmailPasswordAuth("a@b.c", secret), SessionCookieAuth(secret)):
        assert secret not in repr(auth)
        assert secret not in auth.fingerprint
        assert secret in auth.secrets()
    assert ApiTokenAuth(secret).fingerprint != ApiTokenAuth(secret + "x").fingerprint
