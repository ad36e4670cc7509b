"""The DAG-testing example of docs/emulator.md: it is cut from this file, so it runs as written.

``example_dags/track_and_report.py`` starts a time entry, stops it, lists the week's entries and
reads the week's detailed report; the test runs it with ``dag.test()`` against the emulator of the
``toggl_emulator`` fixture (``conftest.py`` makes the example's folder a DAG bundle).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from track_and_report import dag

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(240)]


# [START emulator_example_test]
def test_track_and_report(
    airflow_db: Any, example_dag_bundle: Path, toggl_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = toggl_emulator.add_user("ada@example.com", "s3cret-pw")
    toggl_emulator.seed("ada@example.com", projects=2)
    toggl_emulator.add_time_entries("ada@example.com", start="2026-11-30T12:00:00Z", count=60, every=3600)
    connection = {
        "conn_type": "toggl",
        "login": user["email"],
        "password": user["password"],
        "extra": {
            "track_api_url": toggl_emulator.url,
            "accounts_api_url": toggl_emulator.url,
            "api_token": user["api_token"],
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))

    run = dag.test(run_conf={"workspace_id": user["default_workspace_id"]})

    assert run.state == "success"
    requests = toggl_emulator.counters()["requests"]
    report = f"POST /reports/api/v3/workspace/{user['default_workspace_id']}/search/time_entries"
    assert requests[report] == 2  # 61 rows in pages of 50
    assert requests["GET /api/v9/me/time_entries"] == 1
    entries = toggl_emulator.time_entries("ada@example.com")  # read without spending a request
    written = [e for e in entries if e["description"] == "Writing docs"]
    assert len(written) == 1
    assert written[0]["stop"] is not None


# [END emulator_example_test]
