"""The HTTP control API under /_emulator/, as another process would drive it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
import requests

from airflow_toggl.emulator import TogglEmulator
from airflow_toggl.emulator.control import Controller
from airflow_toggl.emulator.faults import make_fault
from airflow_toggl.emulator.state import EmulatorState

from .helpers import PASSWORD


@pytest.fixture
def control(em: TogglEmulator) -> Callable[..., requests.Response]:
    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{em.url}/_emulator/{path}", timeout=5, **kwargs)

    return call


def test_health(control: Callable[..., requests.Response]) -> None:
    assert control("GET", "health").json() == {"status": "ok"}


def test_users(em: TogglEmulator, control: Callable[..., requests.Response]) -> None:
    response = control(
        "POST", "users", json={"email": "dan@example.com", "password": PASSWORD, "fullname": "Dan"}
    )
    assert response.status_code == 201
    record = response.json()
    assert record["fullname"] == "Dan"
    me = requests.get(f"{em.url}/api/v9/me", auth=(record["api_token"], "api_token"), timeout=5)
    assert me.json()["id"] == record["id"]
    assert control("GET", "users", params={"email": "dan@example.com"}).json()["id"] == record["id"]
    assert control("GET", "users", params={"email": "nobody@example.com"}).status_code == 404
    assert control("POST", "users", json={"email": "dan@example.com", "password": "x"}).status_code == 400
    assert control("POST", "users", json={"email": "eve@example.com"}).status_code == 400
    assert (
        control("POST", "users", json={"email": "eve@example.com", "password": "x", "x": 1}).status_code
        == 400
    )


def test_faults(em: TogglEmulator, alice: dict[str, Any], control: Callable[..., requests.Response]) -> None:
    auth = (alice["api_token"], "api_token")
    response = control("POST", "faults", json={"path": "/api/v9/me", "status": 503, "count": 2})
    assert response.status_code == 201
    assert response.json()["count"] == 2
    assert requests.get(f"{em.url}/api/v9/me", auth=auth, timeout=5).status_code == 503
    assert control("DELETE", "faults").status_code == 200
    assert requests.get(f"{em.url}/api/v9/me", auth=auth, timeout=5).status_code == 200
    control("POST", "faults", json={"path": "/api/v9/me", "action": "drop"})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{em.url}/api/v9/me", auth=auth, timeout=5)
    assert control("POST", "faults", json={"path": "/api/v9/me", "action": "nope"}).status_code == 400
    assert control("POST", "faults", json={"status": 500}).status_code == 400


def test_faults_never_touch_the_control_api(
    em: TogglEmulator, control: Callable[..., requests.Response]
) -> None:
    em.inject_fault("/_emulator/health", action="drop", count=None)
    assert control("GET", "health").status_code == 200


def test_counters_and_reset(
    em: TogglEmulator, alice: dict[str, Any], control: Callable[..., requests.Response]
) -> None:
    requests.get(f"{em.url}/api/v9/me", auth=(alice["api_token"], "api_token"), timeout=5)
    assert control("GET", "counters").json()["requests"] == {"GET /api/v9/me": 1}
    assert control("POST", "counters/reset").status_code == 200
    assert control("GET", "counters").json()["requests"] == {}


def test_sessions_outbox_and_quota(
    em: TogglEmulator,
    alice: dict[str, Any],
    login: Callable[..., str],
    control: Callable[..., requests.Response],
) -> None:
    cookie = login(em, "alice@example.com")
    [session] = control("GET", "sessions").json()
    assert session["email"] == "alice@example.com"
    assert "cookie" not in session
    assert control("GET", "sessions", params={"email": "bob@example.com"}).json() == []
    assert control("GET", "sessions", params={"include_cookies": "true"}).json()[0]["cookie"] == cookie
    requests.delete(f"{em.url}/api/sessions", cookies={"__Secure-accounts-session": cookie}, timeout=5)
    assert control("GET", "sessions").json() == []
    [issued] = control("GET", "sessions", params={"issued": "true", "email": "alice@example.com"}).json()
    assert (issued["cookie"], issued["deleted"], issued["live"]) == (cookie, True, False)
    requests.post(f"{em.url}/api/me/password_reset/request", json={"email": "alice@example.com"}, timeout=5)
    assert control("GET", "outbox", params={"email": "alice@example.com"}).json() == em.outbox(
        "alice@example.com"
    )
    assert control("GET", "outbox").status_code == 400
    assert control("GET", "quota", params={"email": "alice@example.com"}).json()["remaining"] is None
    assert control("GET", "quota", params={"email": "nobody@example.com"}).status_code == 404
    assert control("GET", "quotas", params={"email": "alice@example.com"}).json() == em.quotas(
        "alice@example.com"
    )
    assert control("GET", "quotas", params={"email": "nobody@example.com"}).status_code == 404


def test_config(em: TogglEmulator, alice: dict[str, Any], control: Callable[..., requests.Response]) -> None:
    response = control("POST", "config", json={"quota_limit": 2, "session_ttl": 60})
    assert response.status_code == 200
    assert response.json()["quota_limit"] == 2
    assert control("GET", "config").json()["session_ttl"] == 60
    me = requests.get(f"{em.url}/api/v9/me", auth=(alice["api_token"], "api_token"), timeout=5)
    assert me.headers["X-Toggl-Quota-Remaining"] == "1"
    strict = control("POST", "config", json={"rate_limit_strict": True, "rate_limit_key": "credential"})
    assert strict.status_code == 200
    assert (strict.json()["rate_limit_strict"], strict.json()["rate_limit_key"]) == (True, "credential")
    assert control("POST", "config", json={"rate_limit_rps": 3}).status_code == 400
    assert control("POST", "config", json={"rate_limit_key": "ip"}).status_code == 400
    assert control("POST", "config", json={"quota_limit": -5}).status_code == 400
    assert control("POST", "config", json={"clock": 1}).status_code == 400
    assert control("POST", "config", data=b"[1]").status_code == 400


def test_unknown_control_paths_and_methods(control: Callable[..., requests.Response]) -> None:
    assert control("GET", "nothing").status_code == 404
    assert control("DELETE", "health").status_code == 405


def test_the_emulator_is_its_controller_plus_a_server() -> None:
    controls = {name for name in vars(Controller) if not name.startswith("_")}
    assert all(getattr(TogglEmulator, name) is getattr(Controller, name) for name in controls)
    server_only = {name for name in vars(TogglEmulator) if not name.startswith("_")}
    assert server_only == {"start", "stop", "running", "port", "url", "ca_bundle"}


def test_http_bodies_take_exactly_the_python_parameters(
    em: TogglEmulator, control: Callable[..., requests.Response]
) -> None:
    user = {"email": "ada@example.com", "password": PASSWORD, "api_token": "a" * 32, "fullname": "Ada"}
    user |= {"timezone": "Europe/London", "default_workspace_id": 42}
    assert set(user) == set(inspect.signature(EmulatorState.add_user).parameters) - {"self"}
    assert control("POST", "users", json=user).json()["default_workspace_id"] == 42
    assert "colour" in control("POST", "users", json={**user, "colour": "red"}).json()["message"]
    fault = {"path": "/api/v9/me", "method": "GET", "count": 2, "action": "status", "status": 500}
    fault |= {"headers": {"X-A": "1"}, "body": {"a": 1}, "delay": 0, "process": False}
    assert set(fault) == set(inspect.signature(make_fault).parameters)
    assert control("POST", "faults", json=fault).json()["count"] == 2
    assert control("POST", "faults", json={**fault, "colour": 1}).status_code == 400
    assert requests.get(f"{em.url}/api/v9/me", timeout=5).status_code == 500
