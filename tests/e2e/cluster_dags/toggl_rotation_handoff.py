"""The rotation of the example DAG, then a check with the stored session, spread over two workers.

The example DAG rotates in one task (one ``/me`` a run); this test DAG adds a second task that
reads the session store on the other worker, to show the store hands a session across workers.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import TogglIdentityCheckOperator, TogglRotateSessionOperator

CONN_ID = os.environ.get("TOGGL_CONN_ID", "toggl_default")

with DAG(
    dag_id="toggl_rotation_handoff",
    schedule=os.environ.get("TOGGL_ROTATION_SCHEDULE", "@once"),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5), "pool": CONN_ID},
    tags=["toggl"],
):
    rotate_session = TogglRotateSessionOperator(
        task_id="rotate_session", toggl_conn_id=CONN_ID, min_remaining=timedelta(days=7), deferrable=True
    )
    check_session_identity = TogglIdentityCheckOperator(
        task_id="check_session_identity",
        toggl_conn_id=CONN_ID,
        auth_mode="session",
        expected_user_id="{{ ti.xcom_pull(task_ids='rotate_session')['user_id'] }}",
        deferrable=True,
    )
    rotate_session >> check_session_identity
