"""Session cookies: JWT claims read without verification, Set-Cookie parsing, hidden reprs."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from airflow_toggl.client.session import TogglSession, parse_jwt_claims, session_from_set_cookie

# The seed document's example cookie: exp 1701038035, iat 1698618835 (exactly 28 days apart).
SEED_COOKIE = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6IjIwMjMtMDctMjUiLCJ0eXAiOiJKV1QifQ."
    "eyJhdWQiOlsidHJhY2siXSwiZXhwIjoxNzAxMDM4MDM1LCJpYXQiOjE2OTg2MTg4MzUsImlzcyI6Imh0dHBzOi8vYWNjb3VudHMudG9nZ2wuY29tIiwianRpIjoiZDkyYTQ2NGI3ZTY4MjQ4ZjA1YzY1NmE2ZWQzMTMxNGUiLCJuYmYiOjE2OTg2MTg1MzUsInN1YiI6ImE4WmtoMkh2YlB1azR4TXBXUXBnclcifQo."
    "MXtwBQx37PLm8t0rRlNbIkoe2n_xJFxmFWxV2RU0ii8c0fA0GYmzT2EK6FqSy1AcSN6ZyLM5McoSUvKl8nwmCA"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_seed_cookie_claims() -> None:
    claims = parse_jwt_claims(SEED_COOKIE)
    assert claims is not None
    assert claims["exp"] - claims["iat"] == 28 * 24 * 3600
    session = TogglSession.from_cookie(SEED_COOKIE)
    assert session.expires_at == datetime.fromtimestamp(1701038035, tz=timezone.utc)
    assert session.subject == "a8Zkh2HvbPuk4xMpWQpgrW"


def test_set_cookie_header_from_the_seed() -> None:
    header = f"__Secure-accounts-session={SEED_COOKIE}; Path=/; HttpOnly; Secure; SameSite=Lax"
    session = session_from_set_cookie(["other=1; Path=/", header])
    assert session is not None
    assert session.cookie == SEED_COOKIE


@pytest.mark.parametrize(
    "headers",
    [[], ["other=1"], ["__Secure-accounts-session=; Path=/"], ["garbage"], ["__Secure-accounts-session"]],
)
def test_set_cookie_without_a_session(headers: list[str]) -> None:
    assert session_from_set_cookie(headers) is None


@pytest.mark.parametrize(
    "cookie",
    [
        "opaque-session-value",
        "a.b.c",
        "a..c",
        _b64(b'{"alg":"none"}') + "." + _b64(b"[1,2]") + ".sig",
        _b64(b"{}") + "." + _b64(b'{"exp":"tomorrow"}') + ".sig",
        _b64(b"{}") + "." + _b64(b'{"exp":1e400}') + ".sig",
        _b64(b"{}") + "." + _b64(b'{"exp":true}') + ".sig",
    ],
)
def test_cookies_that_are_not_usable_jwts_have_unknown_expiry(cookie: str) -> None:
    session = TogglSession.from_cookie(cookie)
    assert session.expires_at is None
    assert session.remaining() is None


def test_remaining_and_hidden_repr() -> None:
    exp = datetime(2030, 1, 1, tzinfo=timezone.utc)
    payload = _b64(json.dumps({"exp": int(exp.timestamp()), "sub": "u1"}).encode())
    cookie = f"{_b64(b'{}')}.{payload}.c2lnbmF0dXJlLXNlY3JldA"
    session = TogglSession.from_cookie(cookie)
    assert session.remaining(now=exp - timedelta(days=3)) == timedelta(days=3)
    for text in (repr(session), str(session), f"{session}", repr([session])):
        assert cookie not in text
        assert "c2lnbmF0dXJlLXNlY3JldA" not in text
