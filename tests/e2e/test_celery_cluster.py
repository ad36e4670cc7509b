"""The provider on a distributed Airflow: CeleryExecutor, PostgreSQL, Redis, two Celery workers.

One cluster serves the whole module (it takes a minute or two to start). The emulator plays
Toggl in this process, with sessions of 3 days (under the rotation threshold of 7, so every
rotation rotates) and cookies that do not start with ``eyJ`` (so a leaked one would be seen).
Each test uses Toggl users of its own, so what one test leaves behind does not blur another's
counts; every test prints the figures it measured (run with ``-s`` to see them).
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from airflow_toggl.emulator.server import TogglEmulator
from devkit.airflow import toggl_connection
from devkit.airflow_cluster import basic_credentials, find_leaks
from tests.support.celery_cluster import WORKERS, CeleryCluster, celery_cluster
from tests.support.secrets_scan import me_over_the_wire

pytestmark = [pytest.mark.e2e, pytest.mark.cluster, pytest.mark.timeout(1500)]

SESSION_TTL = 3 * 24 * 3600
DAGS = Path(__file__).resolve().parent / "cluster_dags"

ROTATION_DAG = "toggl_rotation_handoff"  # the example rotation, plus a check on the other worker
FANOUT_DAGS = ("toggl_identity_fanout_pooled", "toggl_identity_fanout_unpooled")
FLEET_DAG = "toggl_fleet_rotation"
DEFERRAL_DAG = "toggl_quota_deferral"
RACE_DAGS = ("toggl_concurrent_rotation_pooled", "toggl_concurrent_rotation_unpooled")

ROTATION_CONN = "toggl_rotation"
FANOUT_CONN = "toggl_fanout"
DEFERRAL_CONN = "toggl_deferral"
RACE_CONNS = ("toggl_race_pooled", "toggl_race_unpooled")
FLEET_SIZE = 50
FLEET_CONNS = tuple(f"toggl_fleet_{number:02d}" for number in range(FLEET_SIZE))
FANOUT_CHECKS = 30
QUOTA_WINDOW = 40.0
"""Seconds of the emulator's quota window in the deferral test."""
TASK_TABLES = frozenset(
    {
        "task_instance",
        "task_instance_history",
        "xcom",
        "rendered_task_instance_fields",
        "variable",
        "celery_taskmeta",
        "log",
    }
)
"""Metadata tables written once or more for each task that runs (``log`` is Airflow's audit log)."""
RACE_RUNS = {RACE_DAGS[0]: 2, RACE_DAGS[1]: 3}
RACE_CREATE_DELAY = 4.0
"""Seconds the emulator takes to create a session in the race test: both rotations overlap."""

# Connection extras beyond the defaults (pacing off, a few retries).
CONNECTION_EXTRAS: dict[str, dict[str, Any]] = {
    # Thirty checks of one account against a 1 request/s limit, pacing at that rate (the default).
    FANOUT_CONN: {"max_retries": 12, "requests_per_second": 1},
    # Never wait for the quota in the worker: defer to the triggerer.
    DEFERRAL_CONN: {"max_quota_wait": 0},
    # The fleet's connections pace at Toggl's rate, one request per second per account.
    **{conn_id: {"requests_per_second": 1} for conn_id in FLEET_CONNS},
}


def password_of(conn_id: str) -> str:
    """A distinctive password (easy to find in a log if it ever leaked; not a JWT)."""
    return "pw-" + base64.b32encode(conn_id.encode()).decode().rstrip("=").lower()[-20:]


def token_of(conn_id: str) -> str:
    """A distinctive 32-hex-digit API token."""
    return conn_id.encode().hex()[-32:].rjust(32, "7")


def email_of(conn_id: str) -> str:
    return f"{conn_id.replace('_', '-')}@example.com"


@pytest.fixture(scope="module")
def emulator() -> Iterator[TogglEmulator]:
    with TogglEmulator(cookie_style="no-eyj", session_ttl=SESSION_TTL) as running:
        yield running


@pytest.fixture(scope="module")
def users(emulator: TogglEmulator) -> dict[str, dict[str, Any]]:
    """conn_id -> emulator user record, one Toggl account per connection."""
    conn_ids = [ROTATION_CONN, FANOUT_CONN, DEFERRAL_CONN, *RACE_CONNS, *FLEET_CONNS]
    return {
        conn_id: emulator.add_user(
            email_of(conn_id), password_of(conn_id), api_token=token_of(conn_id), fullname=conn_id
        )
        for conn_id in conn_ids
    }


def connections_env(emulator: TogglEmulator, users: dict[str, dict[str, Any]]) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` for every user (Airflow's environment-variables secrets backend)."""
    env = {}
    for conn_id, user in users.items():
        extras = {"max_retries": 4, "timeout": 10, **CONNECTION_EXTRAS.get(conn_id, {})}
        connection = toggl_connection(emulator, user, **extras)
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
        "TOGGL_FANOUT_CONN_ID": FANOUT_CONN,
        "TOGGL_FANOUT_CHECKS": str(FANOUT_CHECKS),
        "TOGGL_FANOUT_POOL": FANOUT_CONN,
        "TOGGL_FLEET_CONN_IDS": ",".join(FLEET_CONNS),
        "TOGGL_DEFERRAL_CONN_ID": DEFERRAL_CONN,
        "TOGGL_RACE_POOLED_CONN_ID": RACE_CONNS[0],
        "TOGGL_RACE_UNPOOLED_CONN_ID": RACE_CONNS[1],
        "TOGGL_RACE_POOL": RACE_CONNS[0],
    }
    redact = {}
    for conn_id, user in users.items():
        redact[f"{conn_id} password"] = user["password"]
        redact[f"{conn_id} api_token"] = user["api_token"]
    dag_files = sorted(DAGS.glob("*.py"))
    started = time.monotonic()
    with celery_cluster(
        tmp_path_factory.mktemp("cluster"),
        dag_files=dag_files,
        env=env,
        redact_in_reports=redact,
        spread_dag_ids=[ROTATION_DAG, *RACE_DAGS],
    ) as running:
        # One pool per Toggl account, one slot, named after its connection (as the rotation DAG
        # expects): the rotation's account, the fan-out's, the pooled race's.
        running.set_pools({conn_id: 1 for conn_id in (ROTATION_CONN, FANOUT_CONN, RACE_CONNS[0])})
        for dag_id in (ROTATION_DAG, *FANOUT_DAGS, FLEET_DAG, DEFERRAL_DAG, *RACE_DAGS):
            running.wait_for_dag(dag_id, timeout=300)
        print(f"\ncluster: started and parsed in {time.monotonic() - started:.0f}s")
        yield running


# -- observing the cluster ---------------------------------------------------------------------


def stored_sessions(cluster: CeleryCluster, conn_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """conn_id -> the session store's value, read from PostgreSQL and decrypted with the Fernet key."""
    fernet = Fernet(cluster.env["AIRFLOW__CORE__FERNET_KEY"].encode())
    keys = {f"toggl_session_secret__{conn_id}": conn_id for conn_id in conn_ids}
    rows = cluster.query("SELECT key, val, is_encrypted FROM variable")
    found = {}
    for row in rows:
        if row["key"] in keys:
            assert row["is_encrypted"], f"{row['key']} is stored unencrypted"
            found[keys[row["key"]]] = json.loads(fernet.decrypt(row["val"].encode()))
    return found


def span(tis: Sequence[dict[str, Any]]) -> float:
    """Seconds from the first task's start to the last one's end."""
    starts = [ti["start_date"] for ti in tis]
    ends = [ti["end_date"] for ti in tis]
    return (max(ends) - min(starts)).total_seconds()


def mean_duration(tis: Sequence[dict[str, Any]]) -> float:
    """Mean seconds a task instance ran (start to end)."""
    return sum((ti["end_date"] - ti["start_date"]).total_seconds() for ti in tis) / len(tis)


def most_at_once(tis: Sequence[dict[str, Any]]) -> int:
    """The largest number of task instances that were running at the same moment."""
    events: list[tuple[datetime, int]] = []
    for ti in tis:
        events += [(ti["start_date"], 1), (ti["end_date"], -1)]
    running = peak = 0
    for _, step in sorted(events, key=lambda event: (event[0], event[1])):
        running += step
        peak = max(peak, running)
    return peak


def request_count(counters: dict[str, Any], *keys: str) -> int:
    return sum(int(counters["requests"].get(key, 0)) for key in keys)


# -- the runs ----------------------------------------------------------------------------------


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
        print(
            f"rotation run {number + 1}: "
            + ", ".join(f"{task} on {host}" for task, host in where.items())
            + f"; {span(tis):.1f}s"
        )
        # The store is written on one worker and read on the other.
        assert set(where.values()) == set(WORKERS), where
        assert where["rotate_session"] != where["check_session_identity"], where
        assert {ti["pool"] for ti in tis} == {ROTATION_CONN}, tis
        stored = stored_sessions(cluster, [ROTATION_CONN])[ROTATION_CONN]
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


def test_identity_fanout_with_and_without_a_one_slot_pool(
    cluster: CeleryCluster, emulator: TogglEmulator, users: dict[str, dict[str, Any]]
) -> None:
    # Toggl's leaky bucket: about one request per second per account.
    emulator.configure(rate_limit_rps=1, rate_limit_burst=1, rate_limit_key="account")
    figures = {}
    try:
        for dag_id in FANOUT_DAGS:
            emulator.reset_counters()
            cluster.unpause(dag_id)
            run_id = cluster.trigger(dag_id)
            run = cluster.wait_for_run(dag_id, run_id, timeout=900)
            counters = emulator.counters()
            tis = cluster.run_task_instances(dag_id, run_id)
            assert len(tis) == FANOUT_CHECKS
            assert {ti["state"] for ti in tis} == {"success"}
            figures[dag_id] = {
                "429": counters["rate_limited"],
                "me_ok": counters["responses"].get("GET /api/v9/me 200", 0),
                "requests": request_count(counters, "GET /api/v9/me"),
                "tasks_span": span(tis),
                "run_wall": (run["end_date"] - run["start_date"]).total_seconds(),
                "at_once": most_at_once(tis),
                "workers": sorted({ti["hostname"] for ti in tis}),
            }
    finally:
        emulator.configure(rate_limit_rps=None)
    print(f"\nidentity fan-out: {FANOUT_CHECKS} mapped /me checks of one account, 1 request/s limit")
    print(f"{'variant':<10} {'429s':>5} {'requests':>8} {'at once':>7} {'tasks span':>10} {'run wall':>9}")
    for dag_id, row in figures.items():
        variant = dag_id.rsplit("_", 1)[-1]
        print(
            f"{variant:<10} {row['429']:>5} {row['requests']:>8} {row['at_once']:>7} "
            f"{row['tasks_span']:>9.1f}s {row['run_wall']:>8.1f}s  {', '.join(row['workers'])}"
        )
    pooled, unpooled = (figures[dag_id] for dag_id in FANOUT_DAGS)
    assert pooled["me_ok"] == unpooled["me_ok"] == FANOUT_CHECKS
    # The pool holds one task of the account at a time, whichever worker runs it, and the host-wide
    # pacing spaces each task's first request from the previous task's last: no 429, however fast
    # the tasks start.
    assert pooled["at_once"] == 1, pooled
    assert pooled["429"] == 0, pooled
    assert unpooled["at_once"] > 1, unpooled
    assert pooled["requests"] == FANOUT_CHECKS + pooled["429"]
    assert unpooled["requests"] == FANOUT_CHECKS + unpooled["429"]


def test_fifty_connections_rotated_by_one_mapped_task(
    cluster: CeleryCluster, emulator: TogglEmulator, users: dict[str, dict[str, Any]]
) -> None:
    cluster.unpause(FLEET_DAG)
    walls = rotate_fleet_twice(cluster, emulator, users)
    print(f"fleet rotation: {FLEET_SIZE} rotations at 3 requests each in {walls[1]:.1f}s")


def rotate_fleet_twice(
    cluster: CeleryCluster, emulator: TogglEmulator, users: dict[str, dict[str, Any]]
) -> list[float]:
    """Run the fleet DAG twice, check each run's requests and stores; the runs' wall times."""
    walls = []
    for number in range(2):
        emulator.reset_counters()
        log_offset = cluster.database.log_offset()
        run_id = cluster.trigger(FLEET_DAG)
        run = cluster.wait_for_run(FLEET_DAG, run_id, timeout=900)
        counters = emulator.counters()
        writes = cluster.database.writes_since(log_offset)
        tis = cluster.run_task_instances(FLEET_DAG, run_id)
        assert len(tis) == FLEET_SIZE
        wall = (run["end_date"] - run["start_date"]).total_seconds()
        walls.append(wall)
        total = sum(counters["requests"].values())
        print(
            f"\nfleet rotation run {number + 1}: {FLEET_SIZE} connections, {total} requests "
            f"({total / FLEET_SIZE:.2f} per rotation), run wall {wall:.1f}s, tasks span {span(tis):.1f}s, "
            f"mean task {mean_duration(tis):.1f}s, "
            f"at once {most_at_once(tis)}, workers {sorted({ti['hostname'] for ti in tis})}, "
            f"429s {counters['rate_limited']}"
        )
        # Rows written because tasks ran, against what the components write anyway (heartbeats,
        # DAG parsing, scheduling decisions) during the same time.
        per_task = {table: count for table, count in writes.items() if table in TASK_TABLES}
        background = sum(writes.values()) - sum(per_task.values())
        print(
            f"fleet rotation run {number + 1}: metadata DB writes for the tasks {sum(per_task.values())} "
            f"({sum(per_task.values()) / FLEET_SIZE:.1f} per rotation: "
            + ", ".join(
                f"{table} {count / FLEET_SIZE:.1f}" for table, count in Counter(per_task).most_common()
            )
            + f"); background writes meanwhile {background}"
        )
        assert writes["variable"] >= FLEET_SIZE, writes
        # Run 1 finds empty stores: create + verify. Run 2 also deletes the replaced session: the
        # physical minimum of a rotation (one request to create, one to verify, one to delete).
        expected = {"POST /api/sessions": FLEET_SIZE, "GET /api/v9/me": FLEET_SIZE}
        if number == 1:
            expected["DELETE /api/sessions"] = FLEET_SIZE
        assert counters["requests"] == expected, counters["requests"]
        stored = stored_sessions(cluster, FLEET_CONNS)
        assert sorted(stored) == sorted(FLEET_CONNS)
        for conn_id in FLEET_CONNS:
            live = emulator.live_sessions(users[conn_id]["email"], include_cookies=True)
            assert [session["cookie"] for session in live] == [stored[conn_id]["session_token"]], conn_id
    return walls


def test_deferred_task_waits_for_the_quota_in_the_triggerer(
    cluster: CeleryCluster, emulator: TogglEmulator, users: dict[str, dict[str, Any]]
) -> None:
    # One /me per window: the DAG's first task uses it, the second meets a 402 that resets in
    # about QUOTA_WINDOW seconds (longer than a deferrable task waits in its worker slot).
    emulator.configure(quota_limit=1, quota_window=QUOTA_WINDOW)
    try:
        emulator.reset_counters()
        cluster.unpause(DEFERRAL_DAG)
        run_id = cluster.trigger(DEFERRAL_DAG)

        def deferred() -> bool:
            states = {ti["task_id"]: ti["state"] for ti in cluster.run_task_instances(DEFERRAL_DAG, run_id)}
            assert states.get("check_identity") != "success", "finished without deferring"
            return states.get("check_identity") == "deferred"

        cluster.wait_until(deferred, timeout=300, interval=0.5, what="the identity check to defer")
        deferred_at = time.monotonic()
        # While it waits in the triggerer, no worker runs a task process for it.
        cluster.wait_until(
            lambda: not any(cluster.task_processes(worker) for worker in WORKERS) and deferred(),
            timeout=QUOTA_WINDOW / 2,
            interval=0.5,
            what="the workers to be idle while the task is deferred",
        )
        run = cluster.wait_for_run(DEFERRAL_DAG, run_id, timeout=300)
        waited = time.monotonic() - deferred_at
        counters = emulator.counters()
    finally:
        emulator.configure(quota_limit=None, quota_window=3600)
    tis = {ti["task_id"]: ti for ti in cluster.run_task_instances(DEFERRAL_DAG, run_id)}
    print(
        f"\nquota deferral: deferred with no worker busy, resumed on {tis['check_identity']['hostname']} "
        f"and finished about {waited:.0f}s later (quota window {QUOTA_WINDOW:.0f}s); "
        f"run wall {(run['end_date'] - run['start_date']).total_seconds():.1f}s; "
        f"402s {counters['quota_exceeded']}"
    )
    assert counters["responses"].get("GET /api/v9/me 402", 0) == 1, counters
    assert counters["responses"].get("GET /api/v9/me 200", 0) == 2, counters
    trigger_logs = [
        path
        for path in cluster.task_log_files(DEFERRAL_DAG, component="triggerer")
        if ".trigger." in path.name
    ]
    assert trigger_logs, "the triggerer wrote no log for the deferred task"
    assert "Waiting for the Toggl quota" in trigger_logs[0].read_text(errors="replace")


def test_concurrent_rotations_of_one_connection(
    cluster: CeleryCluster, emulator: TogglEmulator, users: dict[str, dict[str, Any]]
) -> None:
    # A slow session creation: two rotations started together are both in flight at once.
    emulator.inject_fault("/api/sessions", method="POST", action="delay", delay=RACE_CREATE_DELAY, count=None)
    rows = []
    try:
        for dag_id, conn_id in zip(RACE_DAGS, RACE_CONNS, strict=True):
            email = users[conn_id]["email"]
            cluster.unpause(dag_id)
            for number in range(RACE_RUNS[dag_id]):
                run_id = cluster.trigger(dag_id)
                cluster.wait_for_run(dag_id, run_id, timeout=300)
                tis = cluster.run_task_instances(dag_id, run_id)
                stored = stored_sessions(cluster, [conn_id])[conn_id]
                live = [session["cookie"] for session in emulator.live_sessions(email, include_cookies=True)]
                rows.append(
                    {
                        "variant": dag_id.rsplit("_", 1)[-1],
                        "run": number + 1,
                        "at_once": most_at_once(tis),
                        "workers": sorted({ti["hostname"] for ti in tis}),
                        "live": len(live),
                        "stored_live": stored["session_token"] in live,
                        "issued": len(emulator.issued_sessions(email)),
                    }
                )
    finally:
        emulator.clear_faults()
    print(f"\nconcurrent rotations of one connection (session creation takes {RACE_CREATE_DELAY:.0f}s)")
    print(f"{'variant':<10} {'run':>3} {'at once':>7} {'issued':>6} {'live':>4} {'store live':>10}")
    for row in rows:
        print(
            f"{row['variant']:<10} {row['run']:>3} {row['at_once']:>7} {row['issued']:>6} {row['live']:>4} "
            f"{row['stored_live']!s:>10}  {', '.join(row['workers'])}"
        )
    pooled = [row for row in rows if row["variant"] == "pooled"]
    unpooled = [row for row in rows if row["variant"] == "unpooled"]
    # With the connection's one-slot pool the two rotations take turns: one live session, stored.
    assert all(row["at_once"] == 1 and row["live"] == 1 and row["stored_live"] for row in pooled), pooled
    assert all(row["workers"] == sorted(WORKERS) for row in rows), rows
    # Without it they overlap; whatever else happens, the store must still hold a working session.
    assert all(row["at_once"] == 2 for row in unpooled), unpooled
    assert all(row["stored_live"] for row in unpooled), unpooled


def test_no_secret_in_any_worker_or_triggerer_log(
    cluster: CeleryCluster, emulator: TogglEmulator, users: dict[str, dict[str, Any]]
) -> None:
    secrets: dict[str, str] = {}
    for conn_id, user in users.items():
        secrets[f"{conn_id} password"] = user["password"]
        secrets[f"{conn_id} api_token"] = user["api_token"]
        secrets[f"{conn_id} basic(email:password)"] = basic_credentials(user["email"], user["password"])
        secrets[f"{conn_id} basic(api_token)"] = basic_credentials(user["api_token"], "api_token")
    for conn_id in (ROTATION_CONN, FANOUT_CONN, DEFERRAL_CONN):
        secrets[f"{conn_id} intercom_hash"] = me_over_the_wire(emulator.url, users[conn_id]["api_token"])[
            "intercom_hash"
        ]
    cookies = emulator.issued_sessions()
    for number, session in enumerate(cookies):
        secrets[f"session cookie #{number}"] = session["cookie"]
    assert not any("eyJ" in session["cookie"] for session in cookies)
    assert all(secrets.values())

    for component in (*WORKERS, "triggerer"):
        assert cluster.task_log_files(component=component), f"no task logs from {component}"
    # The scan does read those logs: the (public) emails the identity checks log are found.
    seen = {leak.where.split("/")[1] for leak in cluster.find_leaks({"email": users[FANOUT_CONN]["email"]})}
    assert set(WORKERS) <= seen, seen
    tables = ("xcom", "rendered_task_instance_fields", "variable", "trigger")
    sources = [
        *cluster.log_texts(),
        *cluster.table_texts(tables),
        # Every write statement the metadata DB received, with its values.
        ("postgres.log", cluster.database.log_path.read_text(errors="replace")),
    ]
    leaks = find_leaks(sources, secrets)
    scanned = len(cluster.log_texts()) + 1
    print(
        f"\nleak scan: {len(secrets)} secrets ({len(cookies)} session cookies) over {scanned} log files "
        f"and the tables {', '.join(tables)}: {len(leaks)} hits"
    )
    assert not leaks, "\n".join(str(leak) for leak in leaks)
