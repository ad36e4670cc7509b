"""Fast checks of the e2e harness's own logic (no Airflow process is started)."""

from __future__ import annotations

import base64
import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from devkit.airflow_cluster import (
    AirflowCluster,
    basic_credentials,
    fernet_key,
    find_leaks,
    free_port,
    redact,
)

SECRETS = {"password": "pw-Canary-1234", "cookie": "abc.def.ghi"}


def test_find_leaks_names_secret_and_place_without_the_value() -> None:
    sources = [
        ("a.log", "nothing here"),
        ("b.log", "login with pw-Canary-1234 then cookie abc.def.ghi"),
        ("table xcom row 0", '{"token": "abc.def.ghi"}'),
    ]
    leaks = find_leaks(sources, SECRETS)
    assert {(leak.secret_name, leak.where) for leak in leaks} == {
        ("password", "b.log"),
        ("cookie", "b.log"),
        ("cookie", "table xcom row 0"),
    }
    for leak in leaks:
        assert "pw-Canary-1234" not in str(leak)
        assert "abc.def.ghi" not in str(leak)


def test_find_leaks_ignores_empty_values() -> None:
    assert find_leaks([("a.log", "anything")], {"empty": ""}) == []


def test_redact_replaces_longest_values_first() -> None:
    secrets = {"short": "abc", "long": "abc.def"}
    assert redact("x abc.def y abc", secrets) == "x <long> y <short>"


def test_basic_credentials_is_the_authorization_header_payload() -> None:
    assert base64.b64decode(basic_credentials("a@b.c", "pw")) == b"a@b.c:pw"


def test_fernet_key_is_accepted_by_fernet() -> None:
    from cryptography.fernet import Fernet

    token = Fernet(fernet_key().encode()).encrypt(b"x")
    assert token.startswith(b"gAAAAA")


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_environment_drops_the_callers_airflow_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", "/somewhere/else")
    monkeypatch.setenv("AIRFLOW_CONN_LEFTOVER", "{}")
    cluster = AirflowCluster(tmp_path / "home", env={"EXTRA": "1"})
    assert cluster.env["AIRFLOW_HOME"] == str(tmp_path / "home")
    assert cluster.env["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "home" / "dags")
    assert "AIRFLOW_CONN_LEFTOVER" not in cluster.env
    assert cluster.env["EXTRA"] == "1"
    assert cluster.env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"{cluster.api_url}/execution/"


def test_stop_ends_processes_that_left_the_process_group(tmp_path: Path) -> None:
    """Task processes move to their own process group; stop() still finds them by session."""
    cluster = AirflowCluster(tmp_path / "home")
    child = "import os, time; os.setpgid(0, 0); print(os.getpid(), flush=True); time.sleep(60)"
    script = (
        f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(60)"
    )
    process = cluster.start_process("sleeper", [sys.executable, "-c", script])
    child_pid = _wait_for_pid(cluster.process_logs_folder / "sleeper.log")
    assert os.getsid(child_pid) == process.pid
    assert os.getpgid(child_pid) != process.pid
    cluster.stop(grace=5)
    assert process.poll() is not None
    assert not _running(child_pid)


def _wait_for_pid(path: Path, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text().strip()
        if text:
            return int(text.splitlines()[0])
        time.sleep(0.1)
    raise AssertionError("the child never reported its pid")


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
