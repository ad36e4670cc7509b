"""scripts/test (and .ci/run, which calls it) shows why each skipped test was skipped, in plain output."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from devkit.airflow import ROOT

SKIPPED = '''import pytest


@pytest.mark.skip(reason="chromium is not installed")
def test_needs_a_browser():
    pass


def test_fails():
    assert False
'''


def _report_options(line: str) -> list[str]:
    return [option for option in shlex.split(line) if option.startswith("-r")]


def test_every_pytest_run_of_the_test_script_shows_skip_reasons_and_failures(tmp_path: Path) -> None:
    runs = [line for line in (ROOT / "scripts" / "test").read_text().splitlines() if "-m pytest" in line]
    assert len(runs) == 2  # the quick loop and the full suite
    (tmp_path / "test_sample.py").write_text(SKIPPED)
    for line in runs:
        report = _report_options(line)
        assert report, line
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *report, "test_sample.py"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "SKIPPED [1] test_sample.py:4: chromium is not installed" in result.stdout, result.stdout
        assert "FAILED test_sample.py::test_fails" in result.stdout, result.stdout
