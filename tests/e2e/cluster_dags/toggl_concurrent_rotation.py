"""Two rotations of one connection started together (the cluster puts them on two workers).

``toggl_concurrent_rotation_pooled`` runs both in the connection's one-slot pool (named by
``TOGGL_RACE_POOL``); ``toggl_concurrent_rotation_unpooled`` runs them with nothing between them.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import TogglRotateSessionOperator

VARIANTS = {
    "toggl_concurrent_rotation_pooled": (
        os.environ.get("TOGGL_RACE_POOLED_CONN_ID", "toggl_default"),
        os.environ.get("TOGGL_RACE_POOL", "default_pool"),
    ),
    "toggl_concurrent_rotation_unpooled": (
        os.environ.get("TOGGL_RACE_UNPOOLED_CONN_ID", "toggl_default"),
        "default_pool",
    ),
}

for dag_id, (conn_id, pool) in VARIANTS.items():
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2025, 1, 1), catchup=False, tags=["toggl"]):
        for name in ("rotate_a", "rotate_b"):
            TogglRotateSessionOperator(
                task_id=name, toggl_conn_id=conn_id, pool=pool, min_remaining=timedelta(days=7)
            )
