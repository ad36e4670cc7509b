"""Helpers for tests that talk to Airflow: the repository root, the CLI, a ``toggl`` connection."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
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
