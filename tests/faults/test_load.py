"""Many workers, one credential, Toggl's leaky bucket on: pacing versus retries.

Twenty threads, each with its own ``TogglHook`` over the same credential, make one cheap call
(``/me/logged``) at the same moment against an emulator that admits 1 request per second with a
burst of 2. Two runs go side by side, each against its own emulator (own bucket, own counters):

- paced: ``requests_per_second=1``. The client's pacer is shared by every client of the process
  that uses the credential, so the threads queue behind it and the bucket hardly ever overflows;
- unpaced: ``requests_per_second=0``. The threads burst, the emulator answers 429, and the retry
  policy (exponential backoff with jitter) absorbs them.

Both must end with every worker answered. The figures (429s, requests, wall seconds and their
ratio) are printed and attached to the test report; only the 429 counts are asserted. The workers,
the connection and the figures are those of ``scripts/load_test.py`` (``scripts/devkit/load.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict

import pytest

from airflow_toggl.emulator import TogglEmulator
from airflow_toggl.hooks.toggl import TogglHook
from devkit.airflow import ROOT
from devkit.load import (
    BUCKET_BURST,
    BUCKET_RPS,
    LOAD_PATH,
    MAX_RETRIES,
    WORKERS,
    LoadRow,
    load_connection,
    load_user,
    run_threads,
)


def _prepare(
    factory: Callable[..., TogglEmulator], monkeypatch: pytest.MonkeyPatch, name: str, rps: float
) -> tuple[str, TogglEmulator]:
    """A fresh emulator with the bucket on, a user no other test paces, and its connection id."""
    emulator = factory(rate_limit_rps=BUCKET_RPS, rate_limit_burst=BUCKET_BURST)
    conn_id = f"toggl_load_{name}"
    connection = load_connection(emulator, load_user(emulator, name), rps, MAX_RETRIES)
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection)
    return conn_id, emulator


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_pacing_spares_the_bucket_and_retries_absorb_the_rest(
    toggl_emulator_factory: Callable[..., TogglEmulator],
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    runs = {
        "paced": _prepare(toggl_emulator_factory, monkeypatch, "paced", BUCKET_RPS),
        "unpaced": _prepare(toggl_emulator_factory, monkeypatch, "unpaced", 0),
    }
    assert TogglHook(toggl_conn_id=runs["paced"][0]).settings.config.requests_per_second == BUCKET_RPS
    assert TogglHook(toggl_conn_id=runs["unpaced"][0]).settings.config.requests_per_second == 0

    reports, released = run_threads([conn_id for conn_id, _ in runs.values()], WORKERS)

    rows = {
        name: LoadRow.of(name, WORKERS, reports[conn_id], released, emulator.counters())
        for name, (conn_id, emulator) in runs.items()
    }
    paced, unpaced = rows["paced"], rows["unpaced"]
    ratio = unpaced.wall_seconds / paced.wall_seconds if paced.wall_seconds else float("inf")
    for name, row in rows.items():
        record_property(f"load_{name}", asdict(row))
        print(f"load {name}: {asdict(row)}")
    record_property("load_wall_ratio_unpaced_to_paced", round(ratio, 2))
    print(f"load wall ratio unpaced/paced: {ratio:.2f}")

    for name, (conn_id, emulator) in runs.items():
        assert [report.error for report in reports[conn_id] if report.error] == [], name
        assert sorted(report.index for report in reports[conn_id] if report.answered) == list(range(WORKERS))
        counters = emulator.counters()
        # Each request was answered 200 or 429, and each 429 was followed by one more attempt.
        assert counters["requests"] == {f"GET {LOAD_PATH}": WORKERS + counters["rate_limited"]}
        assert counters["responses"].get(f"GET {LOAD_PATH} 200") == WORKERS
    # Paced requests leave a second between them; the burst of 2 absorbs a late thread or two.
    assert paced.rate_limited <= 1
    # Twenty at once overflow a bucket of 2; the retries that followed are what let them through.
    assert unpaced.rate_limited > 0
    assert unpaced.rate_limited > paced.rate_limited


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_load_script_prints_its_table() -> None:
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
