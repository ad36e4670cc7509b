"""Benchmark: the Toggl hook against HttpHook and raw ``requests``, side by side, on one emulator.

Every row runs its variants interleaved (A, B, C, A, B, C, ...) against the same emulator process,
each run with an account of its own, and prints medians with the range over the repeats. Timings
are only compared within one run of this script; the table says nothing about another machine.

Rows:

1. burst: N ``/me`` calls in a row under the emulator's strict bucket (exactly one request per
   second, no burst): this hook at its defaults, HttpHook with the tenacity recipe of its docs,
   and a plain ``requests`` loop.
2. threads: the same N calls from 5 threads on one credential, each thread with its own hook.
3. rotation: requests and TCP connections of one ``TogglRotateSessionOperator`` run: first run (no
   stored session), rotating run, run with a fresh stored session.
4. throughput: ``/me/logged`` calls per second with every limit off, as a ratio of a raw
   ``requests.Session`` loop.
5. quota reset: worker-slot seconds of a task that meets a used-up hourly quota, deferrable vs
   blocking (``--quota-reset`` seconds; Toggl's is up to an hour).
6. import cost: seconds and modules added by importing the operators and hooks modules after
   ``airflow.sdk``, ours vs the HTTP provider's.
7. processes (``--processes``): 4 Airflow tasks (LocalExecutor, separate processes) on one
   credential under the strict bucket, without and with a one-slot pool.
8. export under the quota: a deferrable ``TogglApiOperator`` exports a Reports search of 200 pages
   under a quota of 30 requests per window (the emulator's hour shortened), the triggerer's waits
   run in-process; requests and quota windows used against the least possible (200 and 7).

``--figures DIR`` also draws, from the same run, requests over time for each client of rows 1
and 2 and the export's pages across its quota windows, as SVG files in DIR.

Run: ``scripts/bench`` (installs the ``bench`` extra, which brings ``apache-airflow-providers-http``),
``scripts/bench --size tiny`` for a quick check, ``--rows 1,4`` for some rows only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import figures  # beside this script, in the folder Python searches first when it runs a script

ROOT = Path(__file__).resolve().parent.parent

# Task log lines (HttpHook's every 429, "cannot be called outside of the Task Runner") would bury the table.
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "CRITICAL")

PASSWORD = "pw-Bench-5tH9q"  # noqa: S105 - an emulator account made for this run
THREADS = 5


@dataclass(frozen=True)
class Size:
    """How much work each row does."""

    burst: int
    repeats: int
    throughput_calls: int
    import_repeats: int
    quota_reset: float
    processes_calls: int
    export_pages: int = 200
    export_quota: int = 30
    export_window: float = 10.0


SIZES = {
    "full": Size(
        burst=20, repeats=3, throughput_calls=300, import_repeats=5, quota_reset=120, processes_calls=5
    ),
    "tiny": Size(
        burst=3,
        repeats=1,
        throughput_calls=20,
        import_repeats=1,
        quota_reset=8,
        processes_calls=2,
        export_pages=10,
        export_quota=4,
        export_window=6.0,
    ),
}


# -- the emulator, a separate process driven over its control API --------------------------------


class Emulator:
    """A ``toggl-emulator`` process on a free loopback port."""

    def __init__(self, workdir: Path) -> None:
        ready = workdir / "emulator.json"
        self._log = (workdir / "emulator.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "airflow_toggl.emulator", "--port", "0", "--ready-file", str(ready)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start; see {workdir / 'emulator.log'}")
            time.sleep(0.05)
        self.url: str = json.loads(ready.read_text())["url"]

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/_emulator{path}", data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback URL
            return json.load(response)

    def configure(self, **options: Any) -> None:
        self.control("POST", "/config", options)

    def new_user(self) -> dict[str, Any]:
        """An account of its own (its own bucket, quota and pacer)."""
        return self.control(
            "POST", "/users", {"email": f"bench-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
        )

    def counters(self) -> dict[str, Any]:
        return self.control("GET", "/counters")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def requests_for(emulator: Emulator, email: str) -> tuple[int, int]:
    """(requests of one account's credentials, 429 answers to anyone) the emulator counted so far.

    Variants run one at a time, so the 429s of a run are those of its account.
    """
    counters = emulator.counters()
    sent = sum(count for key, count in counters["requests_by_credential"].items() if f":{email} " in key)
    return sent, counters["rate_limited"]


# -- connections: this hook and HttpHook read them from AIRFLOW_CONN_* ---------------------------


def toggl_connection(emulator: Emulator, user: dict[str, Any], **extra: Any) -> str:
    """A ``toggl`` connection with the user's email, password and token; default pacing unless given."""
    extras = {"track_api_url": emulator.url, "accounts_api_url": emulator.url, "api_token": user["api_token"]}
    extras.update(extra)
    return json.dumps({"conn_type": "toggl", "login": user["email"], "password": PASSWORD, "extra": extras})


def http_connection(emulator: Emulator, user: dict[str, Any]) -> str:
    """An ``http`` connection that authenticates with the user's API token, as HttpHook's docs show."""
    host = emulator.url.split("://", 1)[1]
    return json.dumps(
        {
            "conn_type": "http",
            "host": host,
            "schema": "http",
            "login": user["api_token"],
            "password": "api_token",
        }
    )


def http_provider_installed() -> bool:
    """Whether HttpHook can be compared (the ``bench`` extra); its rows are left out otherwise."""
    import importlib.util

    return importlib.util.find_spec("airflow.providers.http") is not None


def set_connection(conn_id: str, value: str) -> None:
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = value


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class Sample:
    """One run of one variant."""

    refused: int = 0
    sent: int = 0
    wall: float = 0.0
    failed: int = 0


def spread(values: Sequence[float], fmt: str = "{:.1f}") -> str:
    """The median, and the range when the repeats differ."""
    middle = fmt.format(statistics.median(values))
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return middle if low == high else f"{middle} ({low}-{high})"


def interleaved(variants: dict[str, Callable[[], Sample]], repeats: int) -> dict[str, list[Sample]]:
    """Run each variant ``repeats`` times, rotating the order so no variant always goes first."""
    names = list(variants)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for round_number in range(repeats):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(variants[name]())
            time.sleep(1.1)  # let the bucket drain between variants
    return samples


def counted(emulator: Emulator, email: str, work: Callable[[], int]) -> Sample:
    """Run ``work`` (which returns how many calls failed) and read what the emulator saw."""
    before_sent, before_refused = requests_for(emulator, email)
    start = time.perf_counter()
    failed = work()
    wall = time.perf_counter() - start
    after_sent, after_refused = requests_for(emulator, email)
    return Sample(
        refused=after_refused - before_refused, sent=after_sent - before_sent, wall=wall, failed=failed
    )


def run_calls(calls: Sequence[Callable[[], object]], threads: int) -> int:
    """Run the calls split over ``threads`` threads; return how many raised."""
    failures = [0] * threads

    def worker(index: int) -> None:
        for call in calls[index::threads]:
            try:
                call()
            except Exception:
                failures[index] += 1

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return sum(failures)


class RequestLog:
    """When each request of the run being recorded went out and what it was answered, client side.

    Installed around ``requests``' transport (``HTTPAdapter.send``), which this hook, HttpHook and
    the raw loop all go through; the emulator's control calls use ``urllib`` and are not seen.
    """

    def __init__(self) -> None:
        self.runs: dict[str, list[Any]] = {}
        self._current: str | None = None
        self._start = 0.0
        self._lock = threading.Lock()
        self._installed = False

    def install(self) -> None:
        from requests.adapters import HTTPAdapter

        if self._installed:
            return
        send, log = HTTPAdapter.send, self

        def recorded_send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            response = send(adapter, request, *args, **kwargs)
            log.note(response.status_code)
            return response

        HTTPAdapter.send = recorded_send  # type: ignore[method-assign]
        self._installed = True

    def note(self, status: int) -> None:
        with self._lock:
            if self._current is not None:
                self.runs[self._current].append(figures.Request(time.perf_counter() - self._start, status))

    @contextmanager
    def recording(self, name: str) -> Iterator[None]:
        """Record the requests made inside the block as run ``name`` (only its first run is kept)."""
        if name in self.runs:
            yield
            return
        with self._lock:
            self.runs[name], self._current, self._start = [], name, time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self._current = None


REQUEST_LOG = RequestLog()


def recorded(prefix: str, variants: dict[str, Callable[[], Sample]]) -> dict[str, Callable[[], Sample]]:
    """The variants, each recording its first run's requests as ``prefix/name``."""

    def wrap(name: str, variant: Callable[[], Sample]) -> Callable[[], Sample]:
        def run() -> Sample:
            with REQUEST_LOG.recording(f"{prefix}/{name}"):
                return variant()

        return run

    return {name: wrap(name, variant) for name, variant in variants.items()}


# -- rows 1 and 2: bursts under the strict bucket ----------------------------------------------


def burst_variants(emulator: Emulator, calls: int, threads: int) -> dict[str, Callable[[], Sample]]:
    """This hook, HttpHook with its docs' tenacity recipe, and raw requests; one hook per thread."""

    def toggl() -> Sample:
        from airflow_toggl.hooks.toggl import TogglHook

        user = emulator.new_user()
        conn_id = f"bench_toggl_{uuid.uuid4().hex[:8]}"
        set_connection(conn_id, toggl_connection(emulator, user))
        hooks = [TogglHook(conn_id) for _ in range(threads)]
        work = [hooks[i % threads].get_me for i in range(calls)]
        return counted(emulator, user["email"], lambda: run_calls(work, threads))

    def http() -> Sample:
        import tenacity
        from airflow.providers.http.hooks.http import HttpHook

        user = emulator.new_user()
        conn_id = f"bench_http_{uuid.uuid4().hex[:8]}"
        set_connection(conn_id, http_connection(emulator, user))
        retry_args = {
            "wait": tenacity.wait_exponential(),
            "stop": tenacity.stop_after_attempt(10),
            "retry": tenacity.retry_if_exception_type(Exception),
        }
        hooks = [HttpHook(method="GET", http_conn_id=conn_id) for _ in range(threads)]

        def call(hook: HttpHook) -> Callable[[], object]:
            return lambda: hook.run_with_advanced_retry(endpoint="/api/v9/me", _retry_args=retry_args)

        work = [call(hooks[i % threads]) for i in range(calls)]
        return counted(emulator, user["email"], lambda: run_calls(work, threads))

    def raw() -> Sample:
        import requests

        user = emulator.new_user()
        sessions = [requests.Session() for _ in range(threads)]

        def call(session: requests.Session) -> Callable[[], object]:
            auth = (user["api_token"], "api_token")
            return lambda: session.get(f"{emulator.url}/api/v9/me", auth=auth, timeout=30).raise_for_status()

        work = [call(sessions[i % threads]) for i in range(calls)]
        return counted(emulator, user["email"], lambda: run_calls(work, threads))

    variants = {"this hook (defaults)": toggl, "HttpHook + tenacity recipe": http, "raw requests loop": raw}
    if not http_provider_installed():
        del variants["HttpHook + tenacity recipe"]
    return variants


def burst_rows(emulator: Emulator, size: Size, threads: int) -> list[list[str]]:
    emulator.configure(rate_limit_strict=True, rate_limit_key="account")
    variants = recorded(f"burst-{threads}", burst_variants(emulator, size.burst, threads))
    samples = interleaved(variants, size.repeats)
    rows = []
    for name, runs in samples.items():
        rows.append(
            [
                name,
                spread([s.refused for s in runs], "{:.0f}"),
                spread([s.sent for s in runs], "{:.0f}"),
                spread([s.failed for s in runs], "{:.0f}"),
                spread([s.wall for s in runs]),
                spread([s.wall / size.burst for s in runs], "{:.2f}"),
            ]
        )
    emulator.configure(rate_limit_strict=False)
    return rows


# -- row 3: rotation requests and connections -----------------------------------------------------


def rotation_rows(emulator: Emulator) -> list[list[str]]:
    """Requests and new TCP connections of one rotation task in each situation (limits off)."""
    from datetime import timedelta

    from airflow_toggl.operators.toggl import TogglRotateSessionOperator
    from devkit.doubles import memory_variables

    user = emulator.new_user()
    conn_id = f"bench_rotate_{uuid.uuid4().hex[:8]}"
    set_connection(conn_id, toggl_connection(emulator, user, requests_per_second=0))
    runs = [
        ("first run (nothing stored)", timedelta(days=7), "2"),
        ("rotating run (stored session due)", timedelta(days=29), "3"),
        ("fresh stored session", timedelta(days=7), "0 or 1"),
    ]
    rows = []
    with memory_variables():
        for label, min_remaining, minimum in runs:
            before = emulator.counters()
            operator = TogglRotateSessionOperator(
                task_id="rotate", toggl_conn_id=conn_id, min_remaining=min_remaining
            )
            outcome = operator.execute({})
            operator.hook.get_conn().close()
            after = emulator.counters()
            sent = sum(after["requests"].values()) - sum(before["requests"].values())
            connections = after["connections"] - before["connections"]
            rows.append([label, str(sent), str(connections), minimum, "yes" if outcome["rotated"] else "no"])
    return rows


# -- row 4: throughput with limits off --------------------------------------------------------------


def throughput_rows(emulator: Emulator, size: Size) -> list[list[str]]:
    """Calls per second of each client over the same loopback emulator, relative to raw requests."""
    import requests

    from airflow_toggl.hooks.toggl import TogglHook

    emulator.configure(rate_limit_strict=False, rate_limit_rps=None, quota_limit=None)
    user = emulator.new_user()
    toggl_id, http_id = f"bench_tp_toggl_{uuid.uuid4().hex[:6]}", f"bench_tp_http_{uuid.uuid4().hex[:6]}"
    set_connection(toggl_id, toggl_connection(emulator, user, requests_per_second=0))
    set_connection(http_id, http_connection(emulator, user))
    toggl_hook = TogglHook(toggl_id)
    session = requests.Session()
    auth = (user["api_token"], "api_token")
    url = f"{emulator.url}/api/v9/me/logged"

    def raw() -> None:
        response = session.get(url, auth=auth, timeout=30)
        response.raise_for_status()

    clients: dict[str, Callable[[], object]] = {
        "raw requests.Session": raw,
        "this hook": toggl_hook.is_logged_in,
    }
    if http_provider_installed():
        from airflow.providers.http.hooks.http import HttpHook

        http_hook = HttpHook(method="GET", http_conn_id=http_id)
        clients["HttpHook.run"] = lambda: http_hook.run("/api/v9/me/logged")
    for call in clients.values():  # warm up: connections, imports, the first connection lookup
        call()
    chunk = 20
    wall: dict[str, list[float]] = {name: [] for name in clients}
    cpu: dict[str, list[float]] = {name: [] for name in clients}
    ratios: dict[str, list[float]] = {name: [] for name in clients}
    names = list(clients)
    for round_number in range(max(1, size.throughput_calls * size.repeats // chunk)):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            call = clients[name]
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(chunk):
                call()
            wall[name].append((time.perf_counter() - start) / chunk)
            cpu[name].append((time.process_time() - start_cpu) / chunk)
        for name in names:  # this round's ratio: the variants ran back to back, under the same load
            ratios[name].append(wall["raw requests.Session"][-1] / wall[name][-1])
    return [
        [
            name,
            f"{1 / statistics.median(wall[name]):.0f}",
            f"{statistics.median(ratios[name]):.2f}",
            f"{statistics.median(cpu[name]) * 1e3:.2f}",
        ]
        for name in names
    ]


# -- row 5: worker-slot seconds during a quota reset ----------------------------------------------


def quota_rows(emulator: Emulator, size: Size) -> list[list[str]]:
    """A deferrable and a blocking identity check meet a used-up quota, side by side in two threads."""
    import asyncio

    from airflow_toggl.hooks.toggl import TogglHook
    from airflow_toggl.operators.toggl import TogglIdentityCheckOperator
    from devkit.deferral import TaskDeferred

    emulator.configure(
        rate_limit_strict=False, rate_limit_rps=None, quota_limit=1, quota_window=size.quota_reset
    )
    conn_ids = {}
    for kind in ("deferrable", "blocking"):
        user = emulator.new_user()
        conn_ids[kind] = f"bench_quota_{kind}_{uuid.uuid4().hex[:6]}"
        set_connection(conn_ids[kind], toggl_connection(emulator, user, requests_per_second=0))
        TogglHook(conn_ids[kind]).get_me()  # uses up the quota: the next /me resets in quota_window
    results: dict[str, list[str]] = {}

    def deferrable() -> None:
        operator = TogglIdentityCheckOperator(
            task_id="check", toggl_conn_id=conn_ids["deferrable"], deferrable=True
        )
        start = time.perf_counter()
        try:
            operator.execute({})
            raise RuntimeError("the deferrable task did not defer")
        except TaskDeferred as deferral:
            slot = time.perf_counter() - start
            trigger = deferral.trigger
        start = time.perf_counter()

        async def first_event() -> Any:
            async for event in trigger.run():
                return event

        event = asyncio.run(first_event())
        triggerer = time.perf_counter() - start
        start = time.perf_counter()
        resumed = TogglIdentityCheckOperator(
            task_id="check", toggl_conn_id=conn_ids["deferrable"], deferrable=True
        )
        resumed.execute_complete({}, event.payload)
        slot += time.perf_counter() - start
        results["deferrable=True (default max_quota_wait)"] = [f"{slot:.2f}", f"{triggerer:.1f}", "succeeded"]

    def blocking() -> None:
        operator = TogglIdentityCheckOperator(task_id="check", toggl_conn_id=conn_ids["blocking"])
        start = time.perf_counter()
        operator.execute({})
        results["deferrable=False (default max_quota_wait)"] = [
            f"{time.perf_counter() - start:.2f}",
            "0",
            "succeeded",
        ]

    workers = [threading.Thread(target=deferrable), threading.Thread(target=blocking)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    emulator.configure(quota_limit=None)
    return [[name, *values] for name, values in sorted(results.items())]


# -- row 6: import cost -----------------------------------------------------------------------------

IMPORT_PROBE = """
import json, sys, time
import airflow.sdk
before, start = len(sys.modules), time.perf_counter()
for name in sys.argv[1:]:
    __import__(name)
print(json.dumps({"seconds": time.perf_counter() - start, "modules": len(sys.modules) - before}))
"""

IMPORT_SETS = {
    "airflow_toggl operators + hooks": ["airflow_toggl.operators.toggl", "airflow_toggl.hooks.toggl"],
    "HTTP provider operators + hooks": [
        "airflow.providers.http.operators.http",
        "airflow.providers.http.hooks.http",
    ],
}


def import_rows(size: Size) -> list[list[str]]:
    """Seconds and modules each import adds in a fresh interpreter that has imported ``airflow.sdk``."""
    names = [name for name in IMPORT_SETS if "HTTP" not in name or http_provider_installed()]
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for round_number in range(size.import_repeats):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            output = subprocess.run(
                [sys.executable, "-c", IMPORT_PROBE, *IMPORT_SETS[name]],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            ).stdout
            samples[name].append(json.loads(output.strip().splitlines()[-1]))
    return [
        [name, spread([s["seconds"] for s in runs], "{:.3f}"), spread([s["modules"] for s in runs], "{:.0f}")]
        for name, runs in samples.items()
    ]


# -- row 7: separate task processes -------------------------------------------------------------------

PROCESS_DAG = """
import os
from datetime import datetime

from airflow.sdk import DAG, task

CALLS = int(os.environ["BENCH_CALLS"])

for dag_id, pool in (("bench_no_pool", None), ("bench_pool_1", "toggl_bench")):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2025, 1, 1), catchup=False):
        for n in range(4):
            @task(task_id=f"worker_{n}", pool=pool or "default_pool")
            def worker(conn_id: str = dag_id) -> int:
                from airflow_toggl.hooks.toggl import TogglHook

                hook = TogglHook(conn_id)
                return sum(hook.is_logged_in() for _ in range(CALLS))

            worker()
"""


def process_rows(emulator: Emulator, size: Size, workdir: Path) -> list[list[str]]:
    """4 tasks of one DAG run, each a process making a few calls on one credential, without and with a pool."""
    from datetime import datetime

    from devkit.airflow_cluster import AirflowCluster

    emulator.configure(rate_limit_strict=True, rate_limit_key="account", quota_limit=None)
    dag_file = workdir / "bench_processes.py"
    dag_file.write_text(PROCESS_DAG)
    users = {dag_id: emulator.new_user() for dag_id in ("bench_no_pool", "bench_pool_1")}
    env = {"BENCH_CALLS": str(size.processes_calls)}
    for dag_id, user in users.items():
        env[f"AIRFLOW_CONN_{dag_id.upper()}"] = toggl_connection(emulator, user, max_retries=10)
    rows = []
    with AirflowCluster(workdir / "airflow", dag_files=[dag_file], env=env) as cluster:
        cluster.migrate()
        cluster.airflow("pools", "set", "toggl_bench", "1", "one Toggl credential")
        cluster.start()
        for dag_id, label in (
            ("bench_no_pool", "4 tasks, no pool"),
            ("bench_pool_1", "4 tasks, pool of 1 slot"),
        ):
            cluster.wait_for_dag(dag_id)
            cluster.airflow("dags", "unpause", dag_id)
            before_sent, before_refused = requests_for(emulator, users[dag_id]["email"])
            cluster.airflow("dags", "trigger", dag_id)
            cluster.wait_for_runs(dag_id, 1, run_type="manual", timeout=600)
            sent, refused = requests_for(emulator, users[dag_id]["email"])
            tasks = cluster.task_instances(dag_id)
            starts = [datetime.fromisoformat(str(t["start_date"])) for t in tasks]
            ends = [datetime.fromisoformat(str(t["end_date"])) for t in tasks]
            busy = sum((end - start).total_seconds() for start, end in zip(starts, ends, strict=True))
            rows.append(
                [
                    label,
                    str(refused - before_refused),
                    str(sent - before_sent),
                    f"{(max(ends) - min(starts)).total_seconds():.1f}",
                    f"{busy:.1f}",
                ]
            )
    return rows


# -- row 8: a long export under the quota -----------------------------------------------------------


def export_rows(emulator: Emulator, size: Size, workdir: Path) -> list[list[str]]:
    """A deferrable export of ``export_pages`` pages under ``export_quota`` requests per window.

    The trigger's waits run here, as the triggerer would run them; each resumed task is a new
    operator object that gets only the trigger's event, as in Airflow.
    """
    import asyncio

    from airflow_toggl.operators.api import TogglApiOperator
    from devkit.deferral import TaskDeferred

    user = emulator.new_user()
    page_size = 10
    emulator.control(
        "POST",
        "/time_entries",
        {"email": user["email"], "start": "2026-11-23T00:00:00Z", "count": size.export_pages * page_size, "every": 60},
    )
    workspace = user["default_workspace_id"]
    conn_id = f"bench_export_{uuid.uuid4().hex[:6]}"
    set_connection(conn_id, toggl_connection(emulator, user, requests_per_second=0))
    emulator.configure(
        rate_limit_strict=False, rate_limit_rps=None, quota_limit=size.export_quota, quota_window=size.export_window
    )
    target = workdir / "export" / "report.jsonl"

    def task() -> TogglApiOperator:
        return TogglApiOperator(
            task_id="export",
            toggl_conn_id=conn_id,
            path=f"/reports/api/v3/workspace/{workspace}/search/time_entries",
            json={"start_date": "2026-11-23", "end_date": "2026-12-31"},
            paginate="rows",
            page_size=page_size,
            output_path=f"file://{target}",
            max_pages=size.export_pages + 1,
            deferrable=True,
            poll_interval=0.2,
        )

    async def first_event(trigger: Any) -> Any:
        async for event in trigger.run():
            return event

    before, _ = requests_for(emulator, user["email"])
    deferrals, event, result = 0, None, None
    start = time.perf_counter()
    with REQUEST_LOG.recording("export"):
        while result is None:
            operator = task()
            try:
                result = operator.execute({}) if event is None else operator.execute_complete({}, event.payload)
            except TaskDeferred as deferral:
                deferrals += 1
                event = asyncio.run(first_event(deferral.trigger))
    elapsed = time.perf_counter() - start
    emulator.configure(quota_limit=None)
    sent = requests_for(emulator, user["email"])[0] - before
    recorded_requests = REQUEST_LOG.runs["export"]
    refused = sum(r.refused for r in recorded_requests)
    windows = window_starts(recorded_requests)
    rows = [json.loads(line)["row_number"] for line in target.read_text().splitlines()]
    every_row_once = rows == list(range(1, size.export_pages * page_size + 1))
    least_windows = -(-size.export_pages // size.export_quota)
    return [
        [
            f"{size.export_pages} pages, {size.export_quota} per {size.export_window:g} s window",
            str(sent),
            str(size.export_pages),
            str(refused),
            str(deferrals),
            str(len(windows)),
            str(least_windows),
            "yes" if every_row_once else "NO",
            f"{elapsed:.1f}",
        ]
    ]


def window_starts(requests: Sequence[Any]) -> list[float]:
    """When each quota window began: the first request, and the first answered one after each refusal."""
    starts: list[float] = []
    waiting = True
    for request in requests:
        if request.refused:
            waiting = True
        elif waiting:
            starts.append(request.at)
            waiting = False
    return starts


def write_figures(folder: Path, size: Size) -> None:
    """The recorded requests as SVG charts in ``folder`` (what was not run is left out)."""
    runs = REQUEST_LOG.runs
    for threads, name in ((1, "bench-burst-one-thread.svg"), (THREADS, "bench-burst-threads.svg")):
        lanes = {key.split("/", 1)[1]: runs[key] for key in runs if key.startswith(f"burst-{threads}/")}
        if lanes:
            what = "one thread" if threads == 1 else f"{threads} threads on one credential"
            title = f"{size.burst} /me calls under the strict bucket (1 request/s), {what}"
            print(f"figure: {figures.write(folder, name, figures.requests_over_time(title, lanes))}")
    if "export" in runs:
        title = (
            f"Export of {size.export_pages} pages under {size.export_quota} requests "
            f"per {size.export_window:g} s quota window"
        )
        svg = figures.export_over_windows(title, runs["export"], window_starts(runs["export"]))
        print(f"figure: {figures.write(folder, 'bench-export-quota.svg', svg)}")


# -- the table ----------------------------------------------------------------------------------------


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    sys.stdout.flush()


def machine() -> str:
    cpus = os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{platform.platform()}, Python {platform.python_version()}, {cpus} CPUs, load average {load}"


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Retry warnings would flood the table; keep errors."""
    import logging

    logging.basicConfig(level=logging.ERROR)
    for name in ("airflow_toggl", "airflow", "airflow.task", "tenacity"):
        logging.getLogger(name).setLevel(logging.ERROR)
    yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument(
        "--rows", default="1,2,3,4,5,6,8", help="comma-separated row numbers (7: processes)"
    )
    parser.add_argument("--processes", action="store_true", help="also run row 7 (starts Airflow; minutes)")
    parser.add_argument("--quota-reset", type=float, help="seconds until the used-up quota resets (row 5)")
    parser.add_argument("--figures", type=Path, help="write SVG charts of rows 1, 2 and 8 to this folder")
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    if args.quota_reset is not None:
        size = Size(**{**size.__dict__, "quota_reset": args.quota_reset})
    rows = {int(r) for r in args.rows.split(",") if r.strip()} | ({7} if args.processes else set())
    print(f"machine: {machine()}")
    if not http_provider_installed():
        print("HttpHook rows left out: install the bench extra (scripts/bench does)")
    print(
        f"size: {args.size} (burst {size.burst} calls, {size.repeats} repeats; median (min-max) where they differ)"
    )
    with tempfile.TemporaryDirectory(prefix="toggl-bench-") as tmp, quiet_logs():
        workdir = Path(tmp)
        os.environ.setdefault("AIRFLOW_HOME", str(workdir / "airflow-home"))
        emulator = Emulator(workdir)
        REQUEST_LOG.install()
        try:
            burst_header = ["client", "429s", "requests", "failed calls", "wall s", "s per call"]
            if 1 in rows:
                print_table(
                    f"1. {size.burst}-call burst, strict bucket (1 request/s, no burst), one thread",
                    burst_header,
                    burst_rows(emulator, size, 1),
                )
            if 2 in rows:
                print_table(
                    f"2. {size.burst}-call burst, strict bucket, {THREADS} threads on one credential (a hook each)",
                    burst_header,
                    burst_rows(emulator, size, THREADS),
                )
            if 3 in rows:
                print_table(
                    "3. one rotation task: requests and new TCP connections (accounts and Track on one host)",
                    ["run", "requests", "connections", "physical minimum", "rotated"],
                    rotation_rows(emulator),
                )
            if 4 in rows:
                print_table(
                    f"4. throughput with limits off ({size.throughput_calls * size.repeats} calls each, "
                    "interleaved in rounds of 20; medians over the rounds)",
                    ["client", "calls/s", "ratio to raw", "client CPU ms per call"],
                    throughput_rows(emulator, size),
                )
            if 5 in rows:
                print_table(
                    f"5. worker-slot seconds while a used-up quota resets in {size.quota_reset:g} s",
                    ["task", "worker slot s", "triggerer s", "outcome"],
                    quota_rows(emulator, size),
                )
            if 6 in rows:
                print_table(
                    f"6. import cost over airflow.sdk (fresh interpreter, {size.import_repeats} repeats)",
                    ["modules", "seconds", "modules added"],
                    import_rows(size),
                )
            if 7 in rows:
                print_table(
                    f"7. 4 task processes (LocalExecutor) x {size.processes_calls} calls on one credential, strict bucket",
                    ["run", "429s", "requests", "first start to last end s", "task s summed"],
                    process_rows(emulator, size, workdir),
                )
            if 8 in rows:
                print_table(
                    f"8. a deferrable export of {size.export_pages} pages under the quota (window shortened)",
                    [
                        "export",
                        "requests",
                        "least requests",
                        "refused",
                        "deferrals",
                        "quota windows",
                        "least windows",
                        "every row once",
                        "wall s",
                    ],
                    export_rows(emulator, size, workdir),
                )
            if args.figures is not None:
                write_figures(args.figures, size)
        finally:
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
