"""Operators keep what they saw (quota, identity, rotation threshold) in the connection's status record.

The sessions page shows it without asking Toggl; a failing record write never fails the task.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_toggl.operators import toggl as ops
from airflow_toggl.sessions.status import StatusRecord, status_key
from devkit.doubles import MemoryVariables

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def env(toggl_conn_env: dict[str, str], variables: MemoryVariables, toggl_emulator) -> MemoryVariables:
    toggl_emulator.configure(quota_limit=30, quota_window=3600)
    return variables


def test_an_identity_check_keeps_whose_credentials_and_the_user_quota(
    env: MemoryVariables, toggl_user
) -> None:
    ops.TogglIdentityCheckOperator(task_id="me").execute({})
    status = StatusRecord("toggl_default", variables=env).load()
    assert status.identity is not None
    assert (status.identity["id"], status.identity["email"]) == (toggl_user["id"], toggl_user["email"])
    assert status.identity["auth_mode"] == "api_token"
    assert status.quotas["user"].remaining == 29
    assert toggl_user["api_token"] not in env.data[status_key("toggl_default")]


def test_a_rotation_keeps_its_threshold(env: MemoryVariables) -> None:
    ops.TogglRotateSessionOperator(task_id="rotate", min_remaining=timedelta(days=3)).execute({})
    status = StatusRecord("toggl_default", variables=env).load()
    assert status.rotation_threshold == timedelta(days=3)
    assert status.quotas["user"].remaining is not None


def test_a_failed_record_write_does_not_fail_the_task(env: MemoryVariables) -> None:
    env.fail_set = 1
    assert ops.TogglCredentialsCheckOperator(task_id="check").execute({})["logged_in"] is True
    assert status_key("toggl_default") not in env.data


def test_an_api_task_keeps_the_user_and_organization_quotas_apart(env: MemoryVariables, toggl_user) -> None:
    from airflow_toggl.operators.api import TogglApiOperator

    TogglApiOperator(task_id="workspaces", path="/api/v9/me/workspaces").execute({})
    workspace = toggl_user["default_workspace_id"]
    TogglApiOperator(task_id="projects", path=f"/api/v9/workspaces/{workspace}/projects").execute({})
    status = StatusRecord("toggl_default", variables=env).load()
    assert status.quotas["user"].remaining == 29
    assert status.quotas[f"workspace:{workspace}"].remaining == 29  # a new task: its organization unknown
