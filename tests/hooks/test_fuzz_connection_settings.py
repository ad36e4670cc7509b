"""Connection fields and extras: any input gives valid settings or a TogglConfigError naming a field.

No error text (message, repr or formatted traceback) ever carries the password or the API token.
The same holds for connections written as URIs and parsed by Airflow's own Connection class.
"""

from __future__ import annotations

import json
import math
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, urlencode

import pytest
from airflow.sdk import Connection
from hypothesis import given
from hypothesis import strategies as st

from airflow_toggl import CONNECTION_EXTRAS as KNOWN_EXTRAS
from airflow_toggl.client.config import (
    MAX_BACKOFF_CAP,
    MAX_QUOTA_WAIT,
    MAX_REQUESTS_PER_SECOND,
    MAX_RETRIES,
    MAX_TIMEOUT,
    MIN_REQUESTS_PER_SECOND,
    ClientConfig,
)
from airflow_toggl.exceptions import TogglConfigError
from airflow_toggl.hooks.toggl import (
    AIRFLOW_EXTRAS,
    AUTH_MODES,
    ConnectionSettings,
    settings_from_connection,
)
from airflow_toggl.sessions.store import SESSION_KEY_PREFIX
from tests.support.strategies import encodable_text, fuzz, json_values, secrets

CONN_ID = "toggl_fuzz"
PREFIX = "extra__toggl__"
KNOWN_FIELDS = frozenset({"login", "password", "extra", *KNOWN_EXTRAS})
URL_EXTRAS = ("track_api_url", "accounts_api_url")
NUMBER_EXTRAS = ("timeout", "max_retries", "max_quota_wait", "requests_per_second")
EXISTING_PATH = str(Path(__file__).resolve())

junk = st.one_of(
    json_values,
    st.integers(min_value=10**300, max_value=10**400),
    st.integers(min_value=-(10**400), max_value=-(10**300)),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0]),
)
blank = st.sampled_from(["", " ", "\t\n"])
padding = st.sampled_from(["", " ", "\t"])

good_urls = st.sampled_from(
    ["https://api.track.toggl.com", "https://accounts.toggl.com/", "http://localhost:8080", "http://127.0.0.1:9",
     "http://[::1]:8000/", "https://toggl.internal.example/prefix"]
)  # fmt: skip
bad_urls = st.sampled_from(
    ["http://api.track.toggl.com", "ftp://x", "https://user:pw@h", "https://h/?q=1", "https://h/#f", "http://[::1",
     "https://h:99999", "https://", "/relative", "localhost", "https://h:port"]
)  # fmt: skip
numeric_text = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e400", "-0", "3.0", "3.5", " 7 ", "0x10", "1_0", "nan", "inf", "\u0663"]),
)
numbers = st.one_of(
    st.integers(min_value=-5, max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    numeric_text,
    st.booleans(),
)
verify_values = st.one_of(
    st.booleans(),
    st.sampled_from(
        ["true", "False", " yes ", "NO", "1", "0", "on", "off", "maybe", EXISTING_PATH, "/no/such/ca.pem"]
    ),
    st.text(max_size=12),
)
mode_values = st.one_of(
    st.sampled_from(AUTH_MODES),
    st.builds("{}{}{}".format, padding, st.sampled_from(AUTH_MODES), padding),
    st.text(max_size=10),
)


def extra_value(name: str, token: str) -> st.SearchStrategy[Any]:
    """Values for one known extra: mostly plausible, sometimes blank or of the wrong type."""
    if name == "api_token":
        plausible: st.SearchStrategy[Any] = st.builds("{}{}{}".format, padding, st.just(token), padding)
    elif name == "auth_mode":
        plausible = mode_values
    elif name in URL_EXTRAS:
        plausible = st.one_of(good_urls, bad_urls, st.text(max_size=20))
    elif name in NUMBER_EXTRAS:
        plausible = numbers
    elif name == "verify":
        plausible = verify_values
    else:
        plausible = st.text(max_size=20)
    return st.one_of(plausible, plausible, blank, st.none(), junk)


@st.composite
def extras_maps(draw: st.DrawFn, token: str) -> dict[Any, Any]:
    """An extras mapping: known extras under their plain or prefixed names, plus unknown keys."""
    extras: dict[Any, Any] = {}
    for name in draw(st.lists(st.sampled_from(KNOWN_EXTRAS), unique=True, max_size=len(KNOWN_EXTRAS))):
        key = draw(st.sampled_from([name, PREFIX + name]))
        extras[key] = draw(extra_value(name, token))
        if draw(st.integers(0, 4)) == 0:  # sometimes both spellings, with different values
            extras[PREFIX + name if key == name else name] = draw(extra_value(name, token))
    extras.update(draw(st.dictionaries(st.text(max_size=10), junk, max_size=3)))
    return extras


logins = st.one_of(
    st.none(),
    blank,
    st.from_regex(r"[a-z0-9.+_-]{1,12}@[a-z0-9-]{1,10}\.[a-z]{2,4}", fullmatch=True),
    st.text(max_size=20),
)


def unknown_keys(extras: Any) -> set[str]:
    """The keys of ``extras`` that are not settings (nor Airflow's own), as the error would name them."""
    if not isinstance(extras, Mapping):
        return set()
    return {
        str(key)
        for key in extras
        if str(key).removeprefix(PREFIX) not in KNOWN_EXTRAS and key not in AIRFLOW_EXTRAS
    }


def known_field_error(error: TogglConfigError, *secret_values: str, unknown: set[str] = frozenset()) -> None:
    if unknown:
        assert error.field in unknown, error.field
    else:
        assert error.field in KNOWN_FIELDS, error.field
    texts = [str(error), repr(error), error.message, "".join(traceback.format_exception(error))]
    for secret in secret_values:
        for text in texts:
            assert secret not in text


def check_settings(settings: ConnectionSettings) -> None:
    assert isinstance(settings, ConnectionSettings)
    assert settings.conn_id == CONN_ID
    assert settings.auth_mode in AUTH_MODES
    assert settings.email is None or (
        isinstance(settings.email, str) and settings.email == settings.email.strip()
    )
    assert settings.password is None or isinstance(settings.password, str)
    assert settings.api_token is None or isinstance(settings.api_token, str)
    assert isinstance(settings.session_key, str)
    assert settings.session_key
    assert isinstance(settings.config, ClientConfig)
    if settings.auth_mode == "api_token":
        assert settings.api_token
    if settings.auth_mode == "basic":
        assert settings.email
        assert settings.password
    for name, bound in (
        ("timeout", MAX_TIMEOUT),
        ("max_quota_wait", MAX_QUOTA_WAIT),
        ("requests_per_second", MAX_REQUESTS_PER_SECOND),
        ("backoff_cap", MAX_BACKOFF_CAP),
    ):
        value = getattr(settings.config, name)
        assert isinstance(value, float)
        assert math.isfinite(value)
        assert 0 <= value <= bound
    assert (
        settings.config.requests_per_second == 0
        or settings.config.requests_per_second >= MIN_REQUESTS_PER_SECOND
    )
    assert isinstance(settings.config.max_retries, int)
    assert 0 <= settings.config.max_retries <= MAX_RETRIES


def settings_or_error(
    login: Any, password: Any, extras: Any, auth_mode: Any, *secret_values: str
) -> ConnectionSettings | None:
    """Run the parser; assert it either returned sane settings or raised a clean TogglConfigError."""
    try:
        settings = settings_from_connection(
            CONN_ID, login=login, password=password, extras=extras, auth_mode=auth_mode
        )
    except TogglConfigError as error:
        known_field_error(error, *secret_values, unknown=unknown_keys(extras))
        return None
    assert not unknown_keys(extras), "an unknown extra was accepted"
    check_settings(settings)
    for secret in secret_values:
        assert secret not in repr(settings)
    return settings


# -- settings_from_connection called directly ----------------------------------------------------


@fuzz(600)
@given(
    data=st.data(),
    password=secrets(),
    token=secrets(),
    login=logins,
    password_kind=st.sampled_from(["secret", "none", "blank", "junk"]),
    auth_mode=st.one_of(st.none(), mode_values, junk),
)
def test_any_connection_gives_settings_or_a_config_error(
    data: st.DataObject, password: str, token: str, login: Any, password_kind: str, auth_mode: Any
) -> None:
    extras = data.draw(extras_maps(token))
    chosen: Any = {"secret": password, "none": None, "blank": "", "junk": data.draw(junk)}[password_kind]
    settings = settings_or_error(login, chosen, extras, auth_mode, password, token)
    if settings is not None and settings.api_token is not None and isinstance(extras, Mapping):
        assert settings.api_token == token.strip()


@pytest.mark.parametrize("name", ["timeout", "max_retries", "max_quota_wait", "requests_per_second"])
@pytest.mark.parametrize("prefixed", [False, True])
@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_integers_too_large_for_a_float_are_config_errors(name: str, prefixed: bool, value: int) -> None:
    extras = {"api_token": "BCDFGHJKMNPQRST", (PREFIX + name if prefixed else name): value}
    with pytest.raises(TogglConfigError) as raised:
        settings_from_connection(CONN_ID, login=None, password=None, extras=extras)
    assert raised.value.field == name


@pytest.mark.parametrize("password", [12345, 1.5, True, ["pw"], {"pw": "x"}, b"pw-bytes"])
def test_a_password_that_is_not_text_is_a_config_error(password: Any) -> None:
    with pytest.raises(TogglConfigError) as raised:
        settings_from_connection(CONN_ID, login="me@example.com", password=password, extras={})
    assert raised.value.field == "password"


@fuzz(200)
@given(
    extras=st.one_of(json_values, st.lists(st.tuples(st.text(max_size=5), junk), max_size=3)), token=secrets()
)
def test_extras_that_are_not_a_mapping(extras: Any, token: str) -> None:
    settings_or_error("a@b.cd", token, extras, None, token)


@fuzz(300)
@given(
    token=secrets(),
    password=secrets(),
    mode=st.sampled_from(AUTH_MODES),
    prefixed=st.booleans(),
    track=good_urls,
    timeout=st.floats(min_value=0.001, max_value=MAX_TIMEOUT),
    retries=st.integers(min_value=0, max_value=MAX_RETRIES),
    quota_wait=st.integers(min_value=0, max_value=int(MAX_QUOTA_WAIT)),
    rate=st.one_of(st.just(0.0), st.floats(min_value=MIN_REQUESTS_PER_SECOND, max_value=100)),
    as_text=st.booleans(),
)
def test_valid_values_round_trip(
    token: str,
    password: str,
    mode: str,
    prefixed: bool,
    track: str,
    timeout: float,
    retries: int,
    quota_wait: int,
    rate: float,
    as_text: bool,
) -> None:
    def text(value: Any) -> Any:
        return repr(value) if as_text else value

    values = {
        "api_token": token,
        "auth_mode": mode,
        "track_api_url": track,
        "timeout": text(timeout),
        "max_retries": text(retries),
        "max_quota_wait": text(quota_wait),
        "requests_per_second": text(rate),
        "verify": "false",
    }
    extras = {(PREFIX + name if prefixed else name): value for name, value in values.items()}
    settings = settings_from_connection(CONN_ID, login=" me@example.com ", password=password, extras=extras)
    check_settings(settings)
    assert settings.auth_mode == mode
    assert (settings.email, settings.password, settings.api_token) == (
        "me@example.com",
        password,
        token.strip(),
    )
    assert settings.session_key == SESSION_KEY_PREFIX + CONN_ID
    assert settings.config.track_api_url == track.rstrip("/")
    assert settings.config.timeout == timeout
    assert settings.config.max_retries == retries
    assert settings.config.max_quota_wait == quota_wait
    assert settings.config.requests_per_second == rate
    assert settings.config.verify is False


# -- connections written as URIs, parsed by Airflow ----------------------------------------------


def parse_uri(login: str, password: str, query: str) -> tuple[Connection, Any]:
    """Airflow's reading of a ``toggl://`` URI: the connection and its ``extra_dejson``."""
    uri = f"toggl://{quote(login, safe='')}:{quote(password, safe='')}@/?{query}"
    conn = Connection.from_uri(uri, conn_id=CONN_ID)
    assert conn.conn_type == "toggl"
    assert (conn.login or "") == login
    assert (conn.password or "") == password
    # extra_dejson registers the extras with the process-wide secrets masker; keep generated junk
    # out of it, or other tests' log lines could come out masked.
    with mock.patch("airflow.sdk.log.mask_secret"):
        extras = conn.extra_dejson
    return conn, extras


@st.composite
def query_extras(draw: st.DrawFn, token: str) -> dict[str, str]:
    """Extras as a URI query carries them: every value is text."""
    extras: dict[str, str] = {}
    for name in draw(st.lists(st.sampled_from(KNOWN_EXTRAS), unique=True, max_size=len(KNOWN_EXTRAS))):
        key = draw(st.sampled_from([name, PREFIX + name]))
        value = draw(extra_value(name, token).filter(lambda v: isinstance(v, str)))
        extras[key] = value
    extras.update(
        draw(
            st.dictionaries(
                st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8).filter(
                    lambda k: k != "__extra__"
                ),
                encodable_text,
                max_size=3,
            )
        )
    )
    return extras


@fuzz(250)
@given(
    login=st.one_of(st.just(""), st.from_regex(r"[a-z0-9.+_-]{1,12}@[a-z0-9-]{1,10}\.[a-z]{2,4}", fullmatch=True), encodable_text),
    password=st.one_of(secrets(), st.just("")),
    token=secrets(),
    data=st.data(),
)  # fmt: skip
def test_uri_query_extras(login: str, password: str, token: str, data: st.DataObject) -> None:
    extras = data.draw(query_extras(token))
    conn, parsed = parse_uri(login, password, urlencode(extras))
    assert parsed == extras
    secret_values = [token] + ([password] if password else [])
    settings = settings_or_error(conn.login, conn.password, parsed, None, *secret_values)
    if settings is not None and settings.auth_mode == "basic":
        assert settings.password == password


@fuzz(250)
@given(
    login=st.one_of(st.just("me@example.com"), encodable_text),
    password=secrets(),
    token=secrets(),
    data=st.data(),
)
def test_uri_json_extra(login: str, password: str, token: str, data: st.DataObject) -> None:
    extras = data.draw(extras_maps(token).map(lambda m: {str(k): v for k, v in m.items()}))
    conn, parsed = parse_uri(login, password, urlencode({"__extra__": json.dumps(extras)}))
    settings_or_error(conn.login, conn.password, parsed, None, password, token)


@fuzz(100)
@given(password=secrets(), token=secrets(), extra=json_values)
def test_uri_json_extra_of_any_shape(password: str, token: str, extra: Any) -> None:
    conn, parsed = parse_uri(
        "me@example.com", password, urlencode({"__extra__": json.dumps(extra), "api_token": token})
    )
    settings_or_error(conn.login, conn.password, parsed, None, password, token)
