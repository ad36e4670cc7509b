"""The installed Airflow is one the package declares support for, and older ones degrade cleanly.

The range is read from the installed distribution's metadata (what pip enforces), not from the
source tree, so a stale editable install shows up here too.
"""

from __future__ import annotations

import logging
from importlib.metadata import requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
AIRFLOW_VERSION = Version(version("apache-airflow"))
CONN_FIELDS_SINCE = Version("3.2.0")
"""First Airflow that builds the connection form from the provider's ``conn-fields``."""


def _airflow_requirement(lines: list[str]) -> Requirement:
    """The unconditional ``apache-airflow`` requirement among ``lines``."""
    found = [
        requirement
        for requirement in map(Requirement, lines)
        if requirement.name == "apache-airflow"
        and (requirement.marker is None or requirement.marker.evaluate({"extra": ""}))
    ]
    assert len(found) == 1, lines
    return found[0]


@pytest.fixture(scope="module")
def declared() -> Requirement:
    return _airflow_requirement(requires("airflow-toggl") or [])


def test_declared_range_has_a_floor_and_a_ceiling(declared: Requirement) -> None:
    operators = {spec.operator for spec in declared.specifier}
    assert ">=" in operators, declared
    assert "<" in operators, declared


def test_installed_airflow_is_in_the_declared_range(declared: Requirement) -> None:
    assert declared.specifier.contains(AIRFLOW_VERSION, prereleases=True), (
        f"apache-airflow {AIRFLOW_VERSION} is outside the declared {declared.specifier}"
    )


def test_installed_metadata_matches_pyproject(declared: Requirement) -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    in_source = _airflow_requirement(project["dependencies"])
    assert in_source.specifier == declared.specifier, (
        "the installed metadata is stale: reinstall the package (pip install -e . --no-deps)"
    )


@pytest.mark.skipif(AIRFLOW_VERSION >= CONN_FIELDS_SINCE, reason="this Airflow reads conn-fields")
def test_older_airflow_ignores_conn_fields(caplog: pytest.LogCaptureFixture) -> None:
    from airflow.providers_manager import ProvidersManager

    with caplog.at_level(logging.WARNING):
        manager = ProvidersManager()
        hook = manager.hooks["toggl"]
        widgets = manager.connection_form_widgets
    assert hook is not None
    assert hook.hook_class_name == "airflow_toggl.hooks.toggl.TogglHook"
    assert not [name for name in widgets if name.startswith("extra__toggl__")]
    assert not [record for record in caplog.records if "toggl" in record.getMessage().lower()]
