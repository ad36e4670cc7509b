"""JWT session cookies: claims are read without verification and never raise; reprs hide the cookie."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from airflow_toggl.client.session import TogglSession, parse_jwt_claims
from tests.support.strategies import b64url, fuzz, json_equal, json_values, jwt_of

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# datetime's own range, as seconds from the epoch.
MIN_SANE_EXP = int((datetime(1, 1, 2, tzinfo=timezone.utc) - EPOCH).total_seconds())
MAX_SANE_EXP = int((datetime(9999, 12, 30, tzinfo=timezone.utc) - EPOCH).total_seconds())

B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
b64url_segments = st.text(alphabet=B64URL_ALPHABET + "=+/", max_size=200)

exp_values = st.one_of(
    st.integers(min_value=MIN_SANE_EXP, max_value=MAX_SANE_EXP),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**400),
    st.integers(min_value=-(10**400), max_value=-(10**20)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1701038035", "1e999"]),
    json_values,
)

claims_dicts = st.dictionaries(
    st.sampled_from(["aud", "iat", "iss", "jti", "nbf", "sub", "exp"]) | st.text(max_size=8),
    json_values,
    max_size=8,
)


def _assert_session_is_sane(session: TogglSession, cookie: str) -> None:
    assert session.cookie == cookie
    assert session.subject is None or (isinstance(session.subject, str) and session.subject)
    if session.expires_at is not None:
        assert session.expires_at.tzinfo is not None
        assert session.expires_at.utcoffset() == timedelta(0)
    twin = dataclasses.replace(session, cookie=cookie + "-other")
    assert repr(session) == repr(twin)
    assert str(session) == str(twin)


@fuzz(500)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(token: str) -> None:
    claims = parse_jwt_claims(token)
    assert claims is None or isinstance(claims, dict)
    _assert_session_is_sane(TogglSession.from_cookie(token), token)


@fuzz(400)
@given(st.lists(b64url_segments, min_size=1, max_size=5))
def test_random_base64url_segments_never_raise(segments: list[str]) -> None:
    token = ".".join(segments)
    claims = parse_jwt_claims(token)
    assert claims is None or isinstance(claims, dict)
    _assert_session_is_sane(TogglSession.from_cookie(token), token)


@fuzz(300)
@given(st.lists(st.binary(max_size=120), min_size=3, max_size=3))
def test_random_binary_payloads_never_raise(parts: list[bytes]) -> None:
    token = ".".join(b64url(part) for part in parts)
    claims = parse_jwt_claims(token)
    assert claims is None or isinstance(claims, dict)
    _assert_session_is_sane(TogglSession.from_cookie(token), token)


@fuzz(300)
@given(json_values, st.booleans())
def test_json_payloads_of_any_shape(payload: Any, ensure_ascii: bool) -> None:
    token = jwt_of(payload, ensure_ascii=ensure_ascii)
    claims = parse_jwt_claims(token)
    if isinstance(payload, dict):
        assert claims is not None
        assert json_equal(claims, json.loads(json.dumps(payload)))
    else:
        assert claims is None
    _assert_session_is_sane(TogglSession.from_cookie(token), token)


@fuzz(400)
@given(claims=claims_dicts, exp=exp_values, ensure_ascii=st.booleans())
def test_exp_of_any_type(claims: dict[str, Any], exp: Any, ensure_ascii: bool) -> None:
    claims = {**claims, "exp": exp}
    token = jwt_of(claims, ensure_ascii=ensure_ascii)
    session = TogglSession.from_cookie(token)
    _assert_session_is_sane(session, token)
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        assert session.expires_at is None
    elif isinstance(exp, int) and MIN_SANE_EXP <= exp <= MAX_SANE_EXP:
        assert session.expires_at == EPOCH + timedelta(seconds=exp)
    elif isinstance(exp, float) and math.isfinite(exp) and MIN_SANE_EXP <= exp <= MAX_SANE_EXP:
        assert session.expires_at is not None
        assert abs((session.expires_at - EPOCH).total_seconds() - exp) <= 1e-3 * max(1.0, abs(exp) / 1e9)
    elif isinstance(exp, float) and not math.isfinite(exp):
        assert session.expires_at is None


@fuzz(200)
@given(
    exp=st.integers(min_value=MIN_SANE_EXP, max_value=MAX_SANE_EXP),
    sub=st.text(max_size=30),
    padding=st.sampled_from(["", "=", "==", "==="]),
)
def test_sane_exp_and_subject_round_trip(exp: int, sub: str, padding: str) -> None:
    header, payload, signature = jwt_of({"exp": exp, "sub": sub, "iat": exp - 28 * 86400}).split(".")
    token = f"{header}.{payload}{padding if (len(payload) + len(padding)) % 4 == 0 else ''}.{signature}"
    session = TogglSession.from_cookie(token)
    assert session.expires_at == EPOCH + timedelta(seconds=exp)
    assert session.subject == (sub or None)
    assert token not in repr(session)
    assert token not in str(session)


@fuzz(100)
@given(st.integers(min_value=1, max_value=20_000), st.sampled_from(["[", "{", '{"a":']))
def test_deeply_nested_payloads_never_raise(depth: int, opener: str) -> None:
    token = f"e30.{b64url((opener * depth).encode())}.c2ln"
    assert parse_jwt_claims(token) is None
    assert TogglSession.from_cookie(token).expires_at is None
