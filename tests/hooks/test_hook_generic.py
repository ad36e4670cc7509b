"""TogglHook.request and TogglHook.paginate with each of the connection's credentials, over HTTP."""

from __future__ import annotations

import json

import pytest

from airflow_toggl.exceptions import TogglConfigError, TogglQuotaExceededError
from airflow_toggl.hooks.toggl import TogglHook
from devkit.airflow import toggl_connection

AUTH_MODES = ("api_token", "basic", "session")
WEEK = {"start_date": "2026-11-23", "end_date": "2026-11-29"}


@pytest.fixture
def hook_for(toggl_conn_env, toggl_emulator, toggl_user, variables):
    """A hook for ``auth_mode``; session mode reads the session kept in the connection's store."""
    from airflow_toggl.sessions.store import SessionStore, default_session_key

    def make(auth_mode: str) -> TogglHook:
        if auth_mode == "session":
            session = TogglHook(auth_mode="basic").create_session()
            SessionStore(default_session_key("toggl_default")).save(session, user_id=toggl_user["id"])
        return TogglHook(auth_mode=auth_mode)

    return make


@pytest.mark.parametrize("auth_mode", AUTH_MODES)
def test_request_with_each_credential(hook_for, toggl_emulator, toggl_user, auth_mode: str) -> None:
    hook = hook_for(auth_mode)
    toggl_emulator.reset_counters()
    workspaces = hook.request("GET", "/api/v9/me/workspaces")
    assert [w["id"] for w in workspaces] == [toggl_user["default_workspace_id"]]
    kind = {"api_token": "token", "basic": "basic", "session": "session"}[auth_mode]
    by_credential = toggl_emulator.counters()["requests_by_credential"]
    assert by_credential == {f"{kind}:{toggl_user['email']} GET /api/v9/me/workspaces": 1}


@pytest.mark.parametrize("auth_mode", AUTH_MODES)
def test_head_with_each_credential(hook_for, toggl_emulator, toggl_user, auth_mode: str) -> None:
    hook = hook_for(auth_mode)
    toggl_emulator.reset_counters()
    assert hook.request("HEAD", "/api/v9/me/time_entries") is None
    assert toggl_emulator.counters()["responses"] == {"HEAD /api/v9/me/time_entries 200": 1}


@pytest.mark.parametrize("auth_mode", AUTH_MODES)
def test_paginate_with_each_credential(hook_for, toggl_emulator, toggl_user, auth_mode: str) -> None:
    toggl_emulator.add_time_entries(toggl_user["email"], start="2026-11-23T00:00:00Z", count=130, every=3600)
    hook = hook_for(auth_mode)
    path = f"/reports/api/v3/workspace/{toggl_user['default_workspace_id']}/search/time_entries"
    rows = list(hook.paginate(path, style="rows", json=WEEK, page_size=50))
    assert [row["row_number"] for row in rows] == list(range(1, 131))
    projects = hook.paginate(f"/api/v9/workspaces/{toggl_user['default_workspace_id']}/projects", page_size=2)
    assert len(list(projects)) == 3


def test_request_uses_the_connections_quota_policy(toggl_emulator, toggl_user, monkeypatch) -> None:
    connection = toggl_connection(toggl_emulator, toggl_user, max_quota_wait=0)
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    toggl_emulator.configure(quota_limit=1, quota_window=600)
    hook = TogglHook()
    hook.request("GET", "/api/v9/me/workspaces")
    assert hook.last_quota is not None
    assert hook.last_quota.remaining == 0
    with pytest.raises(TogglQuotaExceededError) as info:
        hook.request("GET", "/api/v9/me/workspaces")
    assert 500 < info.value.resets_in <= 600


def test_answers_are_masked_and_scrubbed(toggl_conn_env, toggl_user, masked) -> None:
    hook = TogglHook()
    me = hook.request("GET", "/api/v9/me")
    assert me["intercom_hash"] in masked
    clean = hook.without_secrets(me)
    assert clean["api_token"] == "***"
    assert clean["intercom_hash"] == "***"
    assert toggl_user["api_token"] not in json.dumps(clean)


def test_a_bad_path_fails_naming_it_before_any_request(toggl_conn_env, toggl_emulator) -> None:
    hook = TogglHook()
    for bad in ("https://elsewhere.example/api", "/api/v9/../../admin"):
        with pytest.raises(TogglConfigError) as info:
            hook.request("GET", bad)
        assert info.value.field == "path"
    with pytest.raises(TogglConfigError) as info:
        hook.paginate("/api/v9/me/time_entries", style="cursor")
    assert info.value.field == "style"
    assert toggl_emulator.counters()["requests"] == {}
