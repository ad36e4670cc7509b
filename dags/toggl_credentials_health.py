"""
### Toggl credentials health

Every hour, asks Toggl whether the connection's credentials still work, using `/me/logged`: it
answers with no body. The task fails (with a 403 `TogglAuthError`) when Toggl refuses the
credentials, for example after the API token was reset: at once, without the retry, since the
same credentials would be refused again.

What a run costs (see the provider's docs/limits.md): one request, `/me/logged`. Toggl documents
no exemption for it, so count it against the user's 30 requests an hour: 1 of the 30 each hour.

Set `TOGGL_CONN_ID` to use another connection and `TOGGL_HEALTH_SCHEDULE` to change the schedule.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_toggl.operators.toggl import TogglCredentialsCheckOperator

TOGGL_CONN_ID = os.environ.get("TOGGL_CONN_ID", "toggl_default")
SCHEDULE = os.environ.get("TOGGL_HEALTH_SCHEDULE", "@hourly")

with DAG(
    dag_id="toggl_credentials_health",
    description="Hourly check that Toggl accepts the connection's credentials.",
    doc_md=__doc__,
    schedule=SCHEDULE,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["toggl"],
):
    # [START howto_operator_toggl_credentials_check]
    check_credentials = TogglCredentialsCheckOperator(
        task_id="check_credentials",
        toggl_conn_id=TOGGL_CONN_ID,
    )
    # [END howto_operator_toggl_credentials_check]
