"""Rotations for the sessions page test: one task per connection, each ending in another state.

* ``toggl_fresh``: rotated; the new session outlives the one-day threshold (healthy).
* ``toggl_expiring``: rotated, but sessions last less than its seven-day threshold (expiring).
* ``toggl_failing``: the connection's password is wrong: the rotation fails.
* ``toggl_stale``: its stored session is replaced, and deleting the old one fails (stale pending).

``toggl_token`` has no rotation task and no stored session.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import TogglRotateSessionOperator

THRESHOLDS = {
    "toggl_fresh": timedelta(days=1),
    "toggl_expiring": timedelta(days=7),
    "toggl_failing": timedelta(days=1),
    "toggl_stale": timedelta(days=1),
}

with DAG(
    dag_id="toggl_ui_rotation",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    default_args={"retries": 0},
    tags=["toggl"],
) as dag:
    for conn_id, threshold in THRESHOLDS.items():
        TogglRotateSessionOperator(
            task_id=f"rotate_{conn_id.removeprefix('toggl_')}",
            toggl_conn_id=conn_id,
            min_remaining=threshold,
            check_live=False,
        )
