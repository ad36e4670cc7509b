"""
### Toggl account administration

Three DAGs, started by hand, for the account flows that need a person in the loop:

* `toggl_password_reset_request`: Toggl emails a reset code to `email` (default: the
  connection's login).
* `toggl_password_reset_confirm`: sets the password with the emailed code and keeps the session
  Toggl answers with in the session store. The new password is the connection's: update the
  connection (or the secret behind it) first, then run this DAG, and the two agree.
* `toggl_api_token_reset`: **disruptive**: replaces the API token. The old one stops working at
  once (including in the connection); the new one is written to the Variable
  `toggl_api_token_secret__<conn_id>`, never to XCom or logs.

**The reset code goes in a Variable, not in the run conf.** Airflow keeps a run's conf in plain
text (the UI shows it with the run, and `airflow dags test -c` records it in the `log` table). The
confirm DAG reads the code from the Variable `toggl_password_reset_code_secret` instead: its name
contains `secret`, so Airflow masks the value in logs and in the UI (and stores it encrypted when a
Fernet key is set). Set it just before triggering the DAG, from the CLI or under Admin > Variables:

```
airflow variables set toggl_password_reset_code_secret <code>
```

Keep the code the last argument: Airflow's CLI records each command in its `log` table and, for a
Variable with such a name, replaces only the last argument with `********`.

After a successful confirm the `delete_reset_code` task deletes the Variable: a code works once,
so it is useless by then anyway. If the confirm fails, the Variable stays, and a code Toggl did not
take can be tried again. A value set through an `AIRFLOW_VAR_...` environment variable or a
secrets backend is not deleted: remove it there.

Set `TOGGL_CONN_ID` to use another connection than `toggl_default`.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, Variable, task

from airflow_toggl.operators.toggl import (
    TogglConfirmPasswordResetOperator,
    TogglIdentityCheckOperator,
    TogglRequestPasswordResetOperator,
    TogglResetApiTokenOperator,
)

TOGGL_CONN_ID = os.environ.get("TOGGL_CONN_ID", "toggl_default")
RESET_CODE_VARIABLE = "toggl_password_reset_code_secret"  # as in the confirm task's template
COMMON = {
    "schedule": None,
    "start_date": datetime(2025, 1, 1),
    "catchup": False,
    "doc_md": __doc__,
    "tags": ["toggl"],
}

with DAG(
    dag_id="toggl_password_reset_request",
    description="Ask Toggl to email a password reset code.",
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
    params={"email": Param("", type="string", description="Empty: the connection's login.")},
    **COMMON,
):
    # [START howto_operator_toggl_request_password_reset]
    request_password_reset = TogglRequestPasswordResetOperator(
        task_id="request_password_reset",
        toggl_conn_id=TOGGL_CONN_ID,
        account_email="{{ params.email }}",
    )
    # [END howto_operator_toggl_request_password_reset]

with DAG(
    dag_id="toggl_password_reset_confirm",
    description="Set the connection's password on Toggl with an emailed reset code.",
    # A reset code works once: a retry could only fail.
    default_args={"retries": 0},
    **COMMON,
):
    # [START howto_operator_toggl_confirm_password_reset]
    confirm_password_reset = TogglConfirmPasswordResetOperator(
        task_id="confirm_password_reset",
        toggl_conn_id=TOGGL_CONN_ID,
        code="{{ var.value.toggl_password_reset_code_secret }}",
    )
    # [END howto_operator_toggl_confirm_password_reset]

    check_new_session = TogglIdentityCheckOperator(
        task_id="check_new_session",
        toggl_conn_id=TOGGL_CONN_ID,
        auth_mode="session",
        expected_user_id="{{ ti.xcom_pull(task_ids='confirm_password_reset')['user_id'] }}",
    )

    @task
    def delete_reset_code() -> None:
        """The code is spent once the confirm succeeded: do not keep it around."""
        Variable.delete(RESET_CODE_VARIABLE)

    confirm_password_reset >> [check_new_session, delete_reset_code()]

with DAG(
    dag_id="toggl_api_token_reset",
    description="Replace the Toggl API token; the new one goes to a Variable.",
    # Not retried: a second reset would replace the token written by the first.
    default_args={"retries": 0},
    **COMMON,
):
    # [START howto_operator_toggl_reset_api_token]
    reset_api_token = TogglResetApiTokenOperator(
        task_id="reset_api_token",
        toggl_conn_id=TOGGL_CONN_ID,
        token_variable=f"toggl_api_token_secret__{TOGGL_CONN_ID}",
    )
    # [END howto_operator_toggl_reset_api_token]
