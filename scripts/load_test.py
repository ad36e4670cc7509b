"""Load test: many workers sharing one Toggl credential against the emulator's leaky bucket.

Each mode starts a fresh emulator (1 request per second, a small burst), adds one user, and has N
workers, each with its own ``TogglHook`` over the same credential, call ``/me/logged`` once, all
released at the same moment. It prints one row per mode: failures, 429s the emulator sent,
requests it received, and the wall time from release to the last answer.

Modes:

- ``threads-paced``: N threads in one process, ``requests_per_second=1``. The pacer is shared by
  every client of a process that uses the credential, so the threads queue behind it.
- ``threads-unpaced``: the same with pacing off; retries with backoff absorb the 429s.
- ``processes-paced``: N processes (as Airflow's LocalExecutor runs tasks), pacing on. Each process
  has its own pacer, so nothing coordinates their first requests.
- ``processes-unpaced``: N processes, pacing off.
- ``processes-pool``: N processes, pacing on, but at most ``--pool-slots`` of them calling Toggl at
  a time, as an Airflow pool with that many slots would allow.

Run: ``python scripts/load_test.py`` (``--help`` for the knobs). It needs no Airflow database: the
connection comes from an ``AIRFLOW_CONN_*`` variable and AIRFLOW_HOME is a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import queue
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devkit.load import (
    BUCKET_BURST,
    BUCKET_RPS,
    MAX_RETRIES,
    START_TIMEOUT,
    WORKERS,
    LoadRow,
    WorkerReport,
    call_once,
    load_connection,
    load_table,
    load_user,
    run_threads,
)

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

ROOT = Path(__file__).resolve().parent.parent

CONN_ID = "toggl_load"
CONN_VARIABLE = f"AIRFLOW_CONN_{CONN_ID.upper()}"
MODES = ("threads-paced", "threads-unpaced", "processes-paced", "processes-unpaced", "processes-pool")


@dataclass(frozen=True)
class Settings:
    workers: int
    bucket_rps: float
    burst: int
    max_retries: int
    pool_slots: int


def _quiet() -> None:
    """Keep the per-retry warnings of the client out of the table."""
    logging.getLogger("airflow_toggl").setLevel(logging.ERROR)


def _process_worker(index: int, conn_json: str, start: Any, slots: Any, results: Any) -> None:
    """Entry point of one worker process: its own environment, hook, client and pacer."""
    _quiet()
    os.environ[CONN_VARIABLE] = conn_json
    report = call_once(CONN_ID, index, lambda: start.wait(START_TIMEOUT), slots)
    results.put(asdict(report))


def _run_processes(
    context: BaseContext, conn_json: str, workers: int, pool_slots: int | None
) -> tuple[list[WorkerReport], float]:
    start = context.Barrier(workers + 1)
    slots = context.BoundedSemaphore(pool_slots) if pool_slots else None
    results = context.Queue()
    processes = [
        context.Process(target=_process_worker, args=(index, conn_json, start, slots, results), daemon=True)  # type: ignore[attr-defined]
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    start.wait(START_TIMEOUT)
    released = time.time()
    reports: list[WorkerReport] = []
    while len(reports) < workers:
        try:
            reports.append(WorkerReport(**results.get(timeout=600)))
        except queue.Empty:
            break
    for process in processes:
        process.join(timeout=10)
    return reports, released


def run_mode(mode: str, settings: Settings, context: BaseContext) -> LoadRow:
    """One mode against a fresh emulator; returns its row of the table."""
    from airflow_toggl.emulator import TogglEmulator

    paced = mode not in ("threads-unpaced", "processes-unpaced")
    with TogglEmulator(rate_limit_rps=settings.bucket_rps, rate_limit_burst=settings.burst) as emulator:
        user = load_user(emulator, mode)
        conn_json = load_connection(emulator, user, settings.bucket_rps if paced else 0, settings.max_retries)
        if mode.startswith("threads"):
            os.environ[CONN_VARIABLE] = conn_json
            by_connection, released = run_threads([CONN_ID], settings.workers)
            reports = by_connection[CONN_ID]
        else:
            slots = settings.pool_slots if mode == "processes-pool" else None
            reports, released = _run_processes(context, conn_json, settings.workers, slots)
        counters = emulator.counters()
    for report in reports:
        if report.error:
            print(f"  {mode} worker {report.index}: {report.error}", file=sys.stderr)
    label = mode if mode != "processes-pool" else f"processes-pool({settings.pool_slots})"
    return LoadRow.of(label, settings.workers, reports, released, counters)


def _parse(argv: Sequence[str] | None) -> tuple[Settings, list[str], bool]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--workers", "-n", type=int, default=WORKERS, help=f"workers per mode (default {WORKERS})"
    )
    parser.add_argument(
        "--bucket-rps",
        type=float,
        default=BUCKET_RPS,
        help=f"emulator leaky bucket rate (default {BUCKET_RPS:g})",
    )
    parser.add_argument(
        "--burst",
        type=int,
        default=BUCKET_BURST,
        help=f"emulator leaky bucket burst (default {BUCKET_BURST})",
    )
    parser.add_argument(
        "--max-retries", type=int, default=MAX_RETRIES, help=f"client max_retries (default {MAX_RETRIES})"
    )
    parser.add_argument(
        "--pool-slots", type=int, default=1, help="slots of the processes-pool mode (default 1)"
    )
    parser.add_argument(
        "--modes", nargs="+", choices=MODES, default=list(MODES), help="modes to run, in order"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON lines after the table")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.pool_slots < 1:
        parser.error("--workers and --pool-slots must be at least 1")
    settings = Settings(args.workers, args.bucket_rps, args.burst, args.max_retries, args.pool_slots)
    return settings, list(args.modes), bool(args.json)


def main(argv: Sequence[str] | None = None) -> int:
    settings, modes, as_json = _parse(argv)
    home = Path(tempfile.mkdtemp(prefix="toggl-load-airflow-"))
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    _quiet()
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(["airflow_toggl.hooks.toggl"])  # type: ignore[attr-defined]
    print(
        f"emulator bucket {settings.bucket_rps:g} rps, burst {settings.burst}; client max_retries "
        f"{settings.max_retries}; {os.cpu_count()} CPUs; processes started with {context.get_start_method()}",
        flush=True,
    )
    rows: list[LoadRow] = []
    try:
        for mode in modes:
            rows.append(run_mode(mode, settings, context))
            print(f"  {mode}: done in {rows[-1].wall_seconds:.1f}s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(load_table(rows))
    if as_json:
        for row in rows:
            print(json.dumps(asdict(row)))
    return 1 if any(row.failures for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
