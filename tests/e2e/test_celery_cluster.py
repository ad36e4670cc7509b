"""The provider on a distributed Airflow: CeleryExecutor, PostgreSQL, Redis, two Celery workers.

One cluster serves the whole module (it takes a minute or two to start). The emulator plays
Toggl in this process, with sessions of 3 days (under the rotation threshold of 7, so every
rotation rotates) and cookies that do not start with ``eyJ`` (so a leaked one would be seen).
Each test uses its own Toggl users, so what one test leaves behind does not blur another's
counts; every test prints the figures it measured.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_toggl.emulator.server import TogglEmulator
from tests.conftest import ROOT, toggl_connection
from tests.e2e.airflow_cluster import basic_credentials
from tests.e2e.celery_cluster import WORKERS, CeleryCluster, celery_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.cluster, pytest.mark.timeout(900)]

SESSION_TTL = 3 * 24 * 3600
DAGS = Path(__file__).resolve().parent / "cluster_dags"
ROTATION_DAG = "toggl_session_rotation"
ROTATION_CONN = "toggl_rotation"

# One user per scenario: (connection id, email). Passwords and tokens are distinct per user.
ROTATION_USER = (ROTATION_CONN, "rotation@example.com")


def password_of(email: str) -> str:
    """A password that is easy to find in a log if it ever leaks (and is not a JWT)."""
    return "pw-" + base64.b32encode(email.encode()).decode().rstrip("=").lower()[:20]


def token_of(email: str) -> str:
    """A 32-hex-digit API token derived from the email."""
    return base64.b16encode(email.encode().ljust(16, b".")[:16]).decode().lower()


@pytest.fixture(scope="module")
def emulator() -> Iterator[TogglEmulator]:
    with TogglEmulator(cookie_style="no-eyj", session_ttl=SESSION_TTL) as running:
        yield running


@pytest.fixture(scope="module")
def users(emulator: TogglEmulator) -> dict[str, dict[str, Any]]:
    """conn_id -> emulator user record, for every connection the cluster knows."""
    wanted = [ROTATION_USER]
    return {
        conn_id: emulator.add_user(email, password_of(email), api_token=token_of(email), fullname=conn_id)
        for conn_id, email in wanted
    }


def connections_env(emulator: TogglEmulator, users: dict[str, dict[str, Any]]) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` for every user (the environment-variables secrets backend)."""
    env = {}
    for conn_id, user in users.items():
        connection = toggl_connection(emulator, user, requests_per_second=0, max_retries=6, timeout=10)
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
    return env


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, emulator: TogglEmulator, users: dict[str, dict[str, Any]]
) -> Iterator[CeleryCluster]:
    env = {
        **connections_env(emulator, users),
        "TOGGL_CONN_ID": ROTATION_CONN,
        "TOGGL_ROTATION_SCHEDULE": "@once",
    }
    redact = {}
    for conn_id, user in users.items():
        redact[f"{conn_id} password"] = user["password"]
        redact[f"{conn_id} api_token"] = user["api_token"]
    dag_files = [ROOT / "dags" / "toggl_session_rotation.py"]
    started = time.monotonic()
    with celery_cluster(
        tmp_path_factory.mktemp("cluster"),
        dag_files=dag_files,
        env=env,
        redact_in_reports=redact,
        spread_dag_ids=[ROTATION_DAG],
    ) as running:
        for dag_id in (ROTATION_DAG,):
            running.wait_for_dag(dag_id, timeout=240)
        print(f"\ncluster: started in {time.monotonic() - started:.0f}s")
        yield running


def stored_session(cluster: CeleryCluster, conn_id: str) -> dict[str, Any]:
    """The session store's value for a connection, decrypted by Airflow itself."""
    text = cluster.airflow("variables", "get", f"toggl_session_secret__{conn_id}").stdout
    return dict(json.loads(text.strip().splitlines()[-1]))


def me_over_the_wire(emulator: TogglEmulator, api_token: str) -> dict[str, Any]:
    """``/me`` as Toggl answers it (the emulator's user record does not hold ``intercom_hash``)."""
    request = urllib.request.Request(
        f"{emulator.url}/api/v9/me",
        headers={"Authorization": f"Basic {basic_credentials(api_token, 'api_token')}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response))


def test_rotation_runs_across_workers_keep_one_live_session(
    cluster: CeleryCluster, emulator: TogglEmulator, users: dict[str, dict[str, Any]]
) -> None:
    user = users[ROTATION_CONN]
    # The DAG is scheduled "@once": unpausing starts the first run; two manual runs follow.
    cluster.unpause(ROTATION_DAG)
    first = cluster.wait_until(
        lambda: cluster.dag_runs(ROTATION_DAG), timeout=120, interval=2, what="the first rotation run"
    )
    stored_tokens = []
    for number in range(3):
        run_id = first[0]["run_id"] if number == 0 else cluster.trigger(ROTATION_DAG)
        cluster.wait_for_run(ROTATION_DAG, run_id, timeout=300)
        tis = cluster.run_task_instances(ROTATION_DAG, run_id)
        where = {ti["task_id"]: ti["hostname"] for ti in tis}
        print(f"rotation run {number + 1}: " + ", ".join(f"{task} on {host}" for task, host in where.items()))
        # The store is written on one worker and read on the other.
        assert set(where.values()) == set(WORKERS), where
        assert where["rotate_session"] != where["check_session_identity"], where
        stored = stored_session(cluster, ROTATION_CONN)
        assert stored["user_id"] == user["id"]
        assert stored["stale_session_tokens"] == []
        live = emulator.live_sessions(user["email"], include_cookies=True)
        assert [session["cookie"] for session in live] == [stored["session_token"]]
        stored_tokens.append(stored["session_token"])
    assert len(set(stored_tokens)) == 3, "every run rotated"
    outcomes = cluster.xcom_values(ROTATION_DAG, "rotate_session")
    assert len(outcomes) == 3
    assert all(outcome["rotated"] for outcome in outcomes.values()), outcomes
    assert len(emulator.issued_sessions(user["email"])) == 3
    assert len(emulator.live_sessions(user["email"])) == 1
