"""The Toggl sessions page in the real Airflow UI, under a URL prefix, driven by headless chromium.

One API server (simple auth manager with an admin and a viewer, ``[api] base_url`` ending in
``/airflow``) serves every check. Before it starts, a DAG rotates four connections' sessions
against the emulator with ``airflow dags test`` into different states: fresh, expiring (sessions
shorter than the threshold), failed (wrong password) and stale pending (the old session's DELETE
fails); a fifth connection has no session. The checks:

* the navigation has a Toggl entry; the page shows each connection's state, its rotation run with a
  link under the prefix, its quota; loading it sends no request to Toggl;
* "check now" sends exactly one ``/me/logged`` and says so;
* an anonymous browser and a viewer (no permission on connections) are refused, page and API;
* no answer of the plugin carries a password, API token, session cookie or ``intercom_hash``.

The screenshot of the page goes to ``docs/img/sessions-page.png``.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_toggl.emulator.server import TogglEmulator
from devkit.airflow import toggl_connection
from devkit.airflow_cluster import AirflowCluster, find_leaks
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS, browser_or_skip, screenshot_on_failure

pytestmark = [pytest.mark.e2e, pytest.mark.airflow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "img" / "sessions-page.png"
DAG_FILE = Path(__file__).parent / "ui_dags" / "toggl_ui_rotation.py"
DAG_ID = "toggl_ui_rotation"
PREFIX = "/airflow"
SESSION_TTL = 2 * 24 * 3600
USERS = {"admin": "admin-Pw-4d1f", "viewer": "viewer-Pw-8e2a"}
EXPECTED_STATES = {
    "toggl_fresh": "healthy",
    "toggl_expiring": "expiring",
    "toggl_failing": "rotation_failing",
    "toggl_stale": "stale_pending",
    "toggl_token": "no_session",
}


def _account(emulator: TogglEmulator, name: str) -> dict[str, Any]:
    return emulator.add_user(f"{name}@example.com", f"pw-{name}-Q7x", api_token=f"{name:0<8}".ljust(32, "7"))


@pytest.fixture(scope="module")
def emulator() -> Iterator[TogglEmulator]:
    """One emulator for the module: sessions last two days, the user quota is 30 per hour."""
    server = TogglEmulator(session_ttl=SESSION_TTL, quota_limit=30, quota_window=3600).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def accounts(emulator: TogglEmulator) -> dict[str, dict[str, Any]]:
    return {name: _account(emulator, name) for name in ("fresh", "expiring", "failing", "stale", "token")}


def _connections(emulator: TogglEmulator, accounts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    connections = {}
    for name, user in accounts.items():
        connection = toggl_connection(emulator, user)
        if name == "failing":
            connection["password"] = "not-the-password-Z1"
        if name == "token":
            del connection["login"], connection["password"]
        connections[f"toggl_{name}"] = connection
    return connections


def _stale_store(emulator: TogglEmulator, user: dict[str, Any]) -> str:
    """A store holding a session with an hour left (so the rotation replaces it)."""
    emulator.configure(session_ttl=3600)
    cookie = emulator.issue_session(user["email"])
    emulator.configure(session_ttl=SESSION_TTL)
    created = datetime.now(timezone.utc) - timedelta(days=2)
    return json.dumps(
        {
            "version": 1,
            "session_token": cookie,
            "expires_at": None,
            "user_id": user["id"],
            "created_at": created.isoformat(),
        }
    )


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, emulator: TogglEmulator, accounts: dict[str, dict[str, Any]]
) -> Iterator[AirflowCluster]:
    """Rotations run (``airflow dags test``), then the API server starts under ``/airflow``."""
    home = tmp_path_factory.mktemp("sessions-page") / "home"
    passwords = home.parent / "passwords.json"
    passwords.write_text(json.dumps(USERS))
    env = {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
    }
    secrets = {f"{name} password": user["password"] for name, user in accounts.items()}
    secrets.update({f"{name} token": user["api_token"] for name, user in accounts.items()})
    with AirflowCluster(home, dag_files=[DAG_FILE], env=env, redact_in_reports=secrets) as cluster:
        # Every URL of this deployment, the API server's own health check included, is under PREFIX.
        cluster.api_url += PREFIX
        cluster.env["AIRFLOW__API__BASE_URL"] = cluster.api_url
        cluster.env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"{cluster.api_url}/execution/"
        cluster.migrate()
        files = home.parent
        (files / "connections.json").write_text(json.dumps(_connections(emulator, accounts)))
        cluster.airflow("connections", "import", str(files / "connections.json"))
        (files / "variables.json").write_text(
            json.dumps({"toggl_session_secret__toggl_stale": _stale_store(emulator, accounts["stale"])})
        )
        cluster.airflow("variables", "import", str(files / "variables.json"))
        emulator.inject_fault("/api/sessions", method="DELETE", status=500, count=None)
        cluster.airflow("dags", "test", DAG_ID, check=False, timeout=300)
        emulator.clear_faults()
        cluster.airflow("dags", "unpause", DAG_ID)
        cluster.start(["api-server"])
        yield cluster


def _token(cluster: AirflowCluster, user: str) -> str:
    request = urllib.request.Request(
        f"{cluster.api_url}/auth/token",
        data=json.dumps({"username": user, "password": USERS[user]}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["access_token"])


def _call(url: str, *, token: str | None = None, method: str = "GET", body: Any = None) -> tuple[int, str]:
    """Status and text of one request (errors included), with a bearer token when given."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _context(browser: Any, cluster: AirflowCluster, user: str | None) -> Any:
    """A browser context, signed in as ``user`` (the JWT in Airflow's ``_token`` cookie) unless None."""
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    if user is not None:
        context.add_cookies(
            [{"name": "_token", "value": _token(cluster, user), "url": f"{cluster.api_url}/"}]
        )
    return context


def _plugin_url(cluster: AirflowCluster, path: str = "") -> str:
    return f"{cluster.api_url}/toggl/{path}"


def test_the_page_shows_every_state_inside_the_airflow_ui(
    deployment: AirflowCluster, browser: Any, emulator: TogglEmulator
) -> None:
    before = emulator.counters()["requests"]
    context = _context(browser, deployment, "admin")
    page = context.new_page()
    with closing(context), screenshot_on_failure(page, "sessions-page-failure.png"):
        page.goto(f"{deployment.api_url}/")
        page.get_by_role("link", name="Toggl").click()
        page.wait_for_url("**/plugin/toggl**")
        frame = page.frame_locator("iframe[title=Toggl]")
        frame.locator("body[data-loaded=true]").wait_for()
        rows = frame.locator("tbody tr")
        states = {
            rows.nth(i).get_attribute("data-conn"): rows.nth(i).get_attribute("data-state")
            for i in range(rows.count())
        }
        assert states == EXPECTED_STATES
        stale = frame.locator('tr[data-conn="toggl_stale"]')
        assert "1 stale awaiting deletion" in stale.inner_text()
        failing = frame.locator('tr[data-conn="toggl_failing"]')
        assert "failed" in failing.inner_text()
        link = failing.get_by_role("link", name="run ↗")
        assert link.evaluate("a => new URL(a.href).pathname").startswith(f"{PREFIX}/dags/{DAG_ID}/runs/")
        fresh = frame.locator('tr[data-conn="toggl_fresh"]').inner_text()
        assert "fresh@example.com" in fresh
        assert "user: " in fresh
        assert "left" in fresh
        assert "from the cookie's exp: a hint" in fresh
        assert emulator.counters()["requests"] == before, "reading the page sent a request to Toggl"
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))


def test_check_now_sends_one_me_logged_and_says_so(
    deployment: AirflowCluster, browser: Any, emulator: TogglEmulator
) -> None:
    context = _context(browser, deployment, "admin")
    page = context.new_page()
    with closing(context), screenshot_on_failure(page, "sessions-page-check-failure.png"):
        page.goto(_plugin_url(deployment))
        page.locator("body[data-loaded=true]").wait_for()
        before = emulator.counters()["requests"]
        row = page.locator('tr[data-conn="toggl_fresh"]')
        row.get_by_role("button", name="Check now").click()
        result = page.locator('tr[data-conn="toggl_fresh"] .check-result.ok')
        result.wait_for()
        text = result.inner_text()
        assert "Toggl accepted the stored session" in text
        assert "counts against the user's hourly quota" in text
        assert _sent_since(before, emulator.counters()["requests"]) == {"GET /api/v9/me/logged": 1}


def _sent_since(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: count - before.get(key, 0) for key, count in after.items() if count != before.get(key, 0)}


def _intercom_hash(emulator: TogglEmulator, user: dict[str, Any]) -> str:
    """The ``intercom_hash`` ``/me`` answers for the user (asked of the emulator directly)."""
    credentials = base64.b64encode(f"{user['api_token']}:api_token".encode()).decode()
    request = urllib.request.Request(
        f"{emulator.url}/api/v9/me", headers={"Authorization": f"Basic {credentials}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["intercom_hash"])


def test_anonymous_and_viewer_are_refused(deployment: AirflowCluster, browser: Any) -> None:
    for user, status in ((None, 401), ("viewer", 403)):
        context = _context(browser, deployment, user)
        try:
            answer = context.new_page().goto(_plugin_url(deployment))
            assert answer is not None
            assert answer.status == status, user
        finally:
            context.close()
    viewer = _token(deployment, "viewer")
    for token, status in ((None, 401), (viewer, 403)):
        assert _call(_plugin_url(deployment, "api/sessions"), token=token)[0] == status
        assert _call(_plugin_url(deployment, "api/sessions/toggl_fresh"), token=token)[0] == status
        check = _call(
            _plugin_url(deployment, "api/sessions/toggl_fresh/check"), token=token, method="POST", body={}
        )
        assert check[0] == status


def test_no_answer_carries_a_secret(
    deployment: AirflowCluster, emulator: TogglEmulator, accounts: dict[str, dict[str, Any]]
) -> None:
    admin = _token(deployment, "admin")
    answers = []
    for path, method, body in [
        ("", "GET", None),
        ("api/sessions", "GET", None),
        *((f"api/sessions/{conn_id}", "GET", None) for conn_id in EXPECTED_STATES),
        *((f"api/sessions/{conn_id}/check", "POST", {}) for conn_id in EXPECTED_STATES),
    ]:
        status, text = _call(_plugin_url(deployment, path), token=admin, method=method, body=body)
        assert status == 200, (path, status, text)
        answers.append((f"{method} {path}", text))
    listing = json.loads(answers[1][1])
    assert {row["conn_id"]: row["state"] for row in listing["connections"]} == EXPECTED_STATES
    secrets = {}
    for name, user in accounts.items():
        secrets[f"{name} password"] = user["password"]
        secrets[f"{name} api token"] = user["api_token"]
        secrets[f"{name} intercom_hash"] = _intercom_hash(emulator, user)
    for index, session in enumerate(emulator.issued_sessions()):
        secrets[f"session cookie {index}"] = session["cookie"]
    assert len(secrets) > 10
    assert find_leaks(answers, secrets) == []
