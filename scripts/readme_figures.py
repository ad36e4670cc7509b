"""Rewrite the README's figures from what the commands print, so they cannot go stale by hand.

    .venv/bin/python scripts/readme_figures.py providers          # the `airflow providers list` line
    .venv/bin/python scripts/readme_figures.py quick-loop         # runs `scripts/test --quick`, under a minute
    .venv/bin/python scripts/readme_figures.py quick-loop --from-log run.log   # a run's saved output
    .venv/bin/python scripts/readme_figures.py full-suite         # runs `scripts/test`, ~a quarter of an hour
    .venv/bin/python scripts/readme_figures.py providers --check  # exit 1 when the README differs

``tests/docs/test_readme_commands.py`` fails when the providers line drifts; the quick loop's
and the full suite's figures change with every test added, so they are rewritten from a run rather
than checked (a test checks that the README holds them in the form written here).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PROVIDERS_LINE = re.compile(r"^(airflow providers list \| grep airflow-toggl +# ).*$", re.MULTILINE)
QUICK_LOOP_LINE = re.compile(r"(One run on an idle 2-core machine:\s*)\d+ passed(?:, \d+ skipped)? in \d+ min \d+ s")
FULL_SUITE_LINE = re.compile(r"(One run of the full suite on the same machine:\s*)\d+ passed(?:, \d+ skipped)? in \d+ min \d+ s")
PYTEST_SUMMARY = re.compile(r"^=*\s*(?P<counts>\d+ passed.*?) in (?P<seconds>[\d.]+)s\b", re.MULTILINE)


def providers_line() -> str:
    """The airflow-toggl row of ``airflow providers list``, its columns one ``|`` apart."""
    airflow = Path(sys.executable).parent / "airflow"
    output = subprocess.run(
        [str(airflow), "providers", "list"], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    row = next(line for line in output.splitlines() if line.startswith("airflow-toggl "))
    return " | ".join(cell.strip() for cell in row.split("|"))


def run_figures(output: str) -> str:
    """``1496 passed, 1 skipped in 4 min 16 s`` from the last pytest summary line of a run."""
    matches = list(PYTEST_SUMMARY.finditer(output))
    if not matches:
        raise SystemExit("no pytest summary line in the output")
    last = matches[-1]
    minutes, seconds = divmod(round(float(last["seconds"])), 60)
    counts = re.sub(r",? \d+ (deselected|warnings?)", "", last["counts"])
    return f"{counts} in {minutes} min {seconds} s"


def run_tests(*options: str) -> str:
    """The output of ``scripts/test`` with ``options``; exits when a test failed (no figures from a red run)."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "test"), *options, "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"the run failed; figures not written\n{result.stdout[-3000:]}")
    return result.stdout


def rewrite(text: str, pattern: re.Pattern[str], value: str) -> str:
    new, count = pattern.subn(lambda match: match.group(1) + value, text, count=1)
    if count != 1:
        raise SystemExit(f"README.md has no line matching {pattern.pattern!r}")
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("figure", choices=["providers", "quick-loop", "full-suite"])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the README differs")
    parser.add_argument("--from-log", type=Path, help="quick-loop, full-suite: read a saved run's output instead of running")
    args = parser.parse_args(argv)
    text = README.read_text()
    if args.figure == "providers":
        new = rewrite(text, PROVIDERS_LINE, providers_line())
    else:
        line, options = (QUICK_LOOP_LINE, ["--quick"]) if args.figure == "quick-loop" else (FULL_SUITE_LINE, [])
        output = args.from_log.read_text() if args.from_log else run_tests(*options)
        new = rewrite(text, line, run_figures(output))
    if args.check:
        if new != text:
            print(f"README.md's {args.figure} figures are stale: run scripts/readme_figures.py {args.figure}")
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
