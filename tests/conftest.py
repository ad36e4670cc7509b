"""Shared test setup: an isolated AIRFLOW_HOME, and helpers to run the Airflow CLI against it.

AIRFLOW_HOME is set before anything imports Airflow, so no test touches a real installation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.doubles import MemoryVariables

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-toggl-tests-"))
os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "r7uT8fSWbVLD6kHCuULvzu5qzqCpjd5LEkBbUzaFkFg=")
for name in [name for name in os.environ if name.startswith("AIRFLOW_CONN_")]:
    del os.environ[name]

AIRFLOW = str(Path(sys.executable).parent / "airflow")


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
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [AIRFLOW, *args], env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"airflow {' '.join(args)} exited {result.returncode}\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
        )
    return result


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The session's Airflow metadata database (SQLite), migrated once."""
    run_airflow("db", "migrate", timeout=300)
    return AIRFLOW_HOME


@pytest.fixture
def toggl_user(toggl_emulator: Any) -> dict[str, Any]:
    """A user on the emulator with distinctive credentials (so a leak would be easy to spot)."""
    return toggl_emulator.add_user(
        "ada@example.com", "pw-Distinct-7fQ2", api_token="0123456789abcdef0123456789abcdef"
    )


@pytest.fixture
def toggl_conn_env(toggl_emulator: Any, toggl_user: dict[str, Any]) -> Iterator[dict[str, str]]:
    """``AIRFLOW_CONN_TOGGL_DEFAULT`` for the emulator's user, set in this process and returned for subprocesses."""
    env = {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(toggl_connection(toggl_emulator, toggl_user))}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> MemoryVariables:
    """Airflow's ``Variable`` backed by a dict for this test."""
    from airflow.sdk import Variable
    from airflow.sdk.definitions._internal.types import NOTSET

    memory = MemoryVariables()

    def get(cls: Any, key: str, default: Any = NOTSET, deserialize_json: bool = False) -> Any:
        if key in memory.data:
            return memory.data[key]
        if default is NOTSET:
            raise KeyError(key)
        return default

    def set_(
        cls: Any, key: str, value: Any, description: str | None = None, serialize_json: bool = False
    ) -> None:
        memory.set(key, value)

    def delete(cls: Any, key: str) -> None:
        memory.delete(key)

    monkeypatch.setattr(Variable, "get", classmethod(get))
    monkeypatch.setattr(Variable, "set", classmethod(set_))
    monkeypatch.setattr(Variable, "delete", classmethod(delete))
    return memory


@pytest.fixture
def masked(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every value passed to ``airflow.sdk.log.mask_secret`` during the test."""
    import airflow.sdk.log

    seen: list[Any] = []
    monkeypatch.setattr(airflow.sdk.log, "mask_secret", lambda secret, name=None: seen.append(secret))
    return seen
