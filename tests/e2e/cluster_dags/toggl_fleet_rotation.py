"""One mapped task rotates the stored session of every connection in ``TOGGL_FLEET_CONN_IDS``."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import TogglRotateSessionOperator

CONN_IDS = [conn_id for conn_id in os.environ.get("TOGGL_FLEET_CONN_IDS", "").split(",") if conn_id]

with DAG(
    dag_id="toggl_fleet_rotation",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    # One run at a time: no two rotations of one connection overlap.
    max_active_runs=1,
    tags=["toggl"],
):
    TogglRotateSessionOperator.partial(task_id="rotate_session", min_remaining=timedelta(days=7)).expand(
        toggl_conn_id=CONN_IDS
    )
