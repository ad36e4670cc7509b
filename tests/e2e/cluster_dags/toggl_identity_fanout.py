"""Many identity checks of one credential at once, with a one-slot pool and without.

``toggl_identity_fanout_pooled`` runs the checks in the pool named by ``TOGGL_FANOUT_POOL`` (one
slot: one request at a time for the account, whatever worker runs it);
``toggl_identity_fanout_unpooled`` lets every worker slot call Toggl at once.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import TogglIdentityCheckOperator

CONN_ID = os.environ.get("TOGGL_FANOUT_CONN_ID", "toggl_default")
CHECKS = int(os.environ.get("TOGGL_FANOUT_CHECKS", "30"))
POOL = os.environ.get("TOGGL_FANOUT_POOL", CONN_ID)

for dag_id, pool in (
    ("toggl_identity_fanout_pooled", POOL),
    ("toggl_identity_fanout_unpooled", "default_pool"),
):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2025, 1, 1), catchup=False, tags=["toggl"]):
        TogglIdentityCheckOperator.partial(task_id="check_identity", toggl_conn_id=CONN_ID, pool=pool).expand(
            auth_mode=["api_token"] * CHECKS
        )
