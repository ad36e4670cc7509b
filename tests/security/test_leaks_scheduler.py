"""No secret in the logs and tables of DAG runs under a real scheduler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_toggl.emulator.server import TogglEmulator
from devkit.airflow import ROOT, toggl_connection
from devkit.airflow_cluster import AirflowCluster, find_leaks
from tests.support.secrets_scan import (
    CHECKED_TABLES,
    CLUSTER_EMAIL,
    CLUSTER_PASSWORD,
    CLUSTER_TOKEN,
    LIFECYCLE,
    ROTATION,
    STORE_KEY,
    Ledger,
    SecretBook,
    assert_no_leaks,
    other_tables,
)

pytestmark = pytest.mark.timeout(600)


# -- 2. the scheduler --------------------------------------------------------------------------


@dataclass
class SchedulerPhase:
    """The stopped deployment (its logs and DB stay) and the session store as it ended."""

    cluster: AirflowCluster
    stored: dict[str, Any] = field(default_factory=dict)


def wait_for_successes(cluster: AirflowCluster, dag_id: str, count: int, timeout: float = 300) -> None:
    """Wait for ``count`` successful runs of any type; fail early on a failed task."""

    def done() -> bool:
        cluster.assert_no_failed_tasks(dag_id)
        return sum(run["state"] == "success" for run in cluster.dag_runs(dag_id)) >= count

    cluster.wait_until(done, timeout=timeout, interval=2, what=f"{count} successful runs of {dag_id}")


@pytest.fixture(scope="module")
def scheduler_phase(
    tmp_path_factory: pytest.TempPathFactory, dag_emulator: TogglEmulator, dag_book: SecretBook
) -> Iterator[SchedulerPhase]:
    """One deployment: the lifecycle DAG once, then the rotation DAG twice (scheduled + triggered).

    The rotation runs last so the store still holds a session at the end (an encrypted Variable
    to check). Logging stays at Airflow's default level, as in production.
    """
    user = dag_emulator.add_user(
        CLUSTER_EMAIL, CLUSTER_PASSWORD, api_token=CLUSTER_TOKEN, fullname="Leak Scan Scheduler"
    )
    dag_book.add_user(dag_emulator, user)
    env = {
        "AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(toggl_connection(dag_emulator, user)),
        "TOGGL_CONN_ID": "toggl_default",
    }
    files = [ROOT / "dags" / f"{dag_id}.py" for dag_id in (ROTATION, LIFECYCLE)]
    home = tmp_path_factory.mktemp("scheduler") / "airflow"
    with AirflowCluster(home, dag_files=files, env=env, redact_in_reports=dag_book.values) as cluster:
        cluster.migrate()
        # The rotation DAG's tasks run in the pool named after the connection.
        cluster.set_pools({"toggl_default": 1})
        cluster.start()
        cluster.wait_for_dag(LIFECYCLE)
        cluster.wait_for_dag(ROTATION)
        cluster.airflow("dags", "unpause", LIFECYCLE)
        cluster.airflow("dags", "trigger", LIFECYCLE)
        wait_for_successes(cluster, LIFECYCLE, 1)
        cluster.airflow("dags", "pause", LIFECYCLE)
        cluster.airflow("dags", "unpause", ROTATION)  # the scheduler starts the latest daily run
        cluster.airflow("dags", "trigger", ROTATION)  # queued behind it (max_active_runs=1)
        wait_for_successes(cluster, ROTATION, 2)
        cluster.airflow("dags", "pause", ROTATION)
        cluster.wait_for_quiet(ROTATION)
        cluster.stop()
        stored = json.loads(cluster.airflow("variables", "get", STORE_KEY).stdout.strip().splitlines()[-1])
        dag_book.harvest(dag_emulator)
        yield SchedulerPhase(cluster=cluster, stored=stored)


@pytest.mark.e2e
def test_scheduler_runs_did_the_work(scheduler_phase: SchedulerPhase, dag_emulator: TogglEmulator) -> None:
    """Three sessions were issued (lifecycle, two rotations); the store holds the one still live."""
    cluster = scheduler_phase.cluster
    for dag_id, runs in ((LIFECYCLE, 1), (ROTATION, 2)):
        assert sum(run["state"] == "success" for run in cluster.dag_runs(dag_id)) >= runs
    issued = dag_emulator.issued_sessions(CLUSTER_EMAIL)
    assert len(issued) >= 3
    live = dag_emulator.live_sessions(CLUSTER_EMAIL, include_cookies=True)
    assert [session["cookie"] for session in live] == [scheduler_phase.stored["session_token"]]


@pytest.mark.e2e
def test_scheduler_logs_hold_no_secret(
    scheduler_phase: SchedulerPhase, dag_book: SecretBook, ledger: Ledger
) -> None:
    cluster = scheduler_phase.cluster
    texts = cluster.log_texts()
    # Positive controls: task logs of both DAGs exist, show the (public) email the identity checks
    # log, and what the session operators log.
    task_logs = [where for where, _ in texts if where.startswith("logs/dag_id=")]
    for dag_id in (LIFECYCLE, ROTATION):
        assert any(where.startswith(f"logs/dag_id={dag_id}/") for where in task_logs), task_logs
    seen = {leak.where for leak in find_leaks(texts, {"email": CLUSTER_EMAIL})}
    assert any(where.startswith("logs/dag_id=") for where in seen), seen
    logged = "\n".join(text for where, text in texts if where in task_logs)
    assert "Stored a new Toggl session under toggl_session_secret__toggl_default" in logged
    assert "Session under toggl_session_secret__toggl_default rotated" in logged
    leaks = ledger.scan("scheduler: task, process and component logs", texts, dag_book, unit="files")
    assert_no_leaks(leaks)


@pytest.mark.e2e
def test_scheduler_xcom_rendered_fields_and_variables_hold_no_secret(
    scheduler_phase: SchedulerPhase, dag_book: SecretBook, ledger: Ledger
) -> None:
    cluster = scheduler_phase.cluster
    sources = cluster.table_texts(CHECKED_TABLES)
    leaks = ledger.scan("scheduler: xcom, rendered fields, variable", sources, dag_book, unit="rows")
    assert any(leak.where.startswith("table xcom") for leak in find_leaks(sources, {"email": CLUSTER_EMAIL}))
    assert any(where.startswith("table rendered_task_instance_fields") for where, _ in sources)
    # The store's Variable holds a live session cookie (read back through the CLI), stored encrypted;
    # beside it only the status record the sessions page reads (no secret: the scan covers it).
    assert scheduler_phase.stored["session_token"] in dag_book.values.values()
    variables = cluster.query("SELECT key, is_encrypted FROM variable ORDER BY key")
    assert {row["key"] for row in variables} == {STORE_KEY, "toggl_status__toggl_default"}
    assert {"key": STORE_KEY, "is_encrypted": 1} in variables
    assert_no_leaks(leaks)


@pytest.mark.e2e
def test_scheduler_other_tables_hold_no_secret(
    scheduler_phase: SchedulerPhase, dag_book: SecretBook, ledger: Ledger
) -> None:
    cluster = scheduler_phase.cluster
    sources = cluster.table_texts(other_tables(cluster))
    assert any(where.startswith("table task_instance ") for where, _ in sources)
    assert_no_leaks(ledger.scan("scheduler: every other table", sources, dag_book, unit="rows"))
