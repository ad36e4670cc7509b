"""The rotation DAG under a real Airflow 3: scheduler, DAG processor, triggerer and API server.

The emulator runs in this process with sessions that last 3 days, less than the DAG's 7-day
threshold, so every scheduled run rotates. Its cookies avoid the ``eyJ`` prefix that Airflow's
masker hides on its own, so a cookie that reached a log would really be seen by the leak scan.
The DAG is scheduled every minute; the test waits for two successful scheduled runs, pauses the
DAG, lets in-flight tasks finish, then checks what Toggl saw, what the store holds, and that no
secret reached a log, an XCom, a rendered template field or an unencrypted Variable.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_toggl.emulator.server import TogglEmulator
from devkit.airflow import ROOT, toggl_connection
from devkit.airflow_cluster import AirflowCluster, basic_credentials

DAG_ID = "toggl_session_rotation"
DAG_FILE = ROOT / "dags" / "toggl_session_rotation.py"
SESSION_KEY = "toggl_session_secret__toggl_default"
SESSION_TTL = 3 * 24 * 3600
EMAIL = "rotation-e2e@example.com"
PASSWORD = "pwRotE2e-Qx7vLm3Zt9"
API_TOKEN = "e2e7b1c9d3f5a7e9b1c3d5f7a9e1b3c5"
SCANNED_TABLES = ("xcom", "rendered_task_instance_fields", "variable")

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture
def emulator() -> Iterator[TogglEmulator]:
    with TogglEmulator(cookie_style="no-eyj", session_ttl=SESSION_TTL) as running:
        yield running


@pytest.fixture
def user(emulator: TogglEmulator) -> dict[str, Any]:
    return emulator.add_user(EMAIL, PASSWORD, api_token=API_TOKEN, fullname="Rotation E2E")


@pytest.fixture
def cluster(tmp_path: Path, emulator: TogglEmulator, user: dict[str, Any]) -> Iterator[AirflowCluster]:
    connection = toggl_connection(emulator, user, requests_per_second=0)
    env = {
        "AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(connection),
        "TOGGL_CONN_ID": "toggl_default",
        "TOGGL_ROTATION_SCHEDULE": "* * * * *",
    }
    redact = {"password": PASSWORD, "api_token": API_TOKEN}
    with AirflowCluster(
        tmp_path / "airflow", dag_files=[DAG_FILE], env=env, redact_in_reports=redact
    ) as running:
        yield running


def me_over_the_wire(emulator: TogglEmulator, api_token: str) -> dict[str, Any]:
    """``/me`` as Toggl answers it (the emulator's user record does not hold ``intercom_hash``)."""
    request = urllib.request.Request(
        f"{emulator.url}/api/v9/me",
        headers={"Authorization": f"Basic {base64.b64encode(f'{api_token}:api_token'.encode()).decode()}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response))


def test_scheduled_runs_rotate_the_session_without_leaking(
    cluster: AirflowCluster, emulator: TogglEmulator, user: dict[str, Any]
) -> None:
    cluster.migrate()
    # The DAG's tasks run in the pool named after the connection (one slot per Toggl account).
    cluster.set_pools({"toggl_default": 1})
    cluster.start()
    cluster.wait_for_dag(DAG_ID)
    cluster.airflow("dags", "unpause", DAG_ID)
    cluster.wait_for_runs(DAG_ID, 2, run_type="scheduled", timeout=360)
    # Freeze the picture: a run started meanwhile finishes the tasks it has queued, no more.
    cluster.airflow("dags", "pause", DAG_ID)
    cluster.wait_for_quiet(DAG_ID)
    counters = emulator.counters()
    cluster.stop()

    runs = cluster.dag_runs(DAG_ID)
    succeeded = [run for run in runs if run["run_type"] == "scheduled" and run["state"] == "success"]
    assert len(succeeded) >= 2, runs
    assert all(run["state"] != "failed" for run in runs), runs
    cluster.assert_no_failed_tasks(DAG_ID)

    # Every completed rotate_session task rotated: the 3-day sessions are always under the 7-day
    # threshold. The first found the store empty; each later one replaced and deleted its predecessor.
    rotate_tis = [
        ti
        for ti in cluster.task_instances(DAG_ID)
        if ti["task_id"] == "rotate_session" and ti["state"] == "success"
    ]
    outcomes = cluster.xcom_values(DAG_ID, "rotate_session")
    assert sorted(outcomes) == sorted(ti["run_id"] for ti in rotate_tis)
    ordered = [outcomes[run["run_id"]] for run in runs if run["run_id"] in outcomes]
    rotations = len(ordered)
    assert rotations >= 2
    assert all(outcome["rotated"] for outcome in ordered), ordered
    assert ordered[0]["previous_deleted"] is None
    assert all(outcome["previous_deleted"] is True for outcome in ordered[1:]), ordered
    assert all(outcome["stale_pending"] == 0 for outcome in ordered), ordered
    assert all(outcome["user_id"] == user["id"] for outcome in ordered), ordered

    # What Toggl saw. The rotation design creates and verifies a new session, stores it, and only
    # then deletes the one it replaced: so one POST /api/sessions per rotation, and one
    # DELETE /api/sessions per rotation except the first, which found the store empty. Rotations
    # are counted from the XComs of finished rotate_session tasks, not from runs, because a run
    # started just before the pause may have rotated without finishing. A retried create or a
    # failed delete (left pending for the next run) would show up here as a mismatch.
    requests, responses = counters["requests"], counters["responses"]
    assert requests.get("POST /api/sessions") == rotations, counters
    assert responses.get("POST /api/sessions 200") == rotations, counters
    assert requests.get("DELETE /api/sessions", 0) == rotations - 1, counters
    assert responses.get("DELETE /api/sessions 200", 0) == rotations - 1, counters
    assert counters["rate_limited"] == 0
    assert counters["quota_exceeded"] == 0

    issued = emulator.issued_sessions(EMAIL)
    assert len(issued) == rotations
    assert sum(not session["deleted"] for session in issued) == 1
    live = emulator.live_sessions(EMAIL, include_cookies=True)
    assert len(live) == 1, [session["jti"] for session in live]

    stored_text = cluster.airflow("variables", "get", SESSION_KEY).stdout.strip().splitlines()[-1]
    stored = json.loads(stored_text)
    assert stored["session_token"] == live[0]["cookie"]
    assert stored["stale_session_tokens"] == []
    assert stored["user_id"] == user["id"]

    me = me_over_the_wire(emulator, user["api_token"])
    secrets = {
        "password": user["password"],
        "api_token": user["api_token"],
        "intercom_hash": me["intercom_hash"],
        "basic(email:password)": basic_credentials(user["email"], user["password"]),
        "basic(api_token)": basic_credentials(user["api_token"], "api_token"),
    }
    for number, session in enumerate(issued):
        state = "deleted" if session["deleted"] else "live"
        secrets[f"session cookie #{number} ({state})"] = session["cookie"]
    assert all(value for value in secrets.values())
    # Airflow masks anything containing "eyJ" by itself; these cookies must be visible if leaked.
    assert not any("eyJ" in session["cookie"] for session in issued)
    assert cluster.task_log_files(DAG_ID), "no task logs were written"
    # The scan reads plain text: a public value shows up where the code writes it (the rotation
    # task logs and returns the store key; it logs no identity, having checked it by id).
    seen = [leak.where for leak in cluster.find_leaks({"store key": SESSION_KEY}, tables=["xcom"])]
    assert any(where.startswith("logs/dag_id=") for where in seen), seen
    assert any(where.startswith("table xcom") for where in seen), seen
    assert cluster.query("SELECT is_encrypted FROM variable WHERE key = ?", [SESSION_KEY]) == [
        {"is_encrypted": 1}
    ]
    leaks = cluster.find_leaks(secrets, tables=SCANNED_TABLES)
    assert not leaks, "\n".join(str(leak) for leak in leaks)
