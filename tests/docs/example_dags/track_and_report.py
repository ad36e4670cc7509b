"""The example DAG of docs/emulator.md: start, stop, list and report time entries."""

from __future__ import annotations

# [START emulator_example_dag]
import pendulum
from airflow.sdk import DAG

from airflow_toggl.operators.api import TogglApiOperator

WORKSPACE = "{{ params.workspace_id }}"

with DAG(
    "track_and_report",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 30, tz="UTC"),
    params={"workspace_id": 0},
    render_template_as_native_obj=True,  # so the workspace id in the body stays an integer
) as dag:
    start = TogglApiOperator(
        task_id="start_entry",
        method="POST",
        path=f"/api/v9/workspaces/{WORKSPACE}/time_entries",
        json={
            "created_with": "my-dag",
            "description": "Writing docs",
            "start": "2026-11-30T09:00:00Z",
            "duration": -1,
            "workspace_id": "{{ params.workspace_id }}",
        },
    )
    stop = TogglApiOperator(
        task_id="stop_entry",
        method="PATCH",
        path=f"/api/v9/workspaces/{WORKSPACE}/time_entries/"
        "{{ ti.xcom_pull(task_ids='start_entry')['id'] }}/stop",
    )
    week = TogglApiOperator(
        task_id="list_entries",
        path="/api/v9/me/time_entries",
        query={"start_date": "2026-11-30", "end_date": "2026-12-07"},
    )
    report = TogglApiOperator(
        task_id="detailed_report",
        method="POST",
        path=f"/reports/api/v3/workspace/{WORKSPACE}/search/time_entries",
        json={"start_date": "2026-11-30", "end_date": "2026-12-06"},
        paginate="rows",
        page_size=50,
    )
    start >> stop >> [week, report]
# [END emulator_example_dag]
