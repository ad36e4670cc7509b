"""The README's commands run as written from a fresh AIRFLOW_HOME, and its figures match what they print."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.airflow import ROOT
from tests.support.scripts import load_script

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(600)]

README = ROOT / "README.md"
TESTED_BLOCK = re.compile(r"<!-- tested: tests/docs/test_readme_commands.py -->\n```bash\n(.*?)```", re.DOTALL)
README_PORT = "8765"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_connection_commands_run_from_a_fresh_airflow_home(tmp_path: Path) -> None:
    (block,) = TESTED_BLOCK.findall(README.read_text())
    assert "airflow db migrate" in block.split("airflow connections add")[0]  # the database comes first
    script = block.replace(README_PORT, str(_free_port()))  # a free port instead of the README's 8765
    home = tmp_path / "airflow-home"
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
    )
    result = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n{script}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert (home / "airflow.db").exists()
    assert output.count("Successfully added `conn_id`=") == 2
    assert output.count("Connection success!") == 2
    assert "s3cret" not in result.stdout


def test_the_providers_list_line_is_what_airflow_prints() -> None:
    figures = load_script("readme_figures")
    assert figures.main(["providers", "--check"]) == 0, "run scripts/readme_figures.py providers"


def test_the_test_run_figures_are_in_the_form_the_script_writes() -> None:
    figures = load_script("readme_figures")
    assert figures.QUICK_LOOP_LINE.search(README.read_text()), "README.md lacks the quick loop's figures"
    assert figures.FULL_SUITE_LINE.search(README.read_text()), "README.md lacks the full suite's figures"


def test_the_figures_come_from_the_last_summary_line_of_a_run() -> None:
    figures = load_script("readme_figures")
    output = "... 3 passed in 1.00s ...\n=== 1887 passed, 1 skipped, 14 warnings in 731.16s (0:12:11) ===\n"
    assert figures.run_figures(output) == "1887 passed, 1 skipped in 12 min 11 s"
