"""``scripts/bench.py`` runs at a tiny size and prints its table (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devkit.airflow import ROOT

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def table_rows(output: str, title_start: str) -> dict[str, list[str]]:
    """The rows of the table whose title starts with ``title_start``, by their first cell."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title_start))
    rows: dict[str, list[str]] = {}
    for line in lines[start + 3 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def test_bench_prints_its_table_at_a_tiny_size(tmp_path) -> None:
    figures = tmp_path / "figures"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--size", "tiny", "--rows", "1,3,5,8", "--figures", str(figures)],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.startswith("machine: ")
    burst = table_rows(result.stdout, "1. ")
    assert burst["this hook (defaults)"][:3] == ["0", "3", "0"]  # no 429, 3 requests, no failed call
    assert int(burst["raw requests loop"][0]) > 0  # the strict bucket does refuse back-to-back calls
    rotation = table_rows(result.stdout, "3. ")
    assert set(rotation) == {
        "first run (nothing stored)",
        "rotating run (stored session due)",
        "fresh stored session",
    }
    assert rotation["rotating run (stored session due)"][3] == "yes"
    quota = table_rows(result.stdout, "5. ")
    deferred = quota["deferrable=True (default max_quota_wait)"]
    blocked = quota["deferrable=False (default max_quota_wait)"]
    assert deferred[2] == blocked[2] == "succeeded"
    assert float(deferred[0]) < float(blocked[0])  # the deferred task gave its slot back while waiting
    export = table_rows(result.stdout, "8. ")["10 pages, 4 per 6 s window"]
    requests, least, refused, deferrals, windows, least_windows, every_row_once = export[:7]
    assert every_row_once == "yes"
    assert least == "10"
    assert int(requests) == 10 + int(refused)  # N + k: no page was read twice
    assert int(deferrals) >= 1
    assert windows == least_windows == "3"
    for name in ("bench-burst-one-thread.svg", "bench-export-quota.svg"):
        svg = (figures / name).read_text()
        assert svg.startswith("<svg")
        assert svg.rstrip().endswith("</svg>")
    assert "10 pages," in (figures / "bench-export-quota.svg").read_text()
