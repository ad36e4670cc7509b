"""Set-Cookie headers: any text is survived, and a well-formed session cookie is read exactly."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from airflow_toggl.client.auth import SESSION_COOKIE_NAME
from airflow_toggl.client.session import TogglSession, session_from_set_cookie
from tests.support.strategies import fuzz

# RFC 6265 section 4.1.1: cookie-octet, token (cookie-name) and extension-av characters.
COOKIE_OCTETS = "".join(
    chr(c) for c in [0x21, *range(0x23, 0x2C), *range(0x2D, 0x3B), *range(0x3C, 0x5C), *range(0x5D, 0x7F)]
)
TOKEN_CHARS = "".join(ch for ch in map(chr, range(0x21, 0x7F)) if ch not in '()<>@,;:\\"/[]?={} \t')
EXTENSION_AV_CHARS = "".join(ch for ch in map(chr, range(0x20, 0x7F)) if ch != ";")

cookie_values = st.text(alphabet=COOKIE_OCTETS, min_size=1, max_size=80)
other_names = st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=20).filter(
    lambda name: name != SESSION_COOKIE_NAME
)

past_dates = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2000, 12, 31), timezones=st.just(timezone.utc)
).map(lambda when: format_datetime(when, usegmt=True))
future_dates = st.datetimes(
    min_value=datetime(2100, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(timezone.utc)
).map(lambda when: format_datetime(when, usegmt=True))


def _not_an_expiry(text: str) -> bool:
    return not text.strip().lower().startswith(("max-age", "expires"))


# Attributes that keep a cookie (a positive Max-Age, an Expires in the future, anything else).
attributes = st.one_of(
    st.sampled_from(
        ["Secure", "HttpOnly", "Partitioned", "SameSite=Lax", "SameSite=Strict", "SameSite=None"]
    ),
    st.builds("Path=/{}".format, st.text(alphabet=COOKIE_OCTETS, max_size=15)),
    st.builds("Domain={}".format, st.from_regex(r"\.?[a-z0-9-]{1,12}(\.[a-z]{2,6}){1,2}", fullmatch=True)),
    st.builds("Max-Age={}".format, st.integers(min_value=1, max_value=10**12)),
    st.builds("Expires={}".format, future_dates),
    st.builds("Priority={}".format, st.sampled_from(["Low", "Medium", "High"])),
    # Any other extension attribute RFC 6265 allows: printable text without ';' ...
    st.text(alphabet=EXTENSION_AV_CHARS, min_size=1, max_size=30).filter(_not_an_expiry),
    # ... including ones shaped like a session cookie, which stay attributes of the header's cookie.
    st.builds("{}={}".format, st.just(SESSION_COOKIE_NAME), st.text(alphabet=COOKIE_OCTETS, max_size=10)),
)
# Attributes that delete it at once (RFC 6265 section 5.3: Max-Age <= 0, or an Expires in the past).
expiring = st.one_of(
    st.builds("Max-Age={}".format, st.integers(min_value=-(10**9), max_value=0)),
    st.builds("Expires={}".format, past_dates),
)


def quoted(value: str, quote: bool) -> str:
    return f'"{value}"' if quote else value


@st.composite
def set_cookie_headers(draw: st.DrawFn, name: st.SearchStrategy[str], value: str | None = None) -> str:
    """One well-formed Set-Cookie value: name=value, then random attributes in random order."""
    cookie_value = value if value is not None else draw(cookie_values)
    pair = f"{draw(name)}={quoted(cookie_value, draw(st.booleans()))}"
    return "; ".join([pair, *draw(st.lists(attributes, max_size=6))])


deletions = st.builds(
    "{}=; {}".format,
    st.just(SESSION_COOKIE_NAME),
    st.sampled_from(["Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT", "Path=/"]),
)


@fuzz(400)
@given(st.lists(st.text(max_size=200), max_size=6))
def test_arbitrary_text_never_raises(headers: list[str]) -> None:
    session = session_from_set_cookie(headers)
    assert session is None or (isinstance(session, TogglSession) and session.cookie)


@fuzz(300)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=120),
            st.builds("{}={}".format, st.just(SESSION_COOKIE_NAME), st.text(max_size=80)),
            st.builds("{}{}".format, st.text(max_size=80), st.just(SESSION_COOKIE_NAME)),
        ),
        max_size=5,
    )
)
def test_text_around_the_cookie_name_never_raises(headers: list[str]) -> None:
    session = session_from_set_cookie(headers)
    assert session is None or (isinstance(session, TogglSession) and session.cookie)


@fuzz(400)
@given(
    value=cookie_values,
    data=st.data(),
    earlier=st.lists(st.one_of(deletions, set_cookie_headers(st.just(SESSION_COOKIE_NAME))), max_size=4),
    others=st.lists(set_cookie_headers(other_names), max_size=12),
    position=st.integers(min_value=0),
)
def test_the_last_session_cookie_is_read_exactly(
    value: str, data: st.DataObject, earlier: list[str], others: list[str], position: int
) -> None:
    """Whatever session cookies (or deletions) came before, the last one set is the session."""
    header = data.draw(set_cookie_headers(st.just(SESSION_COOKIE_NAME), value))
    headers = list(others)
    headers.insert(position % (len(others) + 1), header)
    session = session_from_set_cookie([*earlier, *headers])
    assert session is not None
    assert session.cookie == value


@fuzz(300)
@given(
    value=cookie_values,
    earlier=st.lists(set_cookie_headers(st.just(SESSION_COOKIE_NAME)), max_size=4),
    expiry=expiring,
    keep=st.lists(attributes, max_size=4),
    others=st.lists(set_cookie_headers(other_names), max_size=4),
)
def test_a_session_cookie_deleted_last_leaves_no_session(
    value: str, earlier: list[str], expiry: str, keep: list[str], others: list[str]
) -> None:
    """Max-Age <= 0 or a past Expires deletes; an earlier live cookie of the name does not survive it."""
    keep = [attribute for attribute in keep if not attribute.lower().startswith("max-age")]
    deleting = "; ".join([f"{SESSION_COOKIE_NAME}={value}", *keep, expiry])
    assert session_from_set_cookie([*earlier, deleting, *others]) is None


@fuzz(200)
@given(
    value=cookie_values,
    noise=st.lists(st.text(max_size=80), max_size=6),
    position=st.integers(min_value=0),
    quote=st.booleans(),
)
def test_session_cookie_among_arbitrary_headers(
    value: str, noise: list[str], position: int, quote: bool
) -> None:
    assume(not any(SESSION_COOKIE_NAME in text for text in noise))
    headers = list(noise)
    headers.insert(position % (len(noise) + 1), f"{SESSION_COOKIE_NAME}={quoted(value, quote)}; Path=/")
    session = session_from_set_cookie(headers)
    assert session is not None
    assert session.cookie == value


@fuzz(200)
@given(st.lists(set_cookie_headers(other_names), max_size=6))
@example(["a=1; __Secure-accounts-session=evil"])
@example(["a=1; Path=/; __Secure-accounts-session=evil; Secure"])
def test_other_cookies_never_give_a_session(headers: list[str]) -> None:
    assert session_from_set_cookie(headers) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["a=1; __Secure-accounts-session=evil", f"{SESSION_COOKIE_NAME}=good; Path=/"], "good"),
        ([f"{SESSION_COOKIE_NAME}=good; {SESSION_COOKIE_NAME}=evil"], "good"),
        ([f'{SESSION_COOKIE_NAME}="good"; Partitioned; Comment="x'], "good"),
        ([f"{SESSION_COOKIE_NAME} = good ; Path=/"], "good"),
    ],
)
def test_only_the_first_pair_of_a_header_is_its_cookie(headers: list[str], expected: str) -> None:
    session = session_from_set_cookie(headers)
    assert session is not None
    assert session.cookie == expected


@fuzz(200)
@given(value=cookie_values, other=cookie_values)
def test_session_repr_never_depends_on_the_cookie(value: str, other: str) -> None:
    session = session_from_set_cookie([f"{SESSION_COOKIE_NAME}={value}; Secure; HttpOnly"])
    assert session is not None
    twin = dataclasses.replace(session, cookie=other)
    assert repr(session) == repr(twin)
    assert str(session) == str(twin)
