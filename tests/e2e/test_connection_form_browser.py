"""The ``toggl`` connection form in the real Airflow UI, driven by headless Chromium.

An API server runs in a fresh AIRFLOW_HOME; Chromium opens Add Connection, picks Toggl Track, checks
the labelled fields and the masked token, and saves a connection to the local emulator. The stored
extras must hold what was typed and nothing else (no defaults). A screenshot of the filled form is
kept in ``test-artifacts/``. ``scripts/install_browser`` installs Debian's ``chromium``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_toggl import CONNECTION_EXTRAS as KNOWN_EXTRAS
from devkit.airflow_cluster import AirflowCluster
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS, browser_or_skip

pytestmark = [pytest.mark.e2e, pytest.mark.airflow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
STANDARD_LABELS = ["Email", "Password"]
EXTRA_LABELS = [
    "API token",
    "Auth mode",
    "Track API URL",
    "Accounts API URL",
    "Timeout (seconds)",
    "Max retries",
    "Max quota wait (seconds)",
    "Requests per second",
    "Verify TLS",
    "Session store key",
]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowCluster]:
    """An Airflow API server (the UI) on a free loopback port, with connection tests enabled."""
    home = tmp_path_factory.mktemp("ui") / "home"
    with AirflowCluster(home, env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}) as cluster:
        cluster.migrate()
        cluster.start(["api-server"])
        yield cluster


@pytest.fixture
def page(api_server: AirflowCluster) -> Iterator[Any]:
    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1800})
        try:
            yield page
        except BaseException:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "connection-form-failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def _stored_connection(cluster: AirflowCluster, conn_id: str) -> dict[str, Any]:
    result = cluster.airflow("connections", "get", conn_id, "--output", "json")
    (connection,) = json.loads(result.stdout)
    return connection


def _save_screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_add_a_toggl_connection_in_the_ui(
    api_server: AirflowCluster, page: Any, toggl_emulator: Any, toggl_user: dict[str, Any]
) -> None:
    try:
        _fill_and_save_the_form(page, api_server.api_url, toggl_emulator.url, toggl_user)
        before = dict(toggl_emulator.counters()["requests"])
        sent, status = _press_the_rows_test_button(page, "toggl_ui")
    except BaseException:
        _save_screenshot(page, "connection-form-failure.png")
        raise
    # What the README says of the Test button on Airflow 3.3.2: the form sends port 0 for a
    # connection without one, and Airflow refuses the test before the provider runs.
    assert sent["port"] == 0
    assert status == 400
    assert toggl_emulator.counters()["requests"] == before

    stored = _stored_connection(api_server, "toggl_ui")
    assert stored["conn_type"] == "toggl"
    assert stored["login"] == toggl_user["email"]
    extras = stored["extra_dejson"]
    assert set(extras) <= set(KNOWN_EXTRAS)
    assert {name: value for name, value in extras.items() if value is not None} == {
        "api_token": toggl_user["api_token"],
        "track_api_url": toggl_emulator.url,
        "accounts_api_url": toggl_emulator.url,
    }
    checked = api_server.airflow("connections", "test", "toggl_ui")
    assert "Connection success!" in checked.stdout, checked.stdout
    # The REST call the README gives for Airflow versions whose Test button sends port 0.
    answer = _rest_test(api_server.api_url, {"connection_id": "toggl_ui", "conn_type": "toggl"})
    assert answer == {
        "status": True,
        "message": "Toggl accepted the api_token and email/password credentials",
    }
    assert toggl_emulator.counters()["requests"], "the tests did not reach the emulator"


def _press_the_rows_test_button(page: Any, conn_id: str) -> tuple[dict[str, Any], int]:
    """Click the row's Test button; the request body the UI sent and the answer's status."""
    row = page.get_by_role("row").filter(has_text=conn_id)
    with page.expect_response(lambda response: response.url.endswith("/api/v2/connections/test")) as info:
        row.get_by_role("button", name="Test Connection").click()
    response = info.value
    return response.request.post_data_json, response.status


def _rest_test(api_url: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /api/v2/connections/test`` with a token from the simple auth manager."""
    with urllib.request.urlopen(f"{api_url}/auth/token", timeout=30) as response:
        token = json.load(response)["access_token"]
    request = urllib.request.Request(
        f"{api_url}/api/v2/connections/test",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def _fill_and_save_the_form(page: Any, api_url: str, emulator_url: str, user: dict[str, Any]) -> None:
    page.goto(f"{api_url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Connection ID").fill("toggl_ui")
    dialog.get_by_role("combobox").first.fill("Toggl")
    dialog.get_by_role("option", name="Toggl Track").click()

    # Standard fields: email and password only (host, port and schema are hidden).
    for label in STANDARD_LABELS:
        assert dialog.get_by_text(label, exact=True).is_visible(), label
    for hidden in ("Host", "Port", "Schema"):
        assert dialog.get_by_text(hidden, exact=True).count() == 0, hidden
    dialog.get_by_label("Email").fill(user["email"])
    dialog.get_by_label("Password", exact=True).fill(user["password"])

    # Extra fields: labelled, empty (no defaults), described, the token masked.
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    token_input = dialog.locator("input[name=element_api_token]")
    token_input.wait_for()
    for label in EXTRA_LABELS:
        assert dialog.get_by_text(label, exact=True).first.is_visible(), label
    text = dialog.inner_text()
    assert "null" not in text
    assert "Automatic" in text
    for default in ("Empty: 30.", "Empty: 5.", "Empty: 300.", "Empty: 1.", "Empty: true."):
        assert default in text, default
    for name in ("timeout", "max_retries", "track_api_url", "verify", "session_key"):
        assert dialog.locator(f"input[name=element_{name}]").input_value() == "", name
    assert token_input.get_attribute("type") == "password"
    token_input.fill(user["api_token"])
    dialog.locator("input[name=element_track_api_url]").fill(emulator_url)
    dialog.locator("input[name=element_accounts_api_url]").fill(emulator_url)
    assert token_input.get_attribute("type") == "password"
    assert user["api_token"] not in dialog.inner_text()
    _save_screenshot(page, "connection-form.png")

    dialog.get_by_role("button", name="Save").click()
    page.get_by_text("toggl_ui", exact=True).wait_for()
