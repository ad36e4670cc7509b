"""Toggl's two hourly quotas: the user's own and each organization's, apart, with their 402s and headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from .helpers import PASSWORD, FakeClock
from .test_emulator_cli import start

Factory = Any


def _get(em: Any, user: dict[str, Any], path: str) -> requests.Response:
    return requests.get(f"{em.url}{path}", auth=(user["api_token"], "api_token"), timeout=5)


def test_user_quota_used_up_while_workspace_requests_still_work(
    toggl_emulator_factory: Factory, clock: FakeClock
) -> None:
    em = toggl_emulator_factory(user_quota_limit=2, organization_quota_limit=3, clock=clock)
    user = em.add_user("alice@example.com", PASSWORD)
    projects = f"/api/v9/workspaces/{user['default_workspace_id']}/projects"
    assert [_get(em, user, "/api/v9/me").status_code for _ in range(3)] == [200, 200, 402]
    answers = [_get(em, user, projects) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 402]
    assert [a.headers["X-Toggl-Quota-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    refused = _get(em, user, "/api/v9/me")
    assert refused.status_code == 402
    assert refused.headers["X-Toggl-Quota-Remaining"] == "0"
    assert isinstance(refused.json(), str)
    clock.advance(3600)
    assert _get(em, user, "/api/v9/me").status_code == 200


def test_organization_quota_follows_the_plan(toggl_emulator_factory: Factory) -> None:
    em = toggl_emulator_factory(plan_quotas=True)
    user = em.add_user("alice@example.com", PASSWORD)
    quotas = {q["organization_id"]: q["total"] for q in _get(em, user, "/api/v9/me/quota").json()}
    assert quotas == {user["organization_id"]: 30, None: 30}
    for plan, total in (("starter", 240), ("premium", 600)):
        em.set_plan(user["organization_id"], plan)
        quotas = {q["organization_id"]: q["total"] for q in em.quotas("alice@example.com")}
        assert quotas == {user["organization_id"]: total, None: 30}


def test_me_quota_lists_each_organization(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(plan_quotas=True, clock=clock)
    user = em.add_user("alice@example.com", PASSWORD)
    second = em.add_organization("alice@example.com", "Second", plan="premium")
    second_workspace = next(
        w for w in _get(em, user, "/api/v9/me/workspaces").json() if w["organization_id"] == second["id"]
    )
    _get(em, user, f"/api/v9/workspaces/{second_workspace['id']}/projects")
    listed = {q["organization_id"]: q for q in _get(em, user, "/api/v9/me/quota").json()}
    assert listed[second["id"]]["total"] == 600
    assert listed[second["id"]]["remaining"] == 599
    assert listed[user["organization_id"]]["remaining"] == 30
    assert listed[None]["remaining"] == 28  # /me/workspaces and /me/quota itself


def test_plan_refusal_is_402_with_requests_remaining(toggl_emulator_factory: Factory) -> None:
    em = toggl_emulator_factory(plan_quotas=True)
    user = em.add_user("alice@example.com", PASSWORD)
    url = f"{em.url}/api/v9/workspaces/{user['default_workspace_id']}/projects"
    auth = (user["api_token"], "api_token")
    refused = requests.post(url, json={"name": "Coloured", "color": "#123456"}, auth=auth, timeout=5)
    assert refused.status_code == 402
    assert refused.json() == "Custom project colors available only for premium plans"
    assert int(refused.headers["X-Toggl-Quota-Remaining"]) == 29
    em.set_plan(user["organization_id"], "premium")
    created = requests.post(url, json={"name": "Coloured", "color": "#123456"}, auth=auth, timeout=5)
    assert created.status_code == 200
    assert created.json()["color"] == "#123456"


def test_quotas_through_the_control_api(toggl_emulator_factory: Factory) -> None:
    em = toggl_emulator_factory()
    user = em.add_user("alice@example.com", PASSWORD)
    control = f"{em.url}/_emulator"
    settings = requests.post(
        f"{control}/config", json={"user_quota_limit": 1, "organization_quota_limit": 5}, timeout=5
    ).json()
    assert (settings["user_quota_limit"], settings["organization_quota_limit"]) == (1, 5)
    assert _get(em, user, "/api/v9/me").status_code == 200
    assert _get(em, user, "/api/v9/me/logged").status_code == 402  # metered by default
    listed = requests.get(f"{control}/quotas", params={"email": "alice@example.com"}, timeout=5).json()
    assert {q["organization_id"]: q["remaining"] for q in listed} == {user["organization_id"]: 5, None: 0}
    answer = requests.post(
        f"{control}/plan", json={"organization_id": user["organization_id"], "plan": "gold"}, timeout=5
    )
    assert answer.status_code == 400
    assert "plan" in answer.json()["message"]


def test_cli_sets_the_quotas_and_seeds_time_entries(tmp_path: Path) -> None:
    token = "fedcba9876543210fedcba9876543210"
    process, info = start(
        tmp_path,
        "--user",
        f"cli@example.com:hunter2-pass:{token}",
        "--plan-quotas",
        "--plan",
        "starter",
        "--time-entries",
        "500",
        "--projects",
        "4",
    )
    try:
        auth = (token, "api_token")
        entries = requests.get(f"{info['url']}/api/v9/me/time_entries", auth=auth, timeout=5)
        assert len(entries.json()) == 500
        quotas = requests.get(f"{info['url']}/api/v9/me/quota", auth=auth, timeout=5).json()
        assert sorted(q["total"] for q in quotas) == [30, 240]
        projects = requests.get(f"{info['url']}/api/v9/me/projects", auth=auth, timeout=5).json()
        assert len(projects) == 3 + 4
    finally:
        process.terminate()
        process.communicate(timeout=10)
