"""Connection fields and extras are validated before any request, with errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_toggl.exceptions import TogglConfigError
from airflow_toggl.hooks.toggl import TogglHook, settings_from_connection

SECRET = "pw-Zq81-distinctive"


def settings(login: str | None = None, password: str | None = None, **extras: Any):
    return settings_from_connection("toggl_x", login=login, password=password, extras=extras)


def test_token_wins_when_no_mode_is_set() -> None:
    s = settings("me@example.com", SECRET, api_token="tok")
    assert s.auth_mode == "api_token"
    assert s.session_key == "toggl_session_secret__toggl_x"


def test_email_password_when_no_token() -> None:
    assert settings("me@example.com", SECRET).auth_mode == "basic"


def test_prefixed_extras_and_string_numbers_from_uri_form() -> None:
    s = settings(
        extra__toggl__api_token="tok",
        timeout="2.5",
        max_retries="3",
        requests_per_second="0",
        verify="false",
        track_api_url="http://127.0.0.1:8080/",
    )
    assert s.config.timeout == 2.5
    assert s.config.max_retries == 3
    assert s.config.requests_per_second == 0
    assert s.config.verify is False
    assert s.config.track_api_url == "http://127.0.0.1:8080"


def test_empty_form_fields_count_as_unset() -> None:
    s = settings("me@example.com", SECRET, api_token="", auth_mode="", timeout=None, session_key=" ")
    assert s.auth_mode == "basic"
    assert s.config.timeout == 30


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "api_token"),
        ({"api_token": "   "}, "api_token"),
        ({"login": "me@example.com"}, "password"),
        ({"password": SECRET}, "login"),
        ({"api_token": "t", "auth_mode": "oauth"}, "auth_mode"),
        ({"auth_mode": "api_token", "login": "me@example.com", "password": SECRET}, "api_token"),
        ({"auth_mode": "basic", "api_token": "t"}, "login"),
        ({"auth_mode": "basic", "api_token": "t", "login": "me@example.com"}, "password"),
        ({"api_token": "t", "timeout": "-1"}, "timeout"),
        ({"api_token": "t", "timeout": "0"}, "timeout"),
        ({"api_token": "t", "timeout": "soon"}, "timeout"),
        ({"api_token": "t", "timeout": True}, "timeout"),
        ({"api_token": "t", "timeout": "nan"}, "timeout"),
        ({"api_token": "t", "max_retries": "-2"}, "max_retries"),
        ({"api_token": "t", "max_retries": "2.5"}, "max_retries"),
        ({"api_token": "t", "requests_per_second": "-1"}, "requests_per_second"),
        ({"api_token": "t", "requests_per_second": "fast"}, "requests_per_second"),
        ({"api_token": "t", "max_quota_wait": "-1"}, "max_quota_wait"),
        ({"api_token": "t", "verify": "/no/such/bundle.pem"}, "verify"),
        ({"api_token": "t", "track_api_url": "http://api.track.toggl.com"}, "track_api_url"),
        ({"api_token": "t", "track_api_url": "ftp://127.0.0.1"}, "track_api_url"),
        ({"api_token": "t", "track_api_url": "not a url"}, "track_api_url"),
        ({"api_token": "t", "accounts_api_url": "https://host:99999"}, "accounts_api_url"),
        ({"api_token": "t", "accounts_api_url": "https://user:pw@host"}, "accounts_api_url"),
        ({"api_token": "t", "accounts_api_url": "https://"}, "accounts_api_url"),
        ({"api_token": "t", "session_key": 5}, "session_key"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    login = kwargs.pop("login", None)
    password = kwargs.pop("password", None)
    with pytest.raises(TogglConfigError) as info:
        settings(login, password, **kwargs)
    assert info.value.field == field
    assert field in str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "url", ["http://localhost:1", "http://127.0.0.1:5", "http://[::1]:7", "https://x.example"]
)
def test_allowed_urls(url: str) -> None:
    assert settings(api_token="t", track_api_url=url).config.track_api_url == url


def test_hook_rejects_unknown_auth_mode_without_reading_the_connection() -> None:
    with pytest.raises(TogglConfigError) as info:
        TogglHook("does_not_exist", auth_mode="kerberos")
    assert info.value.field == "auth_mode"


def test_hook_repr_and_settings_repr_hide_secrets() -> None:
    s = settings("me@example.com", SECRET, api_token="tok-Secret-123")
    assert SECRET not in repr(s)
    assert "tok-Secret-123" not in repr(s)
    hook = TogglHook("toggl_x", session_cookie="cookie-Secret-456")
    assert "cookie-Secret-456" not in repr(hook)


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("tracks_api_url", "track_api_url"),
        ("extra__toggl__timout", "timeout"),
        ("apitoken", "api_token"),
        ("max_retry", "max_retries"),
        ("verify_ssl", "verify"),
    ],
)
def test_unknown_extra_is_an_error_suggesting_the_closest_name(key: str, suggestion: str) -> None:
    with pytest.raises(TogglConfigError) as info:
        settings(api_token="t", **{key: "https://example.com"})
    assert info.value.field == key
    assert f"did you mean {suggestion!r}" in str(info.value)
    assert "https://example.com" not in str(info.value)


def test_unknown_extra_without_a_close_name_lists_the_known_ones() -> None:
    with pytest.raises(TogglConfigError) as info:
        settings(api_token="t", colour="blue")
    assert info.value.field == "colour"
    assert "track_api_url" in str(info.value)


def test_airflow_own_extras_are_not_settings_but_are_accepted() -> None:
    from airflow_toggl.hooks.toggl import AIRFLOW_EXTRAS

    assert settings(api_token="t", **dict.fromkeys(AIRFLOW_EXTRAS, "x")).auth_mode == "api_token"


def test_the_form_and_the_parser_share_one_list_of_extras() -> None:
    from airflow_toggl import CONNECTION_EXTRAS as KNOWN_EXTRAS
    from airflow_toggl import get_provider_info

    form = get_provider_info()["connection-types"][0]["conn-fields"]
    assert tuple(form) == KNOWN_EXTRAS
    for name in KNOWN_EXTRAS:  # every listed extra is read: a value of the wrong type is refused
        with pytest.raises(TogglConfigError) as info:
            settings("me@example.com", SECRET, **{"api_token": "t", name: [1]})
        assert info.value.field == name
