"""The README's main command: the demo rotates a session against the emulator and says so."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
LEAK_SCAN = re.compile(r"^leak scan: (\d+) log files, (\d+) secrets \((.*)\), (\d+) hits$", re.MULTILINE)


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
    scan = LEAK_SCAN.search(output)
    assert scan, output
    files, secrets, kinds, hits = scan.groups()
    assert int(files) >= 3  # the two runs' output and the emulator's log at least
    assert (int(secrets), kinds, int(hits)) == (4, "password, API token, 2 session cookies", 0)


def test_the_leak_scan_says_what_it_scanned_and_names_each_hit(
    toggl_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = load_script("demo")
    monkeypatch.setattr(demo, "WORK", tmp_path)
    monkeypatch.setattr(demo, "ROOT", tmp_path)
    toggl_emulator.add_user("ada@example.com", "pw-Distinct-7fQ2")
    cookie = toggl_emulator.issue_session("ada@example.com")
    (tmp_path / "clean.log").write_text("nothing to see\n")
    (tmp_path / "airflow-home" / "logs").mkdir(parents=True)
    (tmp_path / "airflow-home" / "logs" / "task.txt").write_text(f"Cookie: {cookie}\n")
    (tmp_path / "airflow-home" / "airflow.db").write_text("pw-Distinct-7fQ2")  # not a log: not scanned
    with pytest.raises(SystemExit) as info:
        demo._leak_scan(toggl_emulator.url, {"password": "pw-Distinct-7fQ2", "API token": "0" * 32})
    assert str(info.value) == "a secret appears in a log: session cookie 1 in airflow-home/logs/task.txt"
    assert "leak scan: 2 log files, 3 secrets (password, API token, 1 session cookie), 1 hits" in capsys.readouterr().out
    assert cookie not in str(info.value)
