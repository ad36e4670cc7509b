"""The emulator's data endpoints: seeded workspace and projects, time entries, the Reports v3 search."""

from __future__ import annotations

from typing import Any

import requests

from airflow_toggl.emulator import TogglEmulator

WEEK_START = "2026-11-23T00:00:00+00:00"


def _auth(user: dict[str, Any]) -> tuple[str, str]:
    return (user["api_token"], "api_token")


def test_workspace_and_projects_are_seeded(em: TogglEmulator, alice: dict[str, Any], http) -> None:
    workspaces = http.get(f"{em.url}/api/v9/me/workspaces", auth=_auth(alice)).json()
    assert [w["id"] for w in workspaces] == [alice["default_workspace_id"]]
    projects = http.get(
        f"{em.url}/api/v9/workspaces/{alice['default_workspace_id']}/projects", auth=_auth(alice)
    ).json()
    assert [p["name"] for p in projects] == ["Development", "Operations", "Research"]  # by name, as Toggl sorts
    assert {p["workspace_id"] for p in projects} == {alice["default_workspace_id"]}


def test_projects_page_by_page_and_per_page(em: TogglEmulator, alice: dict[str, Any], http) -> None:
    url = f"{em.url}/api/v9/workspaces/{alice['default_workspace_id']}/projects"
    pages = [
        [p["name"] for p in http.get(url, params={"page": n, "per_page": 2}, auth=_auth(alice)).json()]
        for n in (1, 2, 3)
    ]
    assert pages == [["Development", "Operations"], ["Research"], []]
    assert http.get(url, params={"per_page": 0}, auth=_auth(alice)).status_code == 400


def test_another_workspace_is_refused(em: TogglEmulator, alice: dict[str, Any], http) -> None:
    bob = em.add_user("bob@example.com", "pw-bob")
    url = f"{em.url}/api/v9/workspaces/{bob['default_workspace_id']}/projects"
    assert http.get(url, auth=_auth(alice)).status_code == 403
    assert http.get(url, auth=_auth(bob)).status_code == 200


def test_data_endpoints_need_credentials(em: TogglEmulator, alice: dict[str, Any], http) -> None:
    assert http.get(f"{em.url}/api/v9/me/time_entries").status_code == 403
    search = f"{em.url}/reports/api/v3/workspace/{alice['default_workspace_id']}/search/time_entries"
    assert http.post(search, json={"start_date": "2026-11-23", "end_date": "2026-11-29"}).status_code == 403


def test_time_entries_between_start_date_and_end_date(em: TogglEmulator, alice: dict[str, Any], http) -> None:
    em.add_time_entries(alice["email"], start=WEEK_START, count=48, every=6 * 3600)  # 12 days, 4 a day
    url = f"{em.url}/api/v9/me/time_entries"
    week = http.get(
        url, params={"start_date": "2026-11-23", "end_date": "2026-11-30"}, auth=_auth(alice)
    ).json()
    assert len(week) == 28
    starts = [entry["start"] for entry in week]
    assert starts == sorted(starts, reverse=True)  # newest first, as Toggl lists them
    assert starts[-1] == "2026-11-23T00:00:00+00:00"
    assert starts[0] == "2026-11-29T18:00:00+00:00"
    assert {entry["stop"][:10] for entry in week} <= {f"2026-11-{day}" for day in range(23, 31)}
    rfc3339 = http.get(
        url,
        params={"start_date": "2026-11-23T06:00:00Z", "end_date": "2026-11-23T18:00:00Z"},
        auth=_auth(alice),
    ).json()
    assert [entry["start"][11:16] for entry in rfc3339] == ["12:00", "06:00"]
    assert http.get(url, params={"start_date": "2026-11-23"}, auth=_auth(alice)).status_code == 400
    assert http.get(url, params={"start_date": "x", "end_date": "y"}, auth=_auth(alice)).status_code == 400


def test_time_entries_since(em: TogglEmulator, alice: dict[str, Any], http) -> None:
    em.add_time_entries(alice["email"], start=WEEK_START, count=3)
    url = f"{em.url}/api/v9/me/time_entries"
    assert len(http.get(url, params={"since": 0}, auth=_auth(alice)).json()) == 3
    assert http.get(url, params={"since": 4_000_000_000}, auth=_auth(alice)).json() == []


def _search(
    em: TogglEmulator, user: dict[str, Any], http: requests.Session, **body: Any
) -> requests.Response:
    url = f"{em.url}/reports/api/v3/workspace/{user['default_workspace_id']}/search/time_entries"
    return http.post(
        url, json={"start_date": "2026-11-23", "end_date": "2026-11-29", **body}, auth=_auth(user)
    )


def test_report_search_pages_by_row_number(em: TogglEmulator, alice: dict[str, Any], http) -> None:
    em.add_time_entries(alice["email"], start=WEEK_START, count=7 * 24 + 5)  # 5 entries past the week
    first = _search(em, alice, http, page_size=100)
    assert first.status_code == 200
    rows = first.json()
    assert [row["row_number"] for row in rows] == list(range(1, 101))
    assert rows[0]["time_entries"][0]["start"] == "2026-11-23T00:00:00+00:00"
    assert rows[0]["username"] == "Alice Liddell"
    assert first.headers["X-Next-Row-Number"] == "101"
    assert int(first.headers["X-Next-ID"]) > rows[-1]["time_entries"][0]["id"]
    second = _search(em, alice, http, page_size=100, first_row_number=101)
    assert [row["row_number"] for row in second.json()] == list(range(101, 169))
    assert "X-Next-Row-Number" not in second.headers
    assert "X-Next-ID" not in second.headers
    default = _search(em, alice, http)
    assert len(default.json()) == 50


def test_report_search_refuses_bad_bodies(em: TogglEmulator, alice: dict[str, Any], http) -> None:
    assert _search(em, alice, http, page_size=0).status_code == 400
    assert _search(em, alice, http, first_row_number="1").status_code == 400
    assert _search(em, alice, http, start_date=None).status_code == 400
    assert _search(em, alice, http, end_date="2026-11-01").status_code == 400


def test_report_search_is_metered(toggl_emulator_factory, http) -> None:
    em = toggl_emulator_factory(quota_limit=2)
    user = em.add_user("carol@example.com", "pw-carol")
    answers = [_search(em, user, http) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 402]
    assert answers[0].headers["X-Toggl-Quota-Remaining"] == "1"


def test_time_entries_are_seeded_over_the_control_api(em: TogglEmulator, alice: dict[str, Any], http) -> None:
    body = {"email": alice["email"], "start": WEEK_START, "count": 2}
    assert http.post(f"{em.url}/_emulator/time_entries", json=body).json() == {"added": 2}
    assert len(http.get(f"{em.url}/api/v9/me/time_entries", auth=_auth(alice)).json()) == 2
    assert http.post(f"{em.url}/_emulator/time_entries", json={**body, "start": []}).status_code == 400
