"""Shared test setup: an isolated AIRFLOW_HOME, and the fixtures every test folder uses.

AIRFLOW_HOME is set before anything imports Airflow, so no test touches a real installation.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-toggl-tests-"))
os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "r7uT8fSWbVLD6kHCuULvzu5qzqCpjd5LEkBbUzaFkFg=")
for name in [name for name in os.environ if name.startswith("AIRFLOW_CONN_")]:
    del os.environ[name]

# Imported once the environment above is set: they may import Airflow.
from airflow_toggl.client import ApiTokenAuth, ClientConfig, TogglAuth, TogglClient  # noqa: E402
from devkit.airflow import run_airflow, toggl_connection  # noqa: E402
from devkit.doubles import MemoryVariables, memory_variables  # noqa: E402
from tests.support.fakes import FakeHook  # noqa: E402


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
def variables() -> Iterator[MemoryVariables]:
    """Airflow's ``Variable`` backed by a dict for this test."""
    with memory_variables() as memory:
        yield memory


@pytest.fixture
def masked(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every value passed to ``airflow.sdk.log.mask_secret`` during the test."""
    import airflow.sdk.log

    seen: list[Any] = []
    monkeypatch.setattr(airflow.sdk.log, "mask_secret", lambda secret, name=None: seen.append(secret))
    return seen


class RecordedSleep:
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def make_client(toggl_emulator: Any, sleeps: RecordedSleep) -> Iterator[Callable[..., TogglClient]]:
    clients: list[TogglClient] = []

    def make(
        auth: TogglAuth | None = None, *, on_secret: Callable[[str], None] | None = None, **config: Any
    ) -> TogglClient:
        settings: dict[str, Any] = {
            "track_api_url": toggl_emulator.url,
            "accounts_api_url": toggl_emulator.url,
            "requests_per_second": 0,
            "max_retries": 3,
            "timeout": 2,
            "max_quota_wait": 60,
        }
        if toggl_emulator.ca_bundle:
            settings["verify"] = toggl_emulator.ca_bundle
        settings.update(config)
        client = TogglClient(ClientConfig(**settings), auth, sleep=sleeps, on_secret=on_secret)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def token_client(make_client: Callable[..., TogglClient], toggl_user: dict[str, Any]) -> TogglClient:
    return make_client(ApiTokenAuth(toggl_user["api_token"]))


@pytest.fixture
def fake_hook() -> FakeHook:
    """A scripted stand-in for ``TogglHook``, for the step-by-step rotation and operator tests."""
    return FakeHook()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket connection fails the test."""
    import socket

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


SECRETS_MASKER_MODULES = (
    "airflow._shared.secrets_masker.secrets_masker",
    "airflow.sdk._shared.secrets_masker.secrets_masker",
)
"""Where Airflow keeps its process-wide secrets maskers (core's and the Task SDK's)."""


@pytest.fixture(autouse=True)
def _masker_patterns_of_one_test() -> Iterator[None]:
    """Airflow's secrets maskers forget, after each test, the secrets the test taught them.

    A masker recompiles one regular expression of every secret it has seen each time it learns a
    new one. A task process is short-lived; a test session is not: with every test's tokens and
    cookies kept, each new mask costs more, and the session slows down test after test. Only
    maskers already imported are touched, so a test that never imports Airflow does not pay for it.
    """
    saved = [
        (masker, set(masker.patterns), masker.replacer)
        for masker in (
            sys.modules[name]._secrets_masker() for name in SECRETS_MASKER_MODULES if name in sys.modules
        )
    ]
    yield
    for masker, patterns, replacer in saved:
        masker.patterns, masker.replacer = patterns, replacer


AIRFLOW_PROCESS_FIXTURES = frozenset({"airflow_db", "dags_test_phase", "scheduler_phase"})
"""Fixtures that run the Airflow CLI or Airflow processes: their tests are left out of the quick loop."""


AIRFLOW_FACING = (
    "tests/hooks/",
    "tests/provider/",
    "tests/operators/",
    "tests/sessions/",
    "tests/triggers/",
    "tests/dags/",
    "tests/security/",
)
"""Folders whose tests use Airflow (the client and emulator tests never import it)."""
VERSION_CHECK_PROCESSES = (
    "tests/provider/test_cli.py::",
    "tests/dags/test_dag_runs.py::test_rotation_dag_stores_then_rotates_a_session",
    "tests/dags/test_dag_runs.py::test_credentials_health_dag",
)
"""The Airflow-process tests of the version check: the CLI finds the provider and tests a connection,
and ``airflow dags test`` runs the rotation and health DAGs (the others add time, not coverage)."""


def module_weight(items: list[pytest.Item]) -> int:
    """0 for a module that starts a cluster, 1 for other deployments, 2 for Airflow processes or waits, 3 else."""
    if any(item.get_closest_marker("cluster") for item in items):
        return 0
    if any(item.get_closest_marker("e2e") for item in items):
        return 1
    return 2 if any(item.get_closest_marker("airflow") or item.get_closest_marker("slow") for item in items) else 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``airflow`` every test that runs Airflow processes (``-m "not airflow"`` is the quick loop),
    and ``versions`` the subset ``scripts/check_airflow_versions.sh`` runs on every supported release:
    the Airflow-facing tests that start no Airflow process, and ``VERSION_CHECK_PROCESSES``.

    Then the modules are put in order, the longest kinds first, each module's tests kept together:
    ``scripts/test`` hands whole modules (``--dist loadfile``) to two workers in this order, so a
    module-scoped fixture (a cluster, a browser, a phase of DAG runs) is set up once, and the short
    modules fill the gaps at the end instead of a long one starting last."""
    for item in items:
        uses_airflow = AIRFLOW_PROCESS_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses_airflow or item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.airflow)
        if item.get_closest_marker("e2e") or item.get_closest_marker("slow"):
            continue
        in_process = item.nodeid.startswith(AIRFLOW_FACING) and not item.get_closest_marker("airflow")
        if in_process or item.nodeid.startswith(VERSION_CHECK_PROCESSES):
            item.add_marker(pytest.mark.versions)
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    items[:] = [item for group in sorted(modules.values(), key=module_weight) for item in group]
