"""A long export keeps memory flat: measured in a fresh process, side by side with a list.

Each measurement runs in its own Python process (the emulator stays in this one) and reports the
process's peak resident set size and the peak of what Python allocated during the export alone
(tracemalloc, started once Airflow and the package are imported). Streaming 10,000 and 40,000
report rows to a JSON Lines file must cost about the same; collecting the same rows in a list is
shown for contrast. The assertions use the export's own allocations: the RSS peak can be set by
Airflow's imports, before a single row is read, and then hides the rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devkit.airflow import toggl_connection

pytestmark = pytest.mark.timeout(300)
PAGE_SIZE = 500
SIZES = (10_000, 40_000)

MEASURE = r"""
import json, resource, sys, tracemalloc
from airflow_toggl.hooks.toggl import TogglHook
from airflow_toggl.operators.api import TogglApiOperator
mode, path, target = sys.argv[1], sys.argv[2], sys.argv[3]
search = {"start_date": "2026-01-01", "end_date": "2027-12-31"}
tracemalloc.start()
if mode == "stream":
    rows = TogglApiOperator(
        task_id="export", path=path, json=search, paginate="rows", page_size=PAGE_SIZE, output_path=target
    ).execute({})["rows"]
else:
    rows = len(list(TogglHook().paginate(path, style="rows", json=search, page_size=PAGE_SIZE)))
export_peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"rows": rows, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "export_peak_bytes": export_peak}))
""".replace("PAGE_SIZE", str(PAGE_SIZE))


def _measure(mode: str, path: str, target: Path, env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, mode, path, f"file://{target}"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_streaming_export_memory_is_flat(toggl_emulator_factory, tmp_path: Path) -> None:
    emulators = {}
    for size in SIZES:  # one emulator per size, so each export reads exactly ``size`` rows
        emulator = toggl_emulator_factory()
        user = emulator.add_user(f"rows{size}@example.com", "pw-Memory-1")
        emulator.add_time_entries(user["email"], start="2026-01-01T00:00:00Z", count=size, every=600)
        emulators[size] = (emulator, user)

    table = []
    for mode in ("stream", "list"):
        for size, (emulator, user) in emulators.items():
            env = {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(toggl_connection(emulator, user))}
            path = f"/reports/api/v3/workspace/{user['default_workspace_id']}/search/time_entries"
            target = tmp_path / f"{mode}-{size}.jsonl"
            measured = _measure(mode, path, target, env)
            assert measured["rows"] == size
            if mode == "stream":
                assert sum(1 for _ in target.open()) == size
            table.append((mode, size, measured["peak_rss_kib"] / 1024, measured["export_peak_bytes"] / 2**20))

    print("\nmode    rows    peak RSS (MiB)  export's own peak (MiB)")
    for mode, size, rss, own in table:
        print(f"{mode:<7} {size:>6}  {rss:14.1f}  {own:23.1f}")
    peak = {(mode, size): own for mode, size, _, own in table}
    stream_growth = peak["stream", SIZES[1]] - peak["stream", SIZES[0]]
    list_growth = peak["list", SIZES[1]] - peak["list", SIZES[0]]
    print(
        f"export's own growth from {SIZES[0]} to {SIZES[1]} rows: "
        f"stream {stream_growth:+.1f} MiB, list {list_growth:+.1f} MiB"
    )
    assert list_growth > 10  # holding the rows costs this much at least: the measurement can see them
    assert stream_growth < list_growth / 5
