"""Many workers, one Toggl credential, released at the same moment: the pieces of a load run.

Each worker builds its own ``TogglHook`` from a connection, waits for the common start, calls
``/me/logged`` once and reports when it finished. Shared by ``tests/faults/test_load.py`` and
``scripts/load_test.py``; nothing here imports pytest, and Airflow only inside a worker.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from devkit.airflow import toggl_connection
from devkit.tables import format_table

WORKERS = 20
BUCKET_RPS = 1.0
BUCKET_BURST = 2
MAX_RETRIES = 12  # with backoff capped at 60 s per wait, ample for 20 workers on a 1 rps bucket
START_TIMEOUT = 120.0
LOAD_PATH = "/api/v9/me/logged"


@dataclass(frozen=True)
class WorkerReport:
    """What one worker reported: whether it got its answer, the error if not, and when it finished."""

    index: int
    answered: bool
    error: str | None
    finished_at: float


@dataclass(frozen=True)
class LoadRow:
    """One run's figures: failures, 429s the emulator sent, requests it received, wall seconds."""

    mode: str
    workers: int
    failures: int
    rate_limited: int
    requests: int
    wall_seconds: float

    @classmethod
    def of(
        cls,
        mode: str,
        workers: int,
        reports: Sequence[WorkerReport],
        released: float,
        counters: dict[str, Any],
    ) -> LoadRow:
        """The row of a run whose workers were released at ``released``, from the emulator's counters."""
        finished = max((report.finished_at for report in reports), default=released)
        return cls(
            mode=mode,
            workers=workers,
            failures=workers - sum(1 for report in reports if report.answered),
            rate_limited=counters["rate_limited"],
            requests=sum(counters["requests"].values()),
            wall_seconds=round(finished - released, 2),
        )


def load_user(emulator: Any, name: str) -> dict[str, Any]:
    """An account with a credential of its own, so no pacer of an earlier run applies to it."""
    return emulator.add_user(
        f"load-{name}@example.com", "pw-Load-" + secrets.token_hex(6), api_token=secrets.token_hex(16)
    )


def load_connection(emulator: Any, user: dict[str, Any], requests_per_second: float, max_retries: int) -> str:
    """The ``AIRFLOW_CONN_*`` value of a load run's connection."""
    connection = toggl_connection(
        emulator, user, requests_per_second=requests_per_second, max_retries=max_retries, timeout=10
    )
    return json.dumps(connection)


def call_once(
    conn_id: str,
    index: int,
    wait_for_start: Callable[[], object],
    slot: AbstractContextManager[Any] | None = None,
) -> WorkerReport:
    """Build a hook from the connection, wait for the start, then make one call (inside ``slot``).

    A worker whose hook cannot be built still waits for the start, so the others are not held up.
    """
    from airflow_toggl.hooks.toggl import TogglHook

    hook: TogglHook | None = None
    error: str | None = None
    try:
        hook = TogglHook(toggl_conn_id=conn_id)
        hook.get_conn()  # the connection read and the client built before the clock starts
    except Exception as exc:  # every failure is reported, whatever its kind
        error = _describe(exc)
    wait_for_start()
    answered = False
    if hook is not None:
        try:
            with slot or nullcontext():
                answered = hook.is_logged_in()
            if not answered:
                error = "Toggl refused the credentials"
        except Exception as exc:
            error = _describe(exc)
    return WorkerReport(index=index, answered=answered, error=error, finished_at=time.time())


def run_threads(conn_ids: Sequence[str], workers: int) -> tuple[dict[str, list[WorkerReport]], float]:
    """``workers`` threads per connection, all released together; their reports and the release time."""
    start = threading.Barrier(workers * len(conn_ids) + 1)
    reports: dict[str, list[WorkerReport]] = {conn_id: [] for conn_id in conn_ids}
    lock = threading.Lock()

    def work(conn_id: str, index: int) -> None:
        report = call_once(conn_id, index, lambda: start.wait(START_TIMEOUT))
        with lock:
            reports[conn_id].append(report)

    threads = [
        threading.Thread(target=work, args=(conn_id, index), daemon=True)
        for conn_id in conn_ids
        for index in range(workers)
    ]
    for thread in threads:
        thread.start()
    start.wait(START_TIMEOUT)
    released = time.time()
    for thread in threads:
        thread.join()
    return reports, released


def load_table(rows: Sequence[LoadRow]) -> str:
    """The rows as a table, numbers right-aligned."""
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
    header = ("mode", "N", "failures", "429s sent", "requests total", "wall s")
    return format_table(cells, header, align="lrrrrr")


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
