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
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONN_ID = "toggl_load"
CONN_VARIABLE = f"AIRFLOW_CONN_{CONN_ID.upper()}"
MODES = ("threads-paced", "threads-unpaced", "processes-paced", "processes-unpaced", "processes-pool")
START_TIMEOUT = 120.0


@dataclass(frozen=True)
class Settings:
    workers: int
    bucket_rps: float
    burst: int
    max_retries: int
    pool_slots: int


@dataclass(frozen=True)
class Outcome:
    """What one worker reported: whether it got its answer, the error if not, and when it finished."""

    index: int
    answered: bool
    error: str | None
    finished_at: float


@dataclass(frozen=True)
class Row:
    mode: str
    workers: int
    failures: int
    rate_limited: int
    requests: int
    wall_seconds: float


def _quiet() -> None:
    """Keep the per-retry warnings of the client out of the table."""
    logging.getLogger("airflow_toggl").setLevel(logging.ERROR)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _call_once(
    index: int, wait_for_start: Callable[[], object], slot: AbstractContextManager[Any]
) -> Outcome:
    """Build a hook from the connection, wait for the start, then make one call (inside ``slot``).

    A worker whose hook cannot be built still waits for the start, so the others are not held up.
    """
    from airflow_toggl.hooks.toggl import TogglHook

    hook: TogglHook | None = None
    error: str | None = None
    try:
        hook = TogglHook(toggl_conn_id=CONN_ID)
        hook.get_conn()
    except Exception as exc:  # the table counts every failure, whatever its kind
        error = _describe(exc)
    wait_for_start()
    answered = False
    if hook is not None:
        try:
            with slot:
                answered = hook.is_logged_in()
            if not answered:
                error = "Toggl refused the credentials"
        except Exception as exc:
            error = _describe(exc)
    return Outcome(index=index, answered=answered, error=error, finished_at=time.time())


def _process_worker(index: int, conn_json: str, start: Any, slots: Any, results: Any) -> None:
    """Entry point of one worker process: its own environment, hook, client and pacer."""
    _quiet()
    os.environ[CONN_VARIABLE] = conn_json
    outcome = _call_once(index, lambda: start.wait(START_TIMEOUT), slots or nullcontext())
    results.put((outcome.index, outcome.answered, outcome.error, outcome.finished_at))


def _connection(emulator: Any, api_token: str, requests_per_second: float, max_retries: int) -> str:
    extra: dict[str, Any] = {
        "track_api_url": emulator.url,
        "accounts_api_url": emulator.url,
        "api_token": api_token,
        "requests_per_second": requests_per_second,
        "max_retries": max_retries,
        "timeout": 10,
    }
    return json.dumps({"conn_type": "toggl", "extra": extra})


def _run_threads(conn_json: str, workers: int) -> tuple[list[Outcome], float]:
    os.environ[CONN_VARIABLE] = conn_json
    start = threading.Barrier(workers + 1)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        outcome = _call_once(index, lambda: start.wait(START_TIMEOUT), nullcontext())
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(workers)]
    for thread in threads:
        thread.start()
    start.wait(START_TIMEOUT)
    released = time.time()
    for thread in threads:
        thread.join()
    return outcomes, released


def _run_processes(
    context: multiprocessing.context.BaseContext, conn_json: str, workers: int, pool_slots: int | None
) -> tuple[list[Outcome], float]:
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
    outcomes: list[Outcome] = []
    while len(outcomes) < workers:
        try:
            index, answered, error, finished_at = results.get(timeout=600)
        except queue.Empty:
            break
        outcomes.append(Outcome(index, answered, error, finished_at))
    for process in processes:
        process.join(timeout=10)
    return outcomes, released


def run_mode(mode: str, settings: Settings, context: multiprocessing.context.BaseContext) -> Row:
    """One mode against a fresh emulator; returns its row of the table."""
    from airflow_toggl.emulator.server import TogglEmulator

    paced = mode not in ("threads-unpaced", "processes-unpaced")
    api_token = secrets.token_hex(16)  # a credential of its own: no pacer of an earlier mode applies
    with TogglEmulator(rate_limit_rps=settings.bucket_rps, rate_limit_burst=settings.burst) as emulator:
        emulator.add_user(f"{mode}@example.com", "pw-" + secrets.token_hex(8), api_token=api_token)
        conn_json = _connection(
            emulator, api_token, settings.bucket_rps if paced else 0, settings.max_retries
        )
        if mode.startswith("threads"):
            outcomes, released = _run_threads(conn_json, settings.workers)
        else:
            slots = settings.pool_slots if mode == "processes-pool" else None
            outcomes, released = _run_processes(context, conn_json, settings.workers, slots)
        counters = emulator.counters()
    failures = settings.workers - sum(1 for outcome in outcomes if outcome.answered)
    for outcome in outcomes:
        if outcome.error:
            print(f"  {mode} worker {outcome.index}: {outcome.error}", file=sys.stderr)
    wall = max((outcome.finished_at for outcome in outcomes), default=released) - released
    return Row(
        mode=mode if mode != "processes-pool" else f"processes-pool({settings.pool_slots})",
        workers=settings.workers,
        failures=failures,
        rate_limited=counters["rate_limited"],
        requests=sum(counters["requests"].values()),
        wall_seconds=wall,
    )


def format_table(rows: Sequence[Row]) -> str:
    header = ("mode", "N", "failures", "429s sent", "requests total", "wall s")
    cells = [
        (
            row.mode,
            str(row.workers),
            str(row.failures),
            str(row.rate_limited),
            str(row.requests),
            f"{row.wall_seconds:.1f}",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    lines = [
        "  ".join(text.ljust(widths[i]) if i == 0 else text.rjust(widths[i]) for i, text in enumerate(line))
        for line in [header, *cells]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _parse(argv: Sequence[str] | None) -> tuple[Settings, list[str], bool]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--workers", "-n", type=int, default=20, help="workers per mode (default 20)")
    parser.add_argument(
        "--bucket-rps", type=float, default=1.0, help="emulator leaky bucket rate (default 1)"
    )
    parser.add_argument("--burst", type=int, default=2, help="emulator leaky bucket burst (default 2)")
    parser.add_argument("--max-retries", type=int, default=12, help="client max_retries (default 12)")
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
    rows: list[Row] = []
    try:
        for mode in modes:
            rows.append(run_mode(mode, settings, context))
            print(f"  {mode}: done in {rows[-1].wall_seconds:.1f}s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(format_table(rows))
    if as_json:
        for row in rows:
            print(json.dumps(row.__dict__))
    return 1 if any(row.failures for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
