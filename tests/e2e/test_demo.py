"""The README's main command: the demo rotates a session against the emulator and says so."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _figure(output: str, label: str) -> int:
    match = re.search(rf"^{re.escape(label)}\s+(\d+)$", output, re.MULTILINE)
    assert match, f"{label!r} missing from the demo's output:\n{output}"
    return int(match.group(1))


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_demo_rotates_one_session_and_prints_the_summary() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
        cwd=ROOT,
    )
    output = result.stdout
    assert result.returncode == 0, output[-4000:] + result.stderr[-4000:]
    assert "run 1: airflow dags test toggl_session_rotation succeeded" in output
    assert "run 2: airflow dags test toggl_session_rotation succeeded" in output
    assert _figure(output, "sessions created (POST /api/sessions 200)") == 2
    assert _figure(output, "sessions deleted (DELETE /api/sessions 200)") == 1
    assert _figure(output, "sessions live at the end") == 1
    assert 0 < _figure(output, "hourly quota left for the user") < 30
