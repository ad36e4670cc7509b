"""The weekly export DAG run by ``airflow dags test`` against the emulator, writing real files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devkit.airflow import run_airflow

pytestmark = pytest.mark.timeout(240)
EVERY = 600  # one entry every ten minutes: 1008 in a week, several report pages


def test_export_dag_writes_a_week_of_time_entries(
    airflow_db: Any, toggl_conn_env: dict[str, str], toggl_emulator, toggl_user, tmp_path: Path
) -> None:
    # Two weeks and a day, from Sunday 2026-11-22: only Monday 23 to Sunday 29 belong to the export.
    toggl_emulator.add_time_entries(
        toggl_user["email"], start="2026-11-22T00:00:00Z", count=15 * 86400 // EVERY, every=EVERY
    )
    toggl_emulator.reset_counters()
    env = {**toggl_conn_env, "TOGGL_EXPORT_DIR": str(tmp_path)}
    result = run_airflow("dags", "test", "toggl_export_time_entries", "2026-11-30", env=env, timeout=180)
    output = result.stdout + result.stderr

    week = 7 * 86400 // EVERY
    entries = [
        json.loads(line) for line in (tmp_path / "time_entries" / "2026-11-30.jsonl").read_text().splitlines()
    ]
    assert len(entries) == week
    assert {entry["start"][:10] for entry in entries} == {f"2026-11-{day}" for day in range(23, 30)}
    rows = [
        json.loads(line)
        for line in (tmp_path / "detailed_report" / "2026-11-30.jsonl").read_text().splitlines()
    ]
    assert [row["row_number"] for row in rows] == list(range(1, week + 1))
    assert {row["time_entries"][0]["id"] for row in rows} == {entry["id"] for entry in entries}

    requests = toggl_emulator.counters()["requests"]
    search = f"POST /reports/api/v3/workspace/{toggl_user['default_workspace_id']}/search/time_entries"
    assert requests[search] == -(-week // 200)  # pages of 200 rows
    assert requests["GET /api/v9/me/workspaces"] == 1
    for secret in (toggl_user["api_token"], toggl_user["password"]):
        assert secret not in output


def test_an_export_of_eleven_pages_under_a_quota_of_four_per_window_finishes(
    airflow_db: Any, toggl_conn_env: dict[str, str], toggl_emulator, toggl_user, tmp_path: Path
) -> None:
    """Deferrable tasks meet the quota every four requests; each page is still read once."""
    every = 300  # 2016 entries in the week: 11 report pages of 200
    toggl_emulator.add_time_entries(
        toggl_user["email"], start="2026-11-23T00:00:00Z", count=7 * 86400 // every, every=every
    )
    toggl_emulator.configure(quota_limit=4, quota_window=8)  # an hour shortened to 8 seconds
    toggl_emulator.reset_counters()
    env = {
        **toggl_conn_env,
        "TOGGL_EXPORT_DIR": str(tmp_path),
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
    }
    result = run_airflow("dags", "test", "toggl_export_time_entries", "2026-11-30", env=env, timeout=300)
    output = result.stdout + result.stderr

    week = 7 * 86400 // every
    report = tmp_path / "detailed_report" / "2026-11-30.jsonl"
    rows = [json.loads(line)["row_number"] for line in report.read_text().splitlines()]
    assert rows == list(range(1, week + 1))  # every row once, in order
    assert sorted(p.name for p in report.parent.iterdir()) == ["2026-11-30.jsonl"]  # no parts left

    counters = toggl_emulator.counters()
    search = f"POST /reports/api/v3/workspace/{toggl_user['default_workspace_id']}/search/time_entries"
    pages = -(-week // 200)
    assert pages >= 10
    assert counters["responses"][f"{search} 200"] == pages  # no page read twice
    answered = sum(n for key, n in counters["responses"].items() if key.endswith(" 200"))
    assert answered == pages + 2  # and the workspaces and time entries requests
    waits = counters["quota_exceeded"]
    assert 1 <= waits <= -(-answered // 4)  # one refusal per window at most
    assert sum(counters["requests"].values()) <= answered + waits  # N + k
    print(f"\n{pages} report pages, {answered} answered requests, {waits} quota waits")
    assert "Toggl asked to wait" in output  # it deferred
    for secret in (toggl_user["api_token"], toggl_user["password"]):
        assert secret not in output
