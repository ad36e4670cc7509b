"""Authentication, the Track endpoints and sessions of the emulated services."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from airflow_toggl.emulator import TogglEmulator

from .helpers import COOKIE, PASSWORD, FakeClock, cookie_from, jwt_parts, with_cookie

ME_FIELDS = {
    "id": int,
    "email": str,
    "fullname": str,
    "timezone": str,
    "default_workspace_id": int,
    "beginning_of_week": int,
    "api_token": str,
    "toggl_accounts_id": str,
    "created_at": str,
    "updated_at": str,
    "at": str,
    "image_url": str,
    "has_password": bool,
    "openid_enabled": bool,
    "intercom_hash": str,
    "oauth_providers": list,
    "authorization_updated_at": str,
}


def basic(name: str, password: str) -> dict[str, str]:
    """An Authorization header for HTTP Basic."""
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


# Track API ------------------------------------------------------------------------------


def test_me_with_api_token(em: TogglEmulator, alice: dict[str, Any], http: requests.Session) -> None:
    response = http.get(f"{em.url}/api/v9/me", auth=(alice["api_token"], "api_token"))
    assert response.status_code == 200
    body = response.json()
    for name, kind in ME_FIELDS.items():
        assert isinstance(body[name], kind), name
    assert "country_id" in body
    assert body["id"] == alice["id"]
    assert body["email"] == "alice@example.com"
    assert body["fullname"] == "Alice Liddell"
    assert body["timezone"] == "Europe/London"
    assert body["api_token"] == alice["api_token"]
    assert body["toggl_accounts_id"] == alice["toggl_accounts_id"]
    assert body["default_workspace_id"] == alice["default_workspace_id"]
    assert re.fullmatch(r"[0-9a-f]{64}", body["intercom_hash"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["at"])
    assert "workspaces" not in body


def test_me_with_email_and_password(em: TogglEmulator, alice: dict[str, Any], http: requests.Session) -> None:
    response = http.get(f"{em.url}/api/v9/me", auth=("alice@example.com", PASSWORD))
    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


def test_email_is_case_insensitive(em: TogglEmulator, alice: dict[str, Any], http: requests.Session) -> None:
    assert http.get(f"{em.url}/api/v9/me", auth=("ALICE@example.com", PASSWORD)).status_code == 200


def test_me_with_related_data(em: TogglEmulator, alice: dict[str, Any], http: requests.Session) -> None:
    response = http.get(
        f"{em.url}/api/v9/me", params={"with_related_data": "true"}, auth=(alice["api_token"], "api_token")
    )
    body = response.json()
    workspace = body["workspaces"][0]
    assert workspace["id"] == alice["default_workspace_id"]
    assert set(workspace) >= {"id", "name", "organization_id"}
    assert sorted(project["name"] for project in body["projects"]) == ["Development", "Operations", "Research"]
    assert {project["workspace_id"] for project in body["projects"]} == {alice["default_workspace_id"]}
    for name in ("clients", "tags", "tasks", "time_entries"):
        assert body[name] == []


def test_default_workspace_can_be_chosen(em: TogglEmulator, http: requests.Session) -> None:
    user = em.add_user("bob@example.com", "pw", default_workspace_id=4242, api_token="ab" * 16)
    assert user["api_token"] == "ab" * 16
    me = http.get(f"{em.url}/api/v9/me", auth=("ab" * 16, "api_token")).json()
    assert me["default_workspace_id"] == 4242


def test_me_logged_is_200_with_empty_body(em: TogglEmulator, alice: dict[str, Any]) -> None:
    response = requests.get(f"{em.url}/api/v9/me/logged", auth=(alice["api_token"], "api_token"), timeout=5)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["Content-Length"] == "0"


def test_reset_token_invalidates_the_old_one(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    old = alice["api_token"]
    response = http.post(f"{em.url}/api/v9/me/reset_token", auth=(old, "api_token"))
    assert response.status_code == 200
    new = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", new)
    assert new != old
    assert http.get(f"{em.url}/api/v9/me", auth=(old, "api_token")).status_code == 403
    assert http.get(f"{em.url}/api/v9/me", auth=(new, "api_token")).json()["api_token"] == new
    assert em.user("alice@example.com")["api_token"] == new  # type: ignore[index]


# Authentication failures ------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(basic("alice@example.com", "wrong"), id="wrong-password"),
        pytest.param(basic("nobody@example.com", PASSWORD), id="unknown-email"),
        pytest.param(basic("0" * 32, "api_token"), id="unknown-token"),
        pytest.param({"Authorization": "Basic !!!not-base64!!!"}, id="malformed-base64"),
        pytest.param({"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, id="no-colon"),
        pytest.param({"Authorization": "Bearer abc"}, id="other-scheme"),
        pytest.param({"Authorization": ""}, id="empty-header"),
        pytest.param(with_cookie("not-a-jwt"), id="garbage-cookie"),
        pytest.param(with_cookie("a.b.c"), id="bad-jwt-segments"),
        pytest.param({}, id="no-credentials"),
    ],
)
def test_every_auth_failure_is_403(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session, headers: dict[str, str]
) -> None:
    response = http.get(f"{em.url}/api/v9/me", headers=headers)
    assert response.status_code == 403
    assert http.get(f"{em.url}/api/v9/me/logged", headers=headers).status_code == 403


def test_cookie_from_another_emulator_is_403(
    em: TogglEmulator,
    alice: dict[str, Any],
    toggl_emulator_factory: Callable[..., TogglEmulator],
    login: Callable[..., str],
    http: requests.Session,
) -> None:
    other = toggl_emulator_factory()
    other.add_user("alice@example.com", PASSWORD)
    foreign = login(other, "alice@example.com")
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(foreign)).status_code == 403


def test_tampered_cookie_is_403(
    em: TogglEmulator, alice: dict[str, Any], login: Callable[..., str], http: requests.Session
) -> None:
    cookie = login(em, "alice@example.com")
    header, claims, signature = cookie.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert (
        http.get(f"{em.url}/api/v9/me", headers=with_cookie(f"{header}.{claims}.{flipped}")).status_code
        == 403
    )


def test_authorization_header_wins_over_cookie(
    em: TogglEmulator, alice: dict[str, Any], login: Callable[..., str], http: requests.Session
) -> None:
    cookie = login(em, "alice@example.com")
    bad = {**with_cookie(cookie), **basic("alice@example.com", "wrong")}
    good = {**with_cookie(cookie), **basic(alice["api_token"], "api_token")}
    assert http.get(f"{em.url}/api/v9/me", headers=bad).status_code == 403
    assert http.get(f"{em.url}/api/v9/me", headers=good).status_code == 200
    assert em.counters()["requests_by_credential"]["token:alice@example.com GET /api/v9/me"] == 1


# Sessions -------------------------------------------------------------------------------


def test_create_session_sets_the_cookie(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    response = http.post(f"{em.url}/api/sessions", json={"email": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert isinstance(response.json(), dict)
    attributes = [part.strip() for part in response.headers["Set-Cookie"].split(";")]
    assert attributes[0].startswith(f"{COOKIE}=")
    assert {"Path=/", "HttpOnly", "Secure", "SameSite=Lax", f"Max-Age={28 * 24 * 3600}"} <= set(attributes)
    expires = next(part for part in attributes if part.startswith("Expires="))
    _, claims = jwt_parts(cookie_from(response))
    assert parsedate_to_datetime(expires.split("=", 1)[1]).timestamp() == claims["exp"]
    cookie = cookie_from(response)
    me = requests.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie), timeout=5)
    assert me.status_code == 200
    assert me.json()["id"] == alice["id"]
    assert em.is_session_live(cookie)


def test_session_jwt_claims(em: TogglEmulator, alice: dict[str, Any], login: Callable[..., str]) -> None:
    cookie = login(em, "alice@example.com")
    assert cookie.startswith("eyJ")
    header, claims = jwt_parts(cookie)
    assert header["alg"] == "EdDSA"
    assert header["typ"] == "JWT"
    assert header["kid"]
    assert claims["aud"] == ["track"]
    assert claims["iss"] == "https://accounts.toggl.com"
    assert re.fullmatch(r"[0-9a-f]{32}", claims["jti"])
    assert claims["sub"] == alice["toggl_accounts_id"]
    assert claims["exp"] - claims["iat"] == 28 * 24 * 3600
    assert claims["nbf"] <= claims["iat"]
    [live] = em.live_sessions("alice@example.com")
    assert live == {
        "jti": claims["jti"],
        "email": "alice@example.com",
        "user_id": alice["id"],
        "expires_at": claims["exp"],
    }


def test_session_ttl_is_configurable(
    toggl_emulator_factory: Callable[..., TogglEmulator], login: Callable[..., str]
) -> None:
    em = toggl_emulator_factory(session_ttl=3600)
    em.add_user("alice@example.com", PASSWORD)
    _, claims = jwt_parts(login(em, "alice@example.com"))
    assert claims["exp"] - claims["iat"] == 3600
    em.configure(session_ttl=120)
    _, claims = jwt_parts(login(em, "alice@example.com"))
    assert claims["exp"] - claims["iat"] == 120


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"email": "alice@example.com", "password": "wrong"}, id="wrong-password"),
        pytest.param({"email": "nobody@example.com", "password": PASSWORD}, id="unknown-email"),
        pytest.param({"email": "alice@example.com"}, id="missing-password"),
        pytest.param({"email": 1, "password": PASSWORD}, id="email-not-a-string"),
    ],
)
def test_create_session_with_wrong_credentials_is_403(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session, body: dict[str, Any]
) -> None:
    response = http.post(f"{em.url}/api/sessions", json=body)
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers
    assert em.live_sessions() == []


def test_an_api_token_cannot_create_a_session(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    response = http.post(f"{em.url}/api/sessions", auth=(alice["api_token"], "api_token"))
    assert response.status_code == 403
    assert em.live_sessions() == []


def test_basic_email_password_can_create_a_session(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session
) -> None:
    response = http.post(f"{em.url}/api/sessions", auth=("alice@example.com", PASSWORD))
    assert response.status_code == 200
    assert em.is_session_live(cookie_from(response))


def test_expired_cookie_is_403(
    toggl_emulator_factory: Callable[..., TogglEmulator],
    clock: FakeClock,
    login: Callable[..., str],
    http: requests.Session,
) -> None:
    em = toggl_emulator_factory(session_ttl=1, clock=clock)
    em.add_user("alice@example.com", PASSWORD)
    cookie = login(em, "alice@example.com")
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie)).status_code == 200
    clock.advance(1.0)
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie)).status_code == 403
    assert not em.is_session_live(cookie)
    assert em.live_sessions() == []


def test_zero_ttl_session_is_born_expired(
    toggl_emulator_factory: Callable[..., TogglEmulator], login: Callable[..., str], http: requests.Session
) -> None:
    em = toggl_emulator_factory(session_ttl=0)
    em.add_user("alice@example.com", PASSWORD)
    cookie = login(em, "alice@example.com")
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie)).status_code == 403


def test_delete_session(
    em: TogglEmulator, alice: dict[str, Any], login: Callable[..., str], http: requests.Session
) -> None:
    first = login(em, "alice@example.com")
    second = login(em, "alice@example.com")
    assert len(em.live_sessions("alice@example.com")) == 2
    response = http.delete(f"{em.url}/api/sessions", headers=with_cookie(first))
    assert response.status_code == 200
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(first)).status_code == 403
    assert http.delete(f"{em.url}/api/sessions", headers=with_cookie(first)).status_code == 403
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(second)).status_code == 200
    assert [s["jti"] for s in em.live_sessions()] == [jwt_parts(second)[1]["jti"]]


@pytest.mark.parametrize(
    "headers", [pytest.param({}, id="no-cookie"), pytest.param(with_cookie("x.y.z"), id="invalid-cookie")]
)
def test_delete_session_without_a_valid_cookie_is_403(
    em: TogglEmulator, alice: dict[str, Any], http: requests.Session, headers: dict[str, str]
) -> None:
    assert http.delete(f"{em.url}/api/sessions", headers=headers).status_code == 403


def test_issue_session_directly(em: TogglEmulator, alice: dict[str, Any], http: requests.Session) -> None:
    cookie = em.issue_session("alice@example.com")
    assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie)).status_code == 200
    with pytest.raises(ValueError, match="no open account"):
        em.issue_session("nobody@example.com")


def test_include_cookies_lists_cookie_values(
    em: TogglEmulator, alice: dict[str, Any], login: Callable[..., str]
) -> None:
    cookie = login(em, "alice@example.com")
    assert "cookie" not in em.live_sessions()[0]
    assert em.live_sessions(include_cookies=True)[0]["cookie"] == cookie


# Cookie styles --------------------------------------------------------------------------


def test_no_eyj_cookies_never_contain_eyj(
    toggl_emulator_factory: Callable[..., TogglEmulator], http: requests.Session
) -> None:
    em = toggl_emulator_factory(cookie_style="no-eyj")
    em.add_user("alice@example.com", PASSWORD)
    for _ in range(40):
        response = http.post(
            f"{em.url}/api/sessions", json={"email": "alice@example.com", "password": PASSWORD}
        )
        assert "eyJ" not in response.headers["Set-Cookie"]
        cookie = cookie_from(response)
        assert "eyJ" not in cookie
        header_segment, claims_segment, _ = cookie.split(".")
        assert header_segment.startswith("eyAi")
        assert claims_segment.startswith("eyAi")
        header, claims = jwt_parts(cookie)
        assert header["alg"] == "EdDSA"
        assert claims["exp"] - claims["iat"] == 28 * 24 * 3600
        assert http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie)).status_code == 200


def test_cookie_style_can_change_at_runtime(
    em: TogglEmulator, alice: dict[str, Any], login: Callable[..., str]
) -> None:
    standard = login(em, "alice@example.com")
    em.configure(cookie_style="no-eyj")
    spaced = login(em, "alice@example.com")
    assert standard.startswith("eyJ")
    assert "eyJ" not in spaced
    assert em.is_session_live(standard)
    assert em.is_session_live(spaced)
