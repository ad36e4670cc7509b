"""
### Toggl weekly time entry export

Every Monday, exports the previous week (Monday to Sunday, UTC) of the connection user's time
entries to JSON Lines files, with the same credentials, pacing, quota handling and retries as the
other Toggl tasks:

1. `list_workspaces` calls `GET /api/v9/me/workspaces`: a small answer, returned to XCom.
2. `export_time_entries` calls `GET /api/v9/me/time_entries` with `start_date`/`end_date` and
   writes the answer to `<export dir>/time_entries/<date>.jsonl`.
3. `export_detailed_report` walks the Reports API v3 detailed search of the first workspace page
   by page (`X-Next-Row-Number` to `first_row_number`) and streams every row to
   `<export dir>/detailed_report/<date>.jsonl`; memory stays flat however long the week was.

Both exports return `{"path", "rows"}`; secret fields never reach XCom or the files. A file
appears only complete; an export stopped by Toggl's hourly quota (deferred, or retried) goes on
with the page after the last one it wrote.

What a run costs (see the provider's docs/limits.md): two requests of the user's 30 an hour
(`/me/workspaces`, `/me/time_entries`) and one request of the organization's quota (30, 240 or
600 an hour by plan) per report page of 200 rows. Set
`TOGGL_EXPORT_DIR` (default `toggl-exports` in the system's temporary folder) for the local folder, or point `output_path` at
any object storage URL (`s3://...`); `TOGGL_CONN_ID` selects another connection.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_toggl.operators.api import TogglApiOperator

TOGGL_CONN_ID = os.environ.get("TOGGL_CONN_ID", "toggl_default")
EXPORT_DIR = os.environ.get("TOGGL_EXPORT_DIR", os.path.join(tempfile.gettempdir(), "toggl-exports"))
WEEK_START = "{{ macros.ds_add(ds, -7) }}"  # the Monday before the run's date
WEEK_END = "{{ macros.ds_add(ds, -1) }}"  # the Sunday before it (inclusive)

with DAG(
    dag_id="toggl_export_time_entries",
    description="Weekly export of Toggl time entries and the detailed report to JSON Lines files.",
    doc_md=__doc__,
    schedule="0 6 * * 1",
    start_date=datetime(2025, 1, 6),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["toggl"],
):
    # [START howto_operator_toggl_api_request]
    list_workspaces = TogglApiOperator(
        task_id="list_workspaces",
        toggl_conn_id=TOGGL_CONN_ID,
        path="/api/v9/me/workspaces",
    )
    # [END howto_operator_toggl_api_request]

    # [START howto_operator_toggl_api_export]
    export_time_entries = TogglApiOperator(
        task_id="export_time_entries",
        toggl_conn_id=TOGGL_CONN_ID,
        path="/api/v9/me/time_entries",
        query={"start_date": WEEK_START, "end_date": "{{ ds }}"},  # end_date is exclusive here
        output_path=f"file://{EXPORT_DIR}/time_entries/{{{{ ds }}}}.jsonl",
    )
    # [END howto_operator_toggl_api_export]

    # [START howto_operator_toggl_api_paginate]
    export_detailed_report = TogglApiOperator(
        task_id="export_detailed_report",
        toggl_conn_id=TOGGL_CONN_ID,
        path="/reports/api/v3/workspace/{{ ti.xcom_pull(task_ids='list_workspaces')[0]['id'] }}"
        "/search/time_entries",
        json={"start_date": WEEK_START, "end_date": WEEK_END},
        paginate="rows",
        page_size=200,
        output_path=f"file://{EXPORT_DIR}/detailed_report/{{{{ ds }}}}.jsonl",
    )
    # [END howto_operator_toggl_api_paginate]

    list_workspaces >> [export_time_entries, export_detailed_report]
