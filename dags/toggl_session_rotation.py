"""
### Toggl session rotation

Keeps a working Toggl session in the session store (an Airflow Variable named
`toggl_session_secret__<conn_id>` unless the connection's `session_key` extra says otherwise), so
other tasks can authenticate with `auth_mode="session"` without handling passwords.

1. `check_connection_identity`: `/me` with the connection's own credentials.
2. `rotate_session`: replaces the stored session when it has less than 7 days left or Toggl no
   longer accepts it; a new session is verified and stored before the old one is deleted.
3. `check_session_identity`: `/me` with the stored session must be the same user as step 1.

Every task is deferrable: when Toggl's hourly quota (30 `/me` calls per user) is used up, it waits
for the reset in the triggerer instead of holding a worker slot or failing.

Every task runs in the Airflow pool named after the connection (or `TOGGL_POOL`), which must exist
with one slot: `airflow pools set toggl_default 1 "Toggl account" --include-deferred`. The pool
is what keeps two rotations of one session from overlapping on different workers (Variables
have no compare-and-set) and one account's requests from adding up past Toggl's rate limit.

Runs daily. Set `TOGGL_CONN_ID` to use another connection and `TOGGL_ROTATION_SCHEDULE` (a cron
expression or preset) to change the schedule.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import TogglIdentityCheckOperator, TogglRotateSessionOperator

TOGGL_CONN_ID = os.environ.get("TOGGL_CONN_ID", "toggl_default")
SCHEDULE = os.environ.get("TOGGL_ROTATION_SCHEDULE", "@daily")
# [START howto_pool_per_toggl_account]
# One pool per Toggl account, one slot: its tasks run one at a time, whichever worker runs them.
TOGGL_POOL = os.environ.get("TOGGL_POOL", TOGGL_CONN_ID)
DEFAULT_ARGS = {"retries": 2, "retry_delay": timedelta(minutes=5), "pool": TOGGL_POOL}
# [END howto_pool_per_toggl_account]

with DAG(
    dag_id="toggl_session_rotation",
    description="Rotate the stored Toggl session before it expires.",
    doc_md=__doc__,
    schedule=SCHEDULE,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["toggl"],
):
    # [START howto_operator_toggl_identity_check]
    check_connection_identity = TogglIdentityCheckOperator(
        task_id="check_connection_identity",
        toggl_conn_id=TOGGL_CONN_ID,
        deferrable=True,
    )
    # [END howto_operator_toggl_identity_check]

    # [START howto_operator_toggl_rotate_session]
    rotate_session = TogglRotateSessionOperator(
        task_id="rotate_session",
        toggl_conn_id=TOGGL_CONN_ID,
        min_remaining=timedelta(days=7),
        deferrable=True,
    )
    # [END howto_operator_toggl_rotate_session]

    # [START howto_operator_toggl_identity_check_session]
    check_session_identity = TogglIdentityCheckOperator(
        task_id="check_session_identity",
        toggl_conn_id=TOGGL_CONN_ID,
        auth_mode="session",
        expected_user_id="{{ ti.xcom_pull(task_ids='check_connection_identity')['id'] }}",
        deferrable=True,
    )
    # [END howto_operator_toggl_identity_check_session]

    check_connection_identity >> rotate_session >> check_session_identity
