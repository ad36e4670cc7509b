"""Checks of the distributed cluster harness's own parts: the write counter, the queue policy,
and the PostgreSQL and Redis servers it starts and stops."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from tests.support.celery_cluster import (
    CLUSTER_PATH,
    PostgresServer,
    RedisServer,
    count_writes,
    ensure_cluster_packages,
)

LOG = """\
2026-12-02 01:00:00.001 UTC [10] LOG:  statement: UPDATE job SET latest_heartbeat='2026-12-02' WHERE job.id = 3
2026-12-02 01:00:00.002 UTC [11] LOG:  execute __asyncpg_stmt_1__: INSERT INTO xcom (dag_run_id, task_id) VALUES ($1, $2)
2026-12-02 01:00:00.003 UTC [12] LOG:  statement: INSERT INTO variable (key, val) VALUES ('k', 'v')
2026-12-02 01:00:00.004 UTC [12] LOG:  statement: DELETE FROM "variable" WHERE key = 'k'
2026-12-02 01:00:00.005 UTC [12] LOG:  statement: SELECT 1 FROM variable
2026-12-02 01:00:00.006 UTC [12] LOG:  statement: BEGIN
"""


def test_count_writes_counts_inserts_updates_and_deletes_per_table() -> None:
    assert count_writes(LOG) == {"job": 1, "xcom": 1, "variable": 2}


def test_the_policy_spreads_a_chain_over_the_queues_in_dependency_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    monkeypatch.syspath_prepend(str(CLUSTER_PATH))
    monkeypatch.setenv("TOGGL_CLUSTER_QUEUES", "worker-a,worker-b")
    monkeypatch.setenv("TOGGL_CLUSTER_SPREAD_DAGS", "spread")
    sys.modules.pop("airflow_local_settings", None)
    import airflow_local_settings

    for dag_id in ("spread", "left_alone"):
        with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2025, 1, 1)) as dag:
            third = EmptyOperator(task_id="a_last")
            first = EmptyOperator(task_id="z_first")
            second = EmptyOperator(task_id="m_second")
            first >> second >> third
        for task in dag.tasks:
            airflow_local_settings.task_policy(task)
        queues = {task.task_id: task.queue for task in dag.tasks}
        if dag_id == "spread":
            assert queues == {"z_first": "worker-a", "m_second": "worker-b", "a_last": "worker-a"}
        else:
            assert set(queues.values()) == {"default"}
    sys.modules.pop("airflow_local_settings", None)


@pytest.mark.e2e
@pytest.mark.cluster
def test_postgres_and_redis_start_answer_and_stop_by_process_id(tmp_path: Path) -> None:
    ensure_cluster_packages()
    with PostgresServer() as postgres, RedisServer(tmp_path / "redis") as redis:
        assert postgres.query("SELECT current_database() AS name") == [{"name": "airflow"}]
        offset = postgres.log_offset()
        postgres.execute("CREATE TABLE probe (id int)")
        postgres.execute("INSERT INTO probe VALUES (1)")
        assert postgres.writes_since(offset) == {"probe": 1}
        assert redis.process is not None
        assert redis.url == f"redis://127.0.0.1:{redis.port}/0"
        pids = [postgres.process.pid, redis.process.pid]  # type: ignore[union-attr]
        if os.geteuid() == 0:
            assert psutil.Process(pids[0]).username() == "postgres"
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
