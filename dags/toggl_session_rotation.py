"""
### Toggl session rotation

Keeps a working Toggl session in the session store (an Airflow Variable named
`toggl_session_secret__<conn_id>` unless the connection's `session_key` extra says otherwise), so
other tasks can authenticate with `auth_mode="session"` without handling passwords.

One task, `rotate_session`, replaces the stored session when it has less than 7 days left or Toggl
no longer accepts it: a new session is created with the connection's email and password, checked
with `/me` to be the connection's user (the email the connection holds), stored, and only then is
the old one deleted. That one check proves what separate identity checks of the connection and of
the stored session would: the password works (it made the session), the session works, and it is
the connection's user's. A run that keeps the stored session does not use the password: a changed
password shows at the next rotation, or at once in `TogglCredentialsCheckOperator` with
`auth_mode="basic"`.

What a run costs (see the provider's docs/limits.md): one `/me` of the user's 30 per hour,
whether or not it rotates (the check of the new session, or of the stored one that is not due);
a rotation adds `POST` and `DELETE /api/sessions` on accounts.toggl.com. Hourly, that is 1 of the
30; the default daily schedule spends 1 a day.

The task is deferrable: when Toggl's hourly quota is used up, it waits for the reset in the
triggerer instead of holding a worker slot or failing.

It runs in the Airflow pool named after the connection (or `TOGGL_POOL`), which must exist with
one slot: `airflow pools set toggl_default 1 "Toggl account" --include-deferred`. The pool is
what keeps two rotations of one session from overlapping on different workers (Variables have no
compare-and-set) and one account's requests from adding up past Toggl's rate limit.

Runs daily. Set `TOGGL_CONN_ID` to use another connection and `TOGGL_ROTATION_SCHEDULE` (a cron
expression or preset) to change the schedule.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import TogglRotateSessionOperator

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
    # [START howto_operator_toggl_rotate_session]
    rotate_session = TogglRotateSessionOperator(
        task_id="rotate_session",
        toggl_conn_id=TOGGL_CONN_ID,
        min_remaining=timedelta(days=7),
        deferrable=True,
    )
    # [END howto_operator_toggl_rotate_session]
