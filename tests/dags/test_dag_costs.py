"""What one run of each example DAG costs in Toggl's two hourly quotas, counted on the emulator.

Toggl documents two quotas: requests that name a workspace or organization count against the
organization's (30, 240 or 600 an hour by plan, per user), the others against the user's (30 an
hour). Each DAG runs with ``airflow dags test``; the emulator counts the requests by path, and the
paths are sorted into quotas by that rule. Accounts service requests (sessions, password resets)
are counted apart: Toggl's limits articles do not say whether they count. ``docs/limits.md``
quotes the table this test prints (``pytest -s``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devkit.airflow import run_airflow

pytestmark = pytest.mark.timeout(900)
ORGANIZATION_PATH = re.compile(r"^/(api/v9/(workspaces|organizations)|reports/api/v3/workspace)/\d+")
ACCOUNTS_PATHS = ("/api/sessions", "/api/signup", "/api/me/")


def quota_of(path: str) -> str:
    """Which quota a request counts against, by Toggl's documented rule (accounts: undocumented)."""
    if ORGANIZATION_PATH.match(path):
        return "organization"
    if path.startswith(ACCOUNTS_PATHS):
        return "accounts"
    return "user"


def costs(counters: dict[str, Any]) -> tuple[Counter[str], Counter[str]]:
    """(requests per quota, requests per method and path) from the emulator's counters."""
    by_path = Counter({key: int(n) for key, n in counters["requests"].items()})
    by_quota: Counter[str] = Counter()
    for key, count in by_path.items():
        by_quota[quota_of(key.split(" ", 1)[1])] += count
    return by_quota, by_path


@pytest.mark.parametrize(
    ("path", "quota"),
    [
        ("/api/v9/me", "user"),
        ("/api/v9/me/logged", "user"),
        ("/api/v9/me/time_entries", "user"),
        ("/api/v9/me/workspaces", "user"),
        ("/api/v9/workspaces/12/projects", "organization"),
        ("/api/v9/organizations/7/users", "organization"),
        ("/reports/api/v3/workspace/12/search/time_entries", "organization"),
        ("/api/sessions", "accounts"),
        ("/api/me/password_reset/request", "accounts"),
    ],
)
def test_paths_sort_into_quotas_as_toggl_documents(path: str, quota: str) -> None:
    assert quota_of(path) == quota


def test_one_run_of_each_example_dag_costs(
    airflow_db: Any, toggl_conn_env: dict[str, str], toggl_emulator, toggl_user, tmp_path: Path
) -> None:
    every = 600  # a week of entries every ten minutes: 1008 report rows, 6 pages of 200
    toggl_emulator.add_time_entries(
        toggl_user["email"], start="2026-11-22T00:00:00Z", count=15 * 86400 // every, every=every
    )
    env = {**toggl_conn_env, "TOGGL_EXPORT_DIR": str(tmp_path)}
    run_airflow("variables", "delete", "toggl_session_secret__toggl_default", env=env, check=False)
    toggl_emulator.configure(session_ttl=28 * 86400)
    runs = [
        ("toggl_session_rotation", "first run (store empty)", ()),
        ("toggl_session_rotation", "stored session not due", ()),
        ("toggl_credentials_health", "hourly check", ()),
        ("toggl_export_time_entries", "weekly export (1008 rows)", ("2026-11-30",)),
        ("toggl_session_lifecycle", "manual run (store holds a session)", ()),
        ("toggl_password_reset_request", "manual run", ()),
        ("toggl_api_token_reset", "manual run", ()),
    ]
    table = []
    for dag_id, case, args in runs:
        toggl_emulator.reset_counters()
        run_airflow("dags", "test", dag_id, *args, env=env, timeout=300)
        by_quota, by_path = costs(toggl_emulator.counters())
        paths = ", ".join(f"{key} x{n}" for key, n in sorted(by_path.items())).replace(
            f"/{toggl_user['default_workspace_id']}/", "/{workspace_id}/"
        )
        table.append((dag_id, case, by_quota["user"], by_quota["organization"], by_quota["accounts"], paths))
        if dag_id == "toggl_api_token_reset":  # the connection's token no longer works afterwards
            break
    print("\n| DAG | run | user quota (30/h) | organization quota (30/240/600 per h) | accounts service | requests |")
    print("|---|---|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    found = {(dag_id, case): (user, organization, accounts) for dag_id, case, user, organization, accounts, _ in table}
    assert found == {
        ("toggl_session_rotation", "first run (store empty)"): (1, 0, 1),
        ("toggl_session_rotation", "stored session not due"): (1, 0, 0),
        ("toggl_credentials_health", "hourly check"): (1, 0, 0),
        ("toggl_export_time_entries", "weekly export (1008 rows)"): (2, 6, 0),
        ("toggl_session_lifecycle", "manual run (store holds a session)"): (2, 0, 3),  # its create also retires the stored session
        ("toggl_password_reset_request", "manual run"): (0, 0, 1),
        ("toggl_api_token_reset", "manual run"): (1, 0, 0),
    }
    assert json.dumps(table)  # plain values only
