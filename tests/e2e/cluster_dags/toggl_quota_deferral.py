"""One identity check uses up the account's hourly quota; the next, deferrable, meets the 402.

The second task hands the wait for the quota reset to the triggerer and runs again afterwards.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import TogglIdentityCheckOperator

CONN_ID = os.environ.get("TOGGL_DEFERRAL_CONN_ID", "toggl_default")

with DAG(
    dag_id="toggl_quota_deferral",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["toggl"],
):
    use_quota = TogglIdentityCheckOperator(task_id="use_quota", toggl_conn_id=CONN_ID)
    check_identity = TogglIdentityCheckOperator(
        task_id="check_identity", toggl_conn_id=CONN_ID, deferrable=True, poll_interval=2
    )
    use_quota >> check_identity
