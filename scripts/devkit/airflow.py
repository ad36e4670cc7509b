"""Helpers for code that talks to Airflow: the repository root, the CLI, a ``toggl`` connection.

Airflow itself is not imported here (a scratch ``AIRFLOW_HOME`` may still have to be chosen).
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent.parent
AIRFLOW = str(Path(sys.executable).parent / "airflow")
AIRFLOW_VERSION = Version(version("apache-airflow"))

DAGS_TEST_BROKEN: dict[Version, str] = {
    Version("3.2.2"): (
        "Airflow 3.2.2's own `airflow dags test` (and `tasks test`) fails before any task runs, for any "
        "DAG (one with a "
        "single print task too), with the libraries scripts/airflow_venv installs for it (fastapi "
        "0.136, starlette 1.10): its in-process execution API answers without the service registry "
        "its lifespan sets up ('State' object has no attribute 'svcs_registry')"
    ),
}
"""Airflow releases whose ``airflow dags test`` and ``tasks test`` are broken whatever the DAG, and why."""


def expect_working_dags_test() -> None:
    """Mark the calling test xfailed on a release in ``DAGS_TEST_BROKEN``: red then means the provider."""
    import pytest  # only here: the scripts use this module without pytest

    reason = DAGS_TEST_BROKEN.get(AIRFLOW_VERSION)
    if reason:
        pytest.xfail(reason)


def toggl_connection(emulator: Any, user: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A ``toggl`` connection (JSON form) pointing at ``emulator``; pacing off unless asked for."""
    extras: dict[str, Any] = {
        "track_api_url": emulator.url,
        "accounts_api_url": emulator.url,
        "requests_per_second": 0,
        "max_retries": 2,
        "timeout": 5,
    }
    if emulator.ca_bundle:
        extras["verify"] = emulator.ca_bundle
    if user is not None:
        extras["api_token"] = user["api_token"]
    extras.update(extra)
    connection: dict[str, Any] = {"conn_type": "toggl", "extra": extras}
    if user is not None:
        connection.update(login=user["email"], password=user["password"])
    return connection


def run_airflow(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the ``airflow`` CLI with this test session's AIRFLOW_HOME (plus ``env``); output captured."""
    if args[:2] in (("dags", "test"), ("tasks", "test")):  # one code path: DAG.test
        expect_working_dags_test()
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [AIRFLOW, *args], env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"airflow {' '.join(args)} exited {result.returncode}\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
        )
    return result


class MetadataDbVariables:
    """Variables in this test session's Airflow metadata database (SQLite), read from this process.

    The subprocesses (``airflow tasks test``, ``airflow dags test``) write the same table; reading it
    here spares an ``airflow variables`` process (seconds of Airflow start-up) per look.
    """

    def get(self, key: str) -> str | None:
        from airflow.models.variable import Variable

        value = Variable.get(key, default_var=None)
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        from airflow.models.variable import Variable

        Variable.set(key, value)

    def delete(self, key: str) -> None:
        from airflow.models.variable import Variable

        Variable.delete(key)
