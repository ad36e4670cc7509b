"""The page's JSON API in-process: Airflow's own auth manager decides, answers carry no secret.

The app runs on Airflow's simple auth manager (an admin and a viewer) and the test session's
metadata database, with one ``toggl`` connection pointing at the emulator and a session stored
for it. The browser test (``tests/e2e/test_sessions_page_browser.py``) does the same through a real
API server; this one is quick.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.airflow import toggl_connection

pytestmark = pytest.mark.timeout(120)

CONN_ID = "toggl_page"
STORE_KEY = f"toggl_session_secret__{CONN_ID}"


@pytest.fixture
def deployment(airflow_db: Path, toggl_emulator: Any, toggl_user: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The connection and its stored session in the metadata database; the auth manager's users."""
    from airflow.models import Connection, Variable
    from airflow.utils.session import create_session

    cookie = toggl_emulator.issue_session(toggl_user["email"])
    store = {"version": 1, "session_token": cookie, "expires_at": None, "user_id": toggl_user["id"]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,viewer:viewer")
        with create_session() as session:
            session.add(
                Connection(conn_id=CONN_ID, uri=None, **_connection_fields(toggl_emulator, toggl_user))
            )
        Variable.set(STORE_KEY, json.dumps(store))
        try:
            yield {"cookie": cookie}
        finally:
            Variable.delete(STORE_KEY)
            Variable.delete(f"toggl_status__{CONN_ID}")
            with create_session() as session:
                session.query(Connection).filter(Connection.conn_id == CONN_ID).delete()


def _connection_fields(emulator: Any, user: dict[str, Any]) -> dict[str, Any]:
    connection = toggl_connection(emulator, user)
    return {
        "conn_type": "toggl",
        "login": connection["login"],
        "password": connection["password"],
        "extra": json.dumps(connection["extra"]),
    }


@pytest.fixture
def client(deployment: dict[str, Any]) -> Iterator[Any]:
    from airflow.api_fastapi.app import init_auth_manager, purge_cached_app
    from fastapi.testclient import TestClient

    from airflow_toggl.ui.app import create_app

    init_auth_manager()
    try:
        with TestClient(create_app()) as test_client:
            yield test_client
    finally:
        purge_cached_app()


def _token(role: str) -> str:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return str(get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=role, role=role)))


def _headers(role: str | None, **more: str) -> dict[str, str]:
    return {**({"Authorization": f"Bearer {_token(role)}"} if role else {}), **more}


def test_anonymous_is_refused_everywhere_and_a_viewer_too(client: Any) -> None:
    for role, status in ((None, 401), ("viewer", 403)):
        assert client.get("/", headers=_headers(role)).status_code == status
        assert client.get("/api/sessions", headers=_headers(role)).status_code == status
        assert client.get(f"/api/sessions/{CONN_ID}", headers=_headers(role)).status_code == status
        check = client.post(f"/api/sessions/{CONN_ID}/check", headers=_headers(role), json={})
        assert check.status_code == status


def test_the_cookie_signs_in_as_the_ui_does(client: Any) -> None:
    client.cookies.set("_token", _token("admin"))
    try:
        assert client.get("/api/sessions").status_code == 200
    finally:
        client.cookies.clear()


def test_the_listing_reads_the_stores_without_asking_toggl(client: Any, toggl_emulator: Any) -> None:
    before = toggl_emulator.counters()["requests"]
    answer = client.get("/api/sessions", headers=_headers("admin"))
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    rows = {row["conn_id"]: row for row in answer.json()["connections"]}
    row = rows[CONN_ID]
    assert row["session"]["stored"] is True
    assert row["session"]["key"] == STORE_KEY
    assert row["can_check"] is True
    assert toggl_emulator.counters()["requests"] == before
    page = client.get("/", headers=_headers("admin"))
    assert "fetch(url, init)" in page.text
    assert 'href="/' not in page.text
    assert 'src="/' not in page.text


def test_check_now_wants_json_and_sends_one_me_logged(client: Any, toggl_emulator: Any) -> None:
    form = client.post(f"/api/sessions/{CONN_ID}/check", headers=_headers("admin"), data={"a": "b"})
    assert form.status_code == 415
    before = dict(toggl_emulator.counters()["requests"])
    answer = client.post(f"/api/sessions/{CONN_ID}/check", headers=_headers("admin"), json={})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["ok"], body["sent"], body["request"]) == (True, True, "GET /api/v9/me/logged")
    after = toggl_emulator.counters()["requests"]
    assert {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)} == {
        "GET /api/v9/me/logged": 1
    }
    assert body["row"]["last_check"]["ok"] is True
    assert body["row"]["last_check"]["by"] == "admin"


def test_no_answer_carries_a_secret(
    client: Any, deployment: dict[str, Any], toggl_user: dict[str, Any]
) -> None:
    admin = _headers("admin")
    texts = [
        client.get("/", headers=admin).text,
        client.get("/api/sessions", headers=admin).text,
        client.get(f"/api/sessions/{CONN_ID}", headers=admin).text,
        client.post(f"/api/sessions/{CONN_ID}/check", headers=admin, json={}).text,
    ]
    for secret in (toggl_user["password"], toggl_user["api_token"], deployment["cookie"]):
        assert not any(secret in text for text in texts)


def test_check_now_sends_one_request_even_when_toggl_fails(client: Any, toggl_emulator: Any) -> None:
    toggl_emulator.inject_fault("/api/v9/me/logged", status=503, count=None)
    try:
        before = dict(toggl_emulator.counters()["requests"])
        answer = client.post(f"/api/sessions/{CONN_ID}/check", headers=_headers("admin"), json={})
        after = toggl_emulator.counters()["requests"]
    finally:
        toggl_emulator.clear_faults()
    assert answer.status_code == 200
    assert (answer.json()["ok"], answer.json()["sent"]) == (False, True)
    assert after["GET /api/v9/me/logged"] - before.get("GET /api/v9/me/logged", 0) == 1


def test_check_now_with_invalid_settings_sends_nothing(
    deployment: dict[str, Any], toggl_emulator: Any
) -> None:
    from airflow_toggl.ui.check import check_stored_session
    from airflow_toggl.ui.sources import ConnectionSnapshot

    connection = ConnectionSnapshot(CONN_ID, login=None, password=None, extra_dejson={"no_such_extra": 1})
    before = dict(toggl_emulator.counters()["requests"])
    result = check_stored_session(connection, STORE_KEY)
    assert (result["ok"], result["sent"], result["quota"]) == (False, False, None)
    assert "no_such_extra" in result["message"]
    assert toggl_emulator.counters()["requests"] == before


def test_only_the_page_answers_a_refusal_in_html(client: Any) -> None:
    page = client.get("/")
    assert (page.status_code, page.headers["content-type"].split(";")[0]) == (401, "text/html")
    for path in ("/api/sessions", "/api/sessions/toggl"):  # a connection may be named like the mount
        answer = client.get(path)
        assert (answer.status_code, answer.headers["content-type"]) == (401, "application/json")
