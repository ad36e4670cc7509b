"""The pytest plugin's fixtures, and the emulator's independence from the rest of the package."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

import airflow_toggl.emulator
from airflow_toggl.emulator import TogglEmulator
from airflow_toggl.emulator.tokens import SessionSigner

EMULATOR_DIR = Path(airflow_toggl.emulator.__file__).parent
SIGNER = SessionSigner()


def test_fixture_gives_a_running_default_emulator(toggl_emulator: TogglEmulator) -> None:
    assert toggl_emulator.url.startswith("http://127.0.0.1:")
    assert toggl_emulator.configure()["rate_limit_rps"] is None
    assert toggl_emulator.configure()["quota_limit"] is None
    assert requests.get(f"{toggl_emulator.url}/_emulator/health", timeout=5).ok


def test_factory_starts_several_with_options(toggl_emulator_factory: Callable[..., TogglEmulator]) -> None:
    first = toggl_emulator_factory(quota_limit=3)
    second = toggl_emulator_factory(cookie_style="no-eyj")
    assert first.port != second.port
    assert first.configure()["quota_limit"] == 3
    assert second.configure()["cookie_style"] == "no-eyj"


def test_fixtures_stop_their_emulators_in_a_fresh_pytest(tmp_path: Path) -> None:
    """Run pytest in a subprocess, as a user's project would, through the pytest11 entry point."""
    record = tmp_path / "urls.json"
    (tmp_path / "test_user_suite.py").write_text(
        textwrap.dedent(
            f"""
            import json
            import requests

            def test_uses_fixtures(toggl_emulator, toggl_emulator_factory):
                other = toggl_emulator_factory(session_ttl=60)
                user = toggl_emulator.add_user("u@example.com", "pw")
                me = requests.get(toggl_emulator.url + "/api/v9/me", auth=(user["api_token"], "api_token"))
                assert me.status_code == 200
                with open({str(record)!r}, "w") as handle:
                    json.dump([toggl_emulator.url, other.url], handle)
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_user_suite.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "fixture 'toggl_emulator' not found" in result.stdout:
        pytest.skip("the package is not installed, so its pytest11 entry point is not active")
    assert result.returncode == 0, result.stdout + result.stderr
    for url in json.loads(record.read_text()):
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"{url}/_emulator/health", timeout=2)


def test_emulator_imports_nothing_else_from_the_package_or_airflow() -> None:
    for path in EMULATOR_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name != "airflow", path.name
                assert not name.startswith("airflow."), (path.name, name)
                if name.startswith("airflow_toggl"):
                    assert name.startswith("airflow_toggl.emulator"), (path.name, name)


def test_plugin_import_is_cheap() -> None:
    code = (
        "import sys, airflow_toggl.emulator.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.startswith(('airflow', 'cryptography'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(ast.literal_eval(result.stdout.strip()))
    assert not any(name == "airflow" or name.startswith(("airflow.", "cryptography")) for name in loaded)
    assert "airflow_toggl.emulator.server" not in loaded


@settings(max_examples=40, deadline=None)
@given(
    subject=st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=22, max_size=22
    ),
    issued_at=st.integers(min_value=1_600_000_000, max_value=2_000_000_000),
    ttl=st.integers(min_value=0, max_value=10 * 365 * 24 * 3600),
)
def test_no_eyj_tokens_verify_and_never_contain_eyj(subject: str, issued_at: int, ttl: int) -> None:
    token, claims = SIGNER.issue(subject, issued_at, ttl, "no-eyj")
    assert "eyJ" not in token
    assert SIGNER.verify(token) == claims
    assert claims["exp"] - claims["iat"] == ttl


def test_other_signers_reject_each_others_tokens() -> None:
    token, _ = SIGNER.issue("subject", 1_800_000_000, 60, "standard")
    assert SessionSigner().verify(token) is None
    assert SIGNER.verify(token + "x") is None
    assert SIGNER.verify("only.two") is None
