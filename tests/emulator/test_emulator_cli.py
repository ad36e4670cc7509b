"""The ``toggl-emulator`` command: start, ready file, one request, SIGTERM, clean exit."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from airflow_toggl.emulator.__main__ import is_loopback, parse_user

TOKEN = "0123456789abcdef0123456789abcdef"


def wait_for(ready: Path, process: subprocess.Popen[str]) -> dict[str, str]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if ready.exists():
            return json.loads(ready.read_text())
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the emulator did not become ready")


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    ready = tmp_path / "ready.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_toggl.emulator", "--ready-file", str(ready), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, wait_for(ready, process)


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    process, info = start(
        tmp_path,
        "--user",
        f"cli@example.com:hunter2-pass:{TOKEN}",
        "--quota-limit",
        "5",
        "--cookie-style",
        "no-eyj",
        "--rate-limit-strict",
        "--rate-limit-key",
        "credential",
    )
    try:
        assert info["pid"] == process.pid
        assert info["ca_bundle"] is None
        response = requests.get(f"{info['url']}/api/v9/me", auth=(TOKEN, "api_token"), timeout=5)
        assert response.status_code == 200
        assert response.json()["email"] == "cli@example.com"
        assert response.headers["X-Toggl-Quota-Remaining"] == "4"
        config = requests.get(f"{info['url']}/_emulator/config", timeout=5).json()
        assert (config["rate_limit_strict"], config["rate_limit_key"]) == (True, "credential")
        created = requests.post(
            f"{info['url']}/api/sessions",
            json={"email": "cli@example.com", "password": "hunter2-pass"},
            timeout=5,
        )
        assert "eyJ" not in created.headers["Set-Cookie"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out.strip().splitlines() == [f"Toggl emulator listening on {info['url']}"]
    for secret in ("hunter2-pass", TOKEN):
        assert secret not in out + err
    assert not (tmp_path / "ready.json").exists()


def test_cli_with_tls(tmp_path: Path) -> None:
    process, info = start(tmp_path, "--tls", "--tls-dir", str(tmp_path / "tls"))
    try:
        assert info["url"].startswith("https://")
        assert info["ca_bundle"] == str(tmp_path / "tls" / "ca.pem")
        assert requests.get(f"{info['url']}/_emulator/health", verify=info["ca_bundle"], timeout=5).ok
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com"])  # noqa: S104 - must be refused
def test_cli_refuses_non_loopback_hosts(host: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_toggl.emulator", "--host", host],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert "--allow-remote" in result.stderr
    assert "listening" not in result.stdout


def test_cli_rejects_a_bad_user_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_toggl.emulator", "--user", "just-an-email"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "EMAIL:PASSWORD" in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "toggl-emulator"
    if not script.exists():
        pytest.skip("package not installed with its console scripts")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0
    assert "--ready-file" in result.stdout


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),  # noqa: S104 - only classified, never bound
        ("::", False),
        ("10.0.0.1", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_parse_user() -> None:
    assert parse_user("a@example.com:pw") == {"email": "a@example.com", "password": "pw", "api_token": None}
    assert parse_user(f"a@example.com:pw:{TOKEN}")["api_token"] == TOKEN
    with pytest.raises(argparse.ArgumentTypeError):
        parse_user("a@example.com")
