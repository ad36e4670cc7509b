"""
### Toggl session lifecycle

The whole life of a session in one run, started by hand:

1. `create_session`: a session from the connection's email and password, kept in the session
   store (never in XCom).
2. `check_session_identity`: `/me` with the stored session must be the user it was created for.
3. `delete_session`: a teardown task that deletes the session on Toggl and clears the store, and
   runs even when the check fails.

What a run costs (see the provider's docs/limits.md): two `/me` of the user's 30 per hour (the
create task's check of the new session, then the identity check), beside `POST` and `DELETE
/api/sessions` on accounts.toggl.com (a second `DELETE` when the store held a session before).

Set `TOGGL_CONN_ID` to use another connection than `toggl_default`.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import (
    TogglCreateSessionOperator,
    TogglDeleteSessionOperator,
    TogglIdentityCheckOperator,
)

TOGGL_CONN_ID = os.environ.get("TOGGL_CONN_ID", "toggl_default")

with DAG(
    dag_id="toggl_session_lifecycle",
    description="Create a Toggl session, use it, delete it.",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=2)},
    tags=["toggl"],
):
    # [START howto_operator_toggl_create_session]
    create_session = TogglCreateSessionOperator(
        task_id="create_session",
        toggl_conn_id=TOGGL_CONN_ID,
    )
    # [END howto_operator_toggl_create_session]

    # [START howto_operator_toggl_identity_check_session]
    check_session_identity = TogglIdentityCheckOperator(
        task_id="check_session_identity",
        toggl_conn_id=TOGGL_CONN_ID,
        auth_mode="session",
        expected_user_id="{{ ti.xcom_pull(task_ids='create_session')['user_id'] }}",
    )
    # [END howto_operator_toggl_identity_check_session]

    # [START howto_operator_toggl_delete_session]
    delete_session = TogglDeleteSessionOperator(
        task_id="delete_session",
        toggl_conn_id=TOGGL_CONN_ID,
    )
    # [END howto_operator_toggl_delete_session]

    create_session >> check_session_identity >> delete_session.as_teardown(setups=create_session)
