"""Toggl's two hourly quotas kept apart by the client, against the two-quota emulator over HTTP.

A request naming a workspace counts against its organization's quota, every other one against the
user's; a used-up one never stops requests of the other, and the error says which quota was hit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_toggl.client import ApiTokenAuth, TogglClient
from airflow_toggl.client.quotas import USER_SCOPE, QuotaBook, organization_scope, quotas_listed, scope_of
from airflow_toggl.exceptions import TogglQuotaExceededError


@pytest.fixture
def client(make_client: Callable[..., TogglClient], toggl_user: dict[str, Any]) -> TogglClient:
    return make_client(ApiTokenAuth(toggl_user["api_token"]), max_quota_wait=0, max_retries=0)


def projects(user: dict[str, Any]) -> str:
    return f"/api/v9/workspaces/{user['default_workspace_id']}/projects"


def test_a_used_up_user_quota_leaves_workspace_requests_alone(
    toggl_emulator: Any, toggl_user: dict[str, Any], client: TogglClient
) -> None:
    toggl_emulator.configure(user_quota_limit=2, organization_quota_limit=50, quota_window=600)
    client.get_me()
    client.get_me()
    with pytest.raises(TogglQuotaExceededError) as refused:
        client.get_me()
    assert refused.value.scope == USER_SCOPE
    assert "the user quota" in str(refused.value)
    sent = toggl_emulator.counters()["requests"]
    client.request("GET", projects(toggl_user))  # not delayed, not refused
    workspace = f"workspace:{toggl_user['default_workspace_id']}"  # its organization not seen yet
    assert client.quotas[USER_SCOPE].remaining == 0
    assert client.quotas[workspace].remaining == 50 - 1
    assert client.last_quota is not None
    assert client.last_quota.scope == workspace
    assert sum(toggl_emulator.counters()["requests"].values()) == sum(sent.values()) + 1


def test_the_reverse_a_used_up_organization_quota_leaves_me_alone(
    toggl_emulator: Any, toggl_user: dict[str, Any], client: TogglClient
) -> None:
    toggl_emulator.configure(user_quota_limit=50, organization_quota_limit=2, quota_window=600)
    client.request("GET", "/api/v9/me/workspaces")  # maps the workspace to its organization
    client.request("GET", projects(toggl_user))
    client.request("GET", projects(toggl_user))
    with pytest.raises(TogglQuotaExceededError) as refused:
        client.request("GET", projects(toggl_user))
    organization = organization_scope(toggl_user["organization_id"])
    assert refused.value.scope == organization
    assert client.get_me()["id"] == toggl_user["id"]
    assert client.quotas[organization].remaining == 0
    assert client.quotas[USER_SCOPE].remaining == 50 - 2
    assert client.last_quota is not None
    assert client.last_quota.scope == USER_SCOPE


def test_all_quotas_up_front_in_one_request(
    toggl_emulator: Any, toggl_user: dict[str, Any], client: TogglClient
) -> None:
    toggl_emulator.configure(user_quota_limit=30, organization_quota_limit=240, quota_window=3600)
    quotas = client.read_quotas()
    organization = organization_scope(toggl_user["organization_id"])
    assert quotas[organization].remaining == 240
    assert quotas[USER_SCOPE].remaining == 30 - 1  # the /me/quota request itself
    assert sum(toggl_emulator.counters()["requests"].values()) == 1


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/api/v9/me", "user"),
        ("/api/v9/me/workspaces", "user"),
        ("/api/v9/me/quota", "user"),
        ("/api/v9/workspaces/7/projects", "organization:70"),
        ("/api/v9/workspaces/8", "workspace:8"),
        ("/api/v9/organizations/5/users", "organization:5"),
        ("/reports/api/v3/workspace/7/search/time_entries", "organization:70"),
        ("/reports/api/v3/workspace/9/summary/time_entries", "workspace:9"),
        ("/api/v9/workspacesX/7", "user"),
    ],
)
def test_scope_of_a_path(path: str, scope: str) -> None:
    assert scope_of(path, {7: 70}) == scope


def test_a_workspace_quota_moves_to_its_organization_once_known() -> None:
    book = QuotaBook()
    book.note("/api/v9/workspaces/8/projects", {"X-Toggl-Quota-Remaining": "12", "X-Toggl-Quota-Resets-In": "60"})
    book.learn("/api/v9/me/workspaces", [{"id": 8, "organization_id": 80}])
    assert set(book.quotas()) == {"organization:80"}
    assert book.scope("/api/v9/workspaces/8/tags") == "organization:80"


def test_quotas_listed_by_me_quota() -> None:
    listing = [
        {"organization_id": 5, "remaining": 200, "resets_in_secs": 12, "total": 240},
        {"organization_id": None, "remaining": 3, "resets_in_secs": 40, "total": 30},
        "not an entry",
    ]
    quotas = quotas_listed(listing)
    assert quotas["organization:5"].remaining == 200
    assert quotas[USER_SCOPE].resets_in == 40
