"""A deferrable identity check: on a used-up hourly quota it waits in the triggerer."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import TogglIdentityCheckOperator

with DAG(
    dag_id="toggl_quota_deferral",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["toggl"],
):
    TogglIdentityCheckOperator(
        task_id="check_identity",
        toggl_conn_id=os.environ.get("TOGGL_DEFERRAL_CONN_ID", "toggl_default"),
        deferrable=True,
        poll_interval=2,
    )
