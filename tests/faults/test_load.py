"""Many workers, one credential, Toggl's leaky bucket on: pacing versus retries.

Twenty threads, each with its own ``TogglHook`` over the same credential, make one cheap call
(``/me/logged``) at the same moment against an emulator that admits 1 request per second with a
burst of 2. Two runs go side by side, each against its own emulator (own bucket, own counters):

- paced: ``requests_per_second=1``. The client's pacer is shared by every client of the process
  that uses the credential, so the threads queue behind it and the bucket hardly ever overflows;
- unpaced: ``requests_per_second=0``. The threads burst, the emulator answers 429, and the retry
  policy (exponential backoff with jitter) absorbs them.

Both must end with every worker answered. The figures (429s, requests, wall seconds and their
ratio) are printed and attached to the test report; only the 429 counts are asserted.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_toggl.emulator.server import TogglEmulator
from airflow_toggl.hooks.toggl import TogglHook
from tests.support.airflow import toggl_connection

WORKERS = 20
BUCKET_RPS = 1
BUCKET_BURST = 2
MAX_RETRIES = 12  # with backoff capped at 60 s per wait, ample for 20 workers on a 1 rps bucket
START_TIMEOUT = 30.0


@dataclass
class LoadRun:
    """One variant: its emulator, its connection id, and what its workers reported."""

    name: str
    conn_id: str
    emulator: TogglEmulator
    requests_per_second: float
    answers: list[bool | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0

    def figures(self) -> dict[str, Any]:
        counters = self.emulator.counters()
        return {
            "mode": self.name,
            "workers": WORKERS,
            "failures": len(self.errors),
            "rate_limited": counters["rate_limited"],
            "requests": sum(counters["requests"].values()),
            "wall_seconds": round(self.wall, 2),
        }


def _prepare(
    factory: Callable[..., TogglEmulator], monkeypatch: pytest.MonkeyPatch, name: str, rps: float
) -> LoadRun:
    """A fresh emulator with the bucket on, one user with a credential no other test paces, and its connection."""
    emulator = factory(rate_limit_rps=BUCKET_RPS, rate_limit_burst=BUCKET_BURST)
    user = emulator.add_user(f"load-{name}@example.com", "pw-Load-" + secrets.token_hex(6))
    connection = toggl_connection(emulator, user, requests_per_second=rps, max_retries=MAX_RETRIES)
    conn_id = f"toggl_load_{name}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    return LoadRun(name=name, conn_id=conn_id, emulator=emulator, requests_per_second=rps)


def _run_side_by_side(runs: list[LoadRun]) -> None:
    """Start every worker of every run, release them together, and wait for all of them."""
    start = threading.Barrier(WORKERS * len(runs) + 1)
    finished: dict[str, list[float]] = {run.name: [] for run in runs}
    lock = threading.Lock()

    def worker(run: LoadRun, index: int) -> None:
        hook = TogglHook(toggl_conn_id=run.conn_id)
        hook.get_conn()  # read the connection and build the client before the clock starts
        start.wait(timeout=START_TIMEOUT)
        try:
            run.answers[index] = hook.is_logged_in()
        except Exception as error:  # every failure is reported, not only Toggl's
            with lock:
                run.errors.append(f"{type(error).__name__}: {error}")
        finally:
            with lock:
                finished[run.name].append(time.monotonic())

    threads: list[threading.Thread] = []
    for run in runs:
        run.answers = [None] * WORKERS
        threads += [
            threading.Thread(target=worker, args=(run, index), daemon=True) for index in range(WORKERS)
        ]
    for thread in threads:
        thread.start()
    start.wait(timeout=START_TIMEOUT)
    released = time.monotonic()
    for thread in threads:
        thread.join()
    for run in runs:
        run.wall = max(finished[run.name]) - released


@pytest.mark.timeout(120)
def test_pacing_spares_the_bucket_and_retries_absorb_the_rest(
    toggl_emulator_factory: Callable[..., TogglEmulator],
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    paced = _prepare(toggl_emulator_factory, monkeypatch, "paced", BUCKET_RPS)
    unpaced = _prepare(toggl_emulator_factory, monkeypatch, "unpaced", 0)
    hook = TogglHook(toggl_conn_id=paced.conn_id)
    assert hook.settings.config.requests_per_second == BUCKET_RPS
    assert TogglHook(toggl_conn_id=unpaced.conn_id).settings.config.requests_per_second == 0

    _run_side_by_side([paced, unpaced])

    figures = {run.name: run.figures() for run in (paced, unpaced)}
    ratio = unpaced.wall / paced.wall if paced.wall else float("inf")
    for name, values in figures.items():
        record_property(f"load_{name}", values)
        print(f"load {name}: {values}")
    record_property("load_wall_ratio_unpaced_to_paced", round(ratio, 2))
    print(f"load wall ratio unpaced/paced: {ratio:.2f}")

    for run in (paced, unpaced):
        assert run.errors == [], f"{run.name}: {run.errors}"
        assert run.answers == [True] * WORKERS, f"{run.name}: a worker got no answer"
        counters = run.emulator.counters()
        # Each request was answered 200 or 429, and each 429 was followed by one more attempt.
        assert counters["requests"] == {"GET /api/v9/me/logged": WORKERS + counters["rate_limited"]}
        assert counters["responses"].get("GET /api/v9/me/logged 200") == WORKERS
    paced_429 = figures["paced"]["rate_limited"]
    unpaced_429 = figures["unpaced"]["rate_limited"]
    # Paced requests leave a second between them; the burst of 2 absorbs a late thread or two.
    assert paced_429 <= 1
    # Twenty at once overflow a bucket of 2; the retries that followed are what let them through.
    assert unpaced_429 > 0
    assert unpaced_429 > paced_429


@pytest.mark.timeout(120)
def test_the_load_script_prints_its_table() -> None:
    from tests.support.airflow import ROOT

    script = ROOT / "scripts" / "load_test.py"
    result = subprocess.run(
        [sys.executable, str(script), "-n", "3", "--modes", "threads-paced", "processes-pool", "--json"],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mode" in result.stdout
    assert "429s sent" in result.stdout
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [row["mode"] for row in rows] == ["threads-paced", "processes-pool(1)"]
    assert all(row["workers"] == 3 and row["failures"] == 0 for row in rows)
    assert rows[0]["rate_limited"] == 0
    assert all(row["requests"] == 3 + row["rate_limited"] for row in rows)
