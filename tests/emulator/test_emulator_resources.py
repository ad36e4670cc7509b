"""One store behind every data endpoint: what one endpoint writes, the others show; errors as Toggl's."""

from __future__ import annotations

from typing import Any

import requests

from airflow_toggl.emulator import TogglEmulator


def _call(
    em: TogglEmulator, user: dict[str, Any], method: str, path: str, **kwargs: Any
) -> requests.Response:
    return requests.request(
        method, f"{em.url}{path}", auth=(user["api_token"], "api_token"), timeout=5, **kwargs
    )


def test_a_created_entry_shows_everywhere(em: TogglEmulator, alice: dict[str, Any]) -> None:
    wid = alice["default_workspace_id"]
    body = {"created_with": "test", "start": "2026-11-30T09:00:00Z", "duration": -1, "workspace_id": wid}
    created = _call(em, alice, "POST", f"/api/v9/workspaces/{wid}/time_entries", json=body).json()
    assert created["stop"] is None
    assert _call(em, alice, "GET", "/api/v9/me/time_entries/current").json()["id"] == created["id"]
    assert [e["id"] for e in _call(em, alice, "GET", "/api/v9/me/time_entries").json()] == [created["id"]]
    search = f"/reports/api/v3/workspace/{wid}/search/time_entries"
    report = {"start_date": "2026-11-30", "end_date": "2026-11-30"}
    assert _call(em, alice, "POST", search, json=report).json() == []  # running: not reported yet
    stopped = _call(em, alice, "PATCH", f"/api/v9/workspaces/{wid}/time_entries/{created['id']}/stop").json()
    assert stopped["duration"] >= 0
    assert _call(em, alice, "GET", "/api/v9/me/time_entries/current").json() is None
    rows = _call(em, alice, "POST", search, json=report).json()
    assert [row["time_entries"][0]["id"] for row in rows] == [created["id"]]
    again = _call(em, alice, "PATCH", f"/api/v9/workspaces/{wid}/time_entries/{created['id']}/stop")
    assert (again.status_code, again.json()) == (409, "Time entry already stopped")
    assert (
        _call(em, alice, "DELETE", f"/api/v9/workspaces/{wid}/time_entries/{created['id']}").status_code
        == 200
    )
    assert _call(em, alice, "GET", "/api/v9/me/time_entries").json() == []
    deleted = _call(em, alice, "GET", "/api/v9/me/time_entries", params={"since": 0}).json()
    assert [e["server_deleted_at"] is not None for e in deleted] == [True]  # since shows deletions


def test_errors_are_toggl_s(em: TogglEmulator, alice: dict[str, Any]) -> None:
    wid = alice["default_workspace_id"]
    unknown = _call(em, alice, "GET", f"/api/v9/workspaces/{wid}/projects/12345")
    assert (unknown.status_code, unknown.json()) == (404, "Resource can not be found")
    nowhere = _call(em, alice, "GET", "/api/v9/no/such/path")
    assert (nowhere.status_code, nowhere.text) == (404, "404 page not found\n")
    bob = em.add_user("bob@example.com", "pw-bob")
    other = _call(em, alice, "GET", f"/api/v9/workspaces/{bob['default_workspace_id']}/clients")
    assert (other.status_code, other.json()) == (403, "User does not have access to this resource.")
    bad = _call(em, alice, "GET", f"/api/v9/workspaces/{wid}/projects", params={"sort_order": "sideways"})
    assert bad.status_code == 400
    assert "sort_order" in bad.json()
    missing = _call(
        em, alice, "POST", f"/api/v9/workspaces/{wid}/time_entries", json={"start": "2026-11-30T09:00:00Z"}
    )
    assert (missing.status_code, missing.json()) == (400, "created_with needs to be provided a valid value")
    duplicate = _call(em, alice, "POST", f"/api/v9/workspaces/{wid}/projects", json={"name": "research"})
    assert (duplicate.status_code, duplicate.json()) == (400, "Name has already been taken")


def test_projects_sort_and_page_with_toggl_s_headers(em: TogglEmulator, alice: dict[str, Any]) -> None:
    em.seed(alice["email"], projects=4)
    url = f"/api/v9/workspaces/{alice['default_workspace_id']}/projects"
    page = _call(em, alice, "GET", url, params={"per_page": 3, "page": 2, "sort_order": "DESC"})
    assert (page.headers["X-Page"], page.headers["X-Page-Size"]) == ("2", "3")
    everything = [p["name"] for p in _call(em, alice, "GET", url, params={"sort_order": "DESC"}).json()]
    assert everything == sorted(everything, key=str.lower, reverse=True)
    assert [p["name"] for p in page.json()] == everything[3:6]


def test_tasks_belong_to_their_project(em: TogglEmulator, alice: dict[str, Any]) -> None:
    wid = alice["default_workspace_id"]
    first, second = sorted(_call(em, alice, "GET", "/api/v9/me/projects").json(), key=lambda p: p["id"])[:2]
    task = _call(
        em, alice, "POST", f"/api/v9/workspaces/{wid}/projects/{first['id']}/tasks", json={"name": "Write"}
    )
    assert task.json()["project_id"] == first["id"]
    assert [t["id"] for t in _call(em, alice, "GET", "/api/v9/me/tasks").json()] == [task.json()["id"]]
    wrong = _call(
        em, alice, "GET", f"/api/v9/workspaces/{wid}/projects/{second['id']}/tasks/{task.json()['id']}"
    )
    assert wrong.status_code == 404
    listed = _call(em, alice, "GET", f"/api/v9/workspaces/{wid}/tasks").json()
    assert (listed["total_count"], listed["data"][0]["name"]) == (1, "Write")
