"""The supported Airflow releases are one list, checked by CI, and README's table is that check's output.

``scripts/check_airflow_versions.sh`` holds the list (``SUPPORTED``): the oldest release pyproject
declares and the newest of each minor series since. ``.ci/run`` runs it with ``--readme``, which
writes README's table; these tests fail when the list, the declared range, the development
virtualenv's release or the table drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "scripts" / "check_airflow_versions.sh").read_text()
README = (ROOT / "README.md").read_text()


def _supported() -> list[Version]:
    match = re.search(r"^SUPPORTED=\(([^)]*)\)$", SCRIPT, re.MULTILINE)
    assert match, "scripts/check_airflow_versions.sh has no SUPPORTED=(...) line"
    return [Version(word) for word in match.group(1).split()]


def _declared() -> Requirement:
    dependencies = re.search(
        r"^dependencies = \[(.*?)^\]", (ROOT / "pyproject.toml").read_text(), re.M | re.S
    )
    assert dependencies
    found = [Requirement(text) for text in re.findall(r'"(apache-airflow[^"]*)"', dependencies.group(1))]
    assert len(found) == 1, found
    return found[0]


def _readme_table() -> list[list[str]]:
    match = re.search(
        r"<!-- airflow-versions: begin[^>]*-->\n(.*?)<!-- airflow-versions: end -->", README, re.S
    )
    assert match, "README has no airflow-versions block"
    rows = [line for line in match.group(1).splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def test_the_list_starts_at_the_declared_floor_and_stays_in_range() -> None:
    supported, declared = _supported(), _declared()
    floor = next(spec.version for spec in declared.specifier if spec.operator == ">=")
    assert supported[0] == Version(floor)
    assert all(declared.specifier.contains(version) for version in supported), declared
    assert supported == sorted(supported)


def test_the_list_has_the_newest_of_each_minor_series_once() -> None:
    later = _supported()[1:]
    assert len({(version.major, version.minor) for version in later}) == len(later)


def test_the_development_virtualenv_runs_the_newest_supported_release() -> None:
    setup = (ROOT / "scripts" / "setup").read_text()
    match = re.search(r'AIRFLOW_VERSION="\$\{AIRFLOW_VERSION:-([0-9.]+)\}"', setup)
    assert match
    assert Version(match.group(1)) == _supported()[-1]


def test_the_readme_table_is_the_check_of_the_list() -> None:
    rows = _readme_table()
    assert [Version(row[0]) for row in rows] == _supported()
    assert [row[1] for row in rows] == ["pass"] * len(rows), rows


def test_ci_runs_the_check_and_writes_the_table() -> None:
    assert "scripts/check_airflow_versions.sh --readme" in (ROOT / ".ci" / "run").read_text()
