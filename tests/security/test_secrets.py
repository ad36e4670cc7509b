"""Zero secret leaks: every surface airflow-toggl writes to is scanned for every secret value.

The secrets are known and distinctive: passwords (and the new one after a reset), API tokens (and
the one a reset makes), every session cookie the emulator issued, ``/me``'s ``api_token`` and
``intercom_hash``, password reset codes and the ``Authorization: Basic`` header values. The
emulator issues its cookies in the ``no-eyj`` style: Airflow's log processor hides anything that
starts with ``eyJ`` by itself, so standard JWT cookies would be hidden even if the code leaked them.

Surfaces, each scanned with :func:`tests.support.airflow_cluster.find_leaks`:

1. ``airflow dags test`` of every example DAG (subprocess, own AIRFLOW_HOME, connection from
   ``AIRFLOW_CONN_TOGGL_DEFAULT``): the console, then the metadata DB, table by table.
2. The rotation and lifecycle DAGs under a real scheduler (:class:`AirflowCluster`, started once):
   task, process and component logs, the ``xcom``, ``rendered_task_instance_fields`` and
   ``variable`` tables (Variables must be encrypted), then every other table.
3. Every hook method in-process, with Python logging captured at DEBUG for ``airflow_toggl``,
   ``urllib3`` and ``requests`` by a plain handler (no Airflow masking in the way).
4. Every error path: ``str``, ``repr``, the traceback with chained causes, structlog's dict
   traceback and a pickle round trip of each error, plus the log records written on the way.
5. ``repr``/``str`` of hooks, clients, credentials, sessions, stored sessions, settings, operators
   (their template fields after rendering, and what Airflow stores of them) and the trigger.

Every scan has a positive control (something public that must be found where it was written), so a
scan that reads nothing fails. With ``-s`` the module prints how much it read and found.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_toggl.client.auth import ApiTokenAuth, EmailPasswordAuth, NoAuth, SessionCookieAuth
from airflow_toggl.client.client import TogglClient
from airflow_toggl.client.config import ClientConfig
from airflow_toggl.client.session import TogglSession
from airflow_toggl.emulator.server import TogglEmulator
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglConfigError,
    TogglConnectionError,
    TogglError,
    TogglIdentityMismatchError,
    TogglPlanError,
    TogglQuotaExceededError,
    TogglRateLimitError,
    TogglResponseError,
)
from airflow_toggl.hooks.toggl import TogglHook, settings_from_connection
from tests.support.airflow import ROOT, toggl_connection
from tests.support.airflow_cluster import AIRFLOW_BIN, AirflowCluster, Leak, find_leaks
from tests.support.secrets_scan import (
    Ledger,
    SecretBook,
    assert_no_leaks,
    capture_logs,
    exception_texts,
)

pytestmark = pytest.mark.timeout(600)

DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
ROTATION = "toggl_session_rotation"
LIFECYCLE = "toggl_session_lifecycle"
STORE_KEY = "toggl_session_secret__toggl_default"
TOKEN_VARIABLE = "toggl_api_token_secret__toggl_default"
RESET_CODE_VARIABLE = "toggl_password_reset_code_secret"  # read by the confirm DAG, deleted after use
CHECKED_TABLES = ("xcom", "rendered_task_instance_fields", "variable")
SESSION_TTL = 3 * 24 * 3600  # under the rotation DAG's 7 days: every rotation replaces the session
LOGGER_OF_LINE = re.compile(r"\[([A-Za-z_][\w.]*)\]\s+loc=")

DAGS_EMAIL = "leakscan-dags@example.com"
DAGS_PASSWORD = "pwDagsScan-Kq4vX8nT2"
DAGS_NEW_PASSWORD = "pwAfterReset-Zr6mW3pL"
DAGS_TOKEN = "5ec7e75dac0ffee05ec7e75dac0ffee0"
CLUSTER_EMAIL = "leakscan-scheduler@example.com"
CLUSTER_PASSWORD = "pwSchedScan-Hy5cN1bV7"
CLUSTER_TOKEN = "c1a55e7c1a55e7c1a55e7c1a55e7c1a5"
HOOK_EMAIL = "leakscan-hook@example.com"
HOOK_PASSWORD = "pwHookScan-Tg8dF2sJ4"
HOOK_NEW_PASSWORD = "pwHookReset-Wc3nB9xQ6"
HOOK_TOKEN = "b00c5ca7b00c5ca7b00c5ca7b00c5ca7"
SIGNUP_EMAIL = "leakscan-signup@example.com"
SIGNUP_PASSWORD = "pwSignupScan-Jm2kR7vY5"
OTHER_EMAIL = "leakscan-other@example.com"
OTHER_PASSWORD = "pwOtherScan-Lp9sD4hG1"
WRONG_TOKEN = "0bad70c3e0bad70c3e0bad70c3e0bad7"
WRONG_PASSWORD = "pwMistyped-Ux5qE8tA3"

DAGS_TEST_RUNS: tuple[tuple[str, str], ...] = (
    ("credentials health", "toggl_credentials_health"),
    ("session lifecycle", LIFECYCLE),
    ("session rotation, first run", ROTATION),
    ("session rotation, second run", ROTATION),
    ("password reset request", "toggl_password_reset_request"),
    ("password reset confirm", "toggl_password_reset_confirm"),
    ("weekly export", "toggl_export_time_entries"),
    ("API token reset", "toggl_api_token_reset"),
)

# -- shared fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ledger() -> Iterator[Ledger]:
    """Every scan of the module; the totals are printed at the end (visible with ``-s``)."""
    record = Ledger()
    yield record
    if record.records:
        print("\n\nSecret scans of tests/security/test_secrets.py\n" + record.report())


@pytest.fixture(scope="module")
def dag_emulator() -> Iterator[TogglEmulator]:
    """The Toggl the DAG runs talk to (``dags test`` first, then the scheduler)."""
    with TogglEmulator(cookie_style="no-eyj", session_ttl=SESSION_TTL) as running:
        yield running


@pytest.fixture(scope="module")
def dag_book() -> SecretBook:
    """The secrets of both DAG phases; each phase adds its user's and harvests the emulator."""
    return SecretBook()


def request_reset_code(emulator: TogglEmulator, email: str) -> str:
    """Have the emulator mail a reset code (without the code under test) and return it."""
    request = urllib.request.Request(
        f"{emulator.url}/api/me/password_reset/request",
        data=json.dumps({"email": email}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
    return emulator.outbox(email)[-1]


def other_tables(home: AirflowCluster) -> list[str]:
    """Every table of the metadata DB but the three checked on their own."""
    rows = home.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [row["name"] for row in rows if row["name"] not in CHECKED_TABLES]


# -- 1. airflow dags test ----------------------------------------------------------------------


@dataclass
class DagsTestPhase:
    """What the ``dags test`` runs left behind."""

    home: AirflowCluster
    consoles: dict[str, str]
    debug_console: str


def dags_test(
    home: AirflowCluster,
    book: SecretBook,
    connection: dict[str, Any],
    dag_id: str,
    *,
    conf: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """``airflow dags test`` in ``home`` with the connection in the environment; stdout + stderr."""
    args = [AIRFLOW_BIN, "dags", "test", dag_id]
    if conf is not None:
        args += ["-c", json.dumps(conf)]
    full_env = {**home.env, "AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(connection), **(env or {})}
    result = subprocess.run(
        args, env=full_env, cwd=home.home, capture_output=True, text=True, timeout=240, check=False
    )
    console = result.stdout + result.stderr
    if result.returncode != 0:
        raise AssertionError(
            f"airflow dags test {dag_id} exited {result.returncode}\n{book.redact(console[-6000:])}"
        )
    return console


@pytest.fixture(scope="module")
def dags_test_phase(
    tmp_path_factory: pytest.TempPathFactory, dag_emulator: TogglEmulator, dag_book: SecretBook
) -> DagsTestPhase:
    """Every example DAG once (the rotation twice, so it replaces a session), in dependency order.

    The reset request runs with ``-c '{"email": ...}'``, so the run conf and the ``log`` table hold
    a known public value (the metadata DB scan's positive control). The reset confirm runs with the
    connection's password already changed, as the DAG asks, and the code set beforehand with
    ``airflow variables set toggl_password_reset_code_secret <code>``, as the DAG's docs say. The
    API token reset runs last, since it invalidates the token in the connection. One more confirm
    runs at DEBUG: the reset code is the only secret that travels in a URL, and urllib3 logs URLs
    at DEBUG. (Airflow 3.3's ``namespace_levels`` leaves the stdlib handler at the global level, so
    DEBUG for urllib3 means DEBUG for everything.)
    """
    user = dag_emulator.add_user(DAGS_EMAIL, DAGS_PASSWORD, api_token=DAGS_TOKEN, fullname="Leak Scan Dags")
    dag_book.add_user(dag_emulator, user)
    dag_book.add_password(DAGS_EMAIL, DAGS_NEW_PASSWORD)
    week_ago = datetime.now(timezone.utc) - timedelta(days=8)
    dag_emulator.add_time_entries(DAGS_EMAIL, start=week_ago, count=8 * 24)  # for the weekly export
    home = AirflowCluster(
        tmp_path_factory.mktemp("dags-test") / "airflow",
        dag_files=DAG_FILES,
        env={"TOGGL_CONN_ID": "toggl_default", "TOGGL_EXPORT_DIR": str(tmp_path_factory.mktemp("exports"))},
        redact_in_reports=dag_book.values,
    )
    home.migrate()
    before = toggl_connection(dag_emulator, user)
    after = toggl_connection(dag_emulator, {**user, "password": DAGS_NEW_PASSWORD})
    consoles: dict[str, str] = {}
    debug_console = ""
    for label, dag_id in DAGS_TEST_RUNS:
        if dag_id == "toggl_password_reset_request":
            consoles[label] = dags_test(home, dag_book, before, dag_id, conf={"email": DAGS_EMAIL})
        elif dag_id == "toggl_password_reset_confirm":
            home.airflow("variables", "set", RESET_CODE_VARIABLE, dag_emulator.outbox(DAGS_EMAIL)[-1])
            consoles[label] = dags_test(home, dag_book, after, dag_id)
            home.airflow(
                "variables", "set", RESET_CODE_VARIABLE, request_reset_code(dag_emulator, DAGS_EMAIL)
            )
            debug_console = dags_test(
                home, dag_book, after, dag_id, env={"AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG"}
            )
        else:
            connection = after if dag_id == "toggl_api_token_reset" else before
            consoles[label] = dags_test(home, dag_book, connection, dag_id)
    dag_book.harvest(dag_emulator)
    return DagsTestPhase(home=home, consoles=consoles, debug_console=debug_console)


def test_dags_test_knows_every_kind_of_secret(dags_test_phase: DagsTestPhase, dag_book: SecretBook) -> None:
    """The scans look for real values: the runs issued cookies, mailed codes and reset the token."""
    assert len(dag_book.names_of("session cookie")) >= 5  # lifecycle 1, rotation 2, confirm 2
    assert len(dag_book.names_of(f"reset code #0 of {DAGS_EMAIL}", f"reset code #1 of {DAGS_EMAIL}")) == 2
    assert len(dag_book.names_of(f"api_token of {DAGS_EMAIL}")) == 2  # before and after the reset
    assert len(dag_book.names_of(f"password of {DAGS_EMAIL}")) == 2
    assert dag_book.names_of(f"intercom_hash of {DAGS_EMAIL}")
    assert not any("eyJ" in value for value in dag_book.values.values())


@pytest.mark.parametrize("label", [label for label, _ in DAGS_TEST_RUNS])
def test_dags_test_console_holds_no_secret(
    dags_test_phase: DagsTestPhase, dag_book: SecretBook, ledger: Ledger, label: str
) -> None:
    console = dags_test_phase.consoles[label]
    dag_id = dict(DAGS_TEST_RUNS)[label]
    # Positive control: the console is the run's, and the run went through.
    assert f"dag_id={dag_id}," in console
    assert "state=success" in console
    leaks = ledger.scan(
        "dags test: console (INFO)", [(f"dags test {label}", console)], dag_book, unit="consoles"
    )
    assert_no_leaks(leaks)


def test_dags_test_consoles_show_the_public_identity(dags_test_phase: DagsTestPhase) -> None:
    """The scan finds a value where the code does write it: the identity checks log the email."""
    consoles = [(label, text) for label, text in dags_test_phase.consoles.items()]
    seen = {leak.where for leak in find_leaks(consoles, {"email": DAGS_EMAIL})}
    assert {"session lifecycle", "session rotation, first run", "password reset confirm"} <= seen


def test_dags_test_xcom_rendered_fields_and_variables_hold_no_secret(
    dags_test_phase: DagsTestPhase, dag_book: SecretBook, ledger: Ledger
) -> None:
    home = dags_test_phase.home
    sources = home.table_texts(CHECKED_TABLES)
    leaks = ledger.scan("dags test: xcom, rendered fields, variable", sources, dag_book, unit="rows")
    # Positive controls: the identity checks' XComs hold the email; the reset code was rendered and masked.
    assert any(leak.where.startswith("table xcom") for leak in find_leaks(sources, {"email": DAGS_EMAIL}))
    rendered = home.query(
        "SELECT rendered_fields FROM rendered_task_instance_fields WHERE task_id = 'confirm_password_reset'"
    )
    assert [json.loads(row["rendered_fields"])["code"] for row in rendered] == ["***", "***"]
    # The confirm DAG deleted the reset code's Variable after each run; the rest are encrypted.
    variables = home.query("SELECT key, is_encrypted FROM variable")
    assert {row["key"] for row in variables} == {STORE_KEY, TOKEN_VARIABLE}
    assert all(row["is_encrypted"] for row in variables)
    assert_no_leaks(leaks)


def test_dags_test_other_tables_hold_no_secret(
    dags_test_phase: DagsTestPhase, dag_book: SecretBook, ledger: Ledger
) -> None:
    home = dags_test_phase.home
    sources = home.table_texts(other_tables(home))
    leaks = ledger.scan("dags test: every other table", sources, dag_book, unit="rows")
    assert any(where.startswith("table dag_run ") for where, _ in sources)
    assert any(where.startswith("table log ") for where, _ in sources)
    assert_no_leaks(leaks)


def test_reset_code_stays_out_of_the_metadata_db(
    dags_test_phase: DagsTestPhase, dag_book: SecretBook
) -> None:
    """Every table, every row, for both reset codes: not in ``dag_run.conf``, not in the ``log`` table.

    Positive controls: the request run's conf (the email, passed with ``-c``) is found both in
    ``dag_run`` and in the ``log`` table's ``full_command``, so a code passed that way would be
    found too; the ``log`` table records both ``variables set`` commands, the value masked.
    """
    home = dags_test_phase.home
    tables = [row["name"] for row in home.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert {"dag_run", "log", "variable", "rendered_task_instance_fields"} <= set(tables)
    sources = home.table_texts(tables)
    confs = home.query("SELECT dag_id, conf FROM dag_run WHERE dag_id LIKE 'toggl_password_reset_%'")
    assert sorted(row["dag_id"] for row in confs) == ["toggl_password_reset_confirm"] * 2 + [
        "toggl_password_reset_request"
    ]
    seen = {leak.where.split(" row ")[0] for leak in find_leaks(sources, {"email": DAGS_EMAIL})}
    assert {"table dag_run", "table log"} <= seen
    commands = [row["extra"] for row in home.query("SELECT extra FROM log WHERE event = 'cli_variables_set'")]
    assert len(commands) == 2
    assert all(RESET_CODE_VARIABLE in command and "********" in command for command in commands)
    assert len(dag_book.names_of("reset code")) == 2
    codes = {name: value for name, value in dag_book.values.items() if name.startswith("reset code")}
    assert_no_leaks(find_leaks(sources, codes))


def _debug_lines(console: str) -> dict[str, str]:
    return {f"dags test console at DEBUG, line {n}": line for n, line in enumerate(console.splitlines())}


def _from_the_product(line: str) -> bool:
    """Whether a console line was logged by airflow-toggl (modules, operators, hooks) or urllib3/requests."""
    match = LOGGER_OF_LINE.search(line)
    name = match.group(1) if match else ""
    return "airflow_toggl" in name or name.split(".")[0] in ("urllib3", "requests")


def test_dags_test_debug_console_holds_no_secret(
    dags_test_phase: DagsTestPhase, dag_book: SecretBook, ledger: Ledger
) -> None:
    """At DEBUG, the lines of the product's loggers and urllib3 show no secret, reset code included.

    Airflow's own DEBUG lines are scanned and counted too, but not asserted on: in ``dags test``
    they print every value handed to the masker and every Variable written, which is Airflow's code.
    """
    lines = _debug_lines(dags_test_phase.debug_console)
    ours = {where: line for where, line in lines.items() if _from_the_product(line)}
    theirs = {where: line for where, line in lines.items() if where not in ours}
    # Positive control: DEBUG records of the client and of urllib3 are in the console.
    assert any("Toggl POST /api/me/password_reset/confirm/<code> -> 200" in line for line in ours.values())
    assert any("[urllib3.connectionpool]" in line for line in ours.values())
    leaks = ledger.scan("dags test at DEBUG: product and urllib3 lines", ours.items(), dag_book, unit="lines")
    ledger.scan(
        "dags test at DEBUG: Airflow's own lines (not asserted)", theirs.items(), dag_book, unit="lines"
    )
    assert_no_leaks(leaks)


def test_reset_code_stays_out_of_the_debug_console(
    dags_test_phase: DagsTestPhase, dag_book: SecretBook
) -> None:
    """urllib3's request line for the confirm is there, with the code hidden."""
    lines = _debug_lines(dags_test_phase.debug_console)
    ours = [(where, line) for where, line in lines.items() if _from_the_product(line)]
    assert any(
        "[urllib3.connectionpool]" in line and "/api/me/password_reset/confirm/*** HTTP/1.1" in line
        for _, line in ours
    )
    codes = {name: value for name, value in dag_book.values.items() if name.startswith("reset code")}
    assert_no_leaks(find_leaks(ours, codes))


# -- 2. the scheduler --------------------------------------------------------------------------


@dataclass
class SchedulerPhase:
    """The stopped deployment (its logs and DB stay) and the session store as it ended."""

    cluster: AirflowCluster
    stored: dict[str, Any] = field(default_factory=dict)


def wait_for_successes(cluster: AirflowCluster, dag_id: str, count: int, timeout: float = 300) -> None:
    """Wait for ``count`` successful runs of any type; fail early on a failed task."""

    def done() -> bool:
        cluster.assert_no_failed_tasks(dag_id)
        return sum(run["state"] == "success" for run in cluster.dag_runs(dag_id)) >= count

    cluster.wait_until(done, timeout=timeout, interval=2, what=f"{count} successful runs of {dag_id}")


@pytest.fixture(scope="module")
def scheduler_phase(
    tmp_path_factory: pytest.TempPathFactory, dag_emulator: TogglEmulator, dag_book: SecretBook
) -> Iterator[SchedulerPhase]:
    """One deployment: the lifecycle DAG once, then the rotation DAG twice (scheduled + triggered).

    The rotation runs last so the store still holds a session at the end (an encrypted Variable
    to check). Logging stays at Airflow's default level, as in production.
    """
    user = dag_emulator.add_user(
        CLUSTER_EMAIL, CLUSTER_PASSWORD, api_token=CLUSTER_TOKEN, fullname="Leak Scan Scheduler"
    )
    dag_book.add_user(dag_emulator, user)
    env = {
        "AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(toggl_connection(dag_emulator, user)),
        "TOGGL_CONN_ID": "toggl_default",
    }
    files = [ROOT / "dags" / f"{dag_id}.py" for dag_id in (ROTATION, LIFECYCLE)]
    home = tmp_path_factory.mktemp("scheduler") / "airflow"
    with AirflowCluster(home, dag_files=files, env=env, redact_in_reports=dag_book.values) as cluster:
        cluster.migrate()
        cluster.start()
        cluster.wait_for_dag(LIFECYCLE)
        cluster.wait_for_dag(ROTATION)
        cluster.airflow("dags", "unpause", LIFECYCLE)
        cluster.airflow("dags", "trigger", LIFECYCLE)
        wait_for_successes(cluster, LIFECYCLE, 1)
        cluster.airflow("dags", "pause", LIFECYCLE)
        cluster.airflow("dags", "unpause", ROTATION)  # the scheduler starts the latest daily run
        cluster.airflow("dags", "trigger", ROTATION)  # queued behind it (max_active_runs=1)
        wait_for_successes(cluster, ROTATION, 2)
        cluster.airflow("dags", "pause", ROTATION)
        cluster.wait_for_quiet(ROTATION)
        cluster.stop()
        stored = json.loads(cluster.airflow("variables", "get", STORE_KEY).stdout.strip().splitlines()[-1])
        dag_book.harvest(dag_emulator)
        yield SchedulerPhase(cluster=cluster, stored=stored)


@pytest.mark.e2e
def test_scheduler_runs_did_the_work(scheduler_phase: SchedulerPhase, dag_emulator: TogglEmulator) -> None:
    """Three sessions were issued (lifecycle, two rotations); the store holds the one still live."""
    cluster = scheduler_phase.cluster
    for dag_id, runs in ((LIFECYCLE, 1), (ROTATION, 2)):
        assert sum(run["state"] == "success" for run in cluster.dag_runs(dag_id)) >= runs
    issued = dag_emulator.issued_sessions(CLUSTER_EMAIL)
    assert len(issued) >= 3
    live = dag_emulator.live_sessions(CLUSTER_EMAIL, include_cookies=True)
    assert [session["cookie"] for session in live] == [scheduler_phase.stored["session_token"]]


@pytest.mark.e2e
def test_scheduler_logs_hold_no_secret(
    scheduler_phase: SchedulerPhase, dag_book: SecretBook, ledger: Ledger
) -> None:
    cluster = scheduler_phase.cluster
    texts = cluster.log_texts()
    # Positive controls: task logs of both DAGs exist, show the (public) email the identity checks
    # log, and what the session operators log.
    task_logs = [where for where, _ in texts if where.startswith("logs/dag_id=")]
    for dag_id in (LIFECYCLE, ROTATION):
        assert any(where.startswith(f"logs/dag_id={dag_id}/") for where in task_logs), task_logs
    seen = {leak.where for leak in find_leaks(texts, {"email": CLUSTER_EMAIL})}
    assert any(where.startswith("logs/dag_id=") for where in seen), seen
    logged = "\n".join(text for where, text in texts if where in task_logs)
    assert "Stored a new Toggl session under toggl_session_secret__toggl_default" in logged
    assert "Session under toggl_session_secret__toggl_default rotated" in logged
    leaks = ledger.scan("scheduler: task, process and component logs", texts, dag_book, unit="files")
    assert_no_leaks(leaks)


@pytest.mark.e2e
def test_scheduler_xcom_rendered_fields_and_variables_hold_no_secret(
    scheduler_phase: SchedulerPhase, dag_book: SecretBook, ledger: Ledger
) -> None:
    cluster = scheduler_phase.cluster
    sources = cluster.table_texts(CHECKED_TABLES)
    leaks = ledger.scan("scheduler: xcom, rendered fields, variable", sources, dag_book, unit="rows")
    assert any(leak.where.startswith("table xcom") for leak in find_leaks(sources, {"email": CLUSTER_EMAIL}))
    assert any(where.startswith("table rendered_task_instance_fields") for where, _ in sources)
    # The Variable holds a live session cookie (read back through the CLI), stored encrypted.
    assert scheduler_phase.stored["session_token"] in dag_book.values.values()
    assert cluster.query("SELECT key, is_encrypted FROM variable") == [{"key": STORE_KEY, "is_encrypted": 1}]
    assert_no_leaks(leaks)


@pytest.mark.e2e
def test_scheduler_other_tables_hold_no_secret(
    scheduler_phase: SchedulerPhase, dag_book: SecretBook, ledger: Ledger
) -> None:
    cluster = scheduler_phase.cluster
    sources = cluster.table_texts(other_tables(cluster))
    assert any(where.startswith("table task_instance ") for where, _ in sources)
    assert_no_leaks(ledger.scan("scheduler: every other table", sources, dag_book, unit="rows"))


# -- in-process fixtures -----------------------------------------------------------------------


@pytest.fixture
def book() -> SecretBook:
    return SecretBook()


@pytest.fixture
def masked(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every value handed to Airflow's masker; the masker itself is left out of the way."""
    import airflow.sdk.log

    seen: list[Any] = []
    monkeypatch.setattr(airflow.sdk.log, "mask_secret", lambda secret, name=None: seen.append(secret))
    return seen


class Bench:
    """An emulator with one user, and hooks over connections set in the environment."""

    def __init__(
        self, factory: Callable[..., TogglEmulator], monkeypatch: pytest.MonkeyPatch, book: SecretBook
    ) -> None:
        self.factory = factory
        self.monkeypatch = monkeypatch
        self.book = book
        self.emulator = factory(cookie_style="no-eyj")
        self.user = self.emulator.add_user(
            HOOK_EMAIL, HOOK_PASSWORD, api_token=HOOK_TOKEN, fullname="Leak Scan"
        )
        book.add_user(self.emulator, self.user)
        self._connections = 0

    def hook(
        self,
        *,
        emulator: TogglEmulator | None = None,
        user: dict[str, Any] | None = None,
        auth_mode: str | None = None,
        session_cookie: str | None = None,
        **extra: Any,
    ) -> TogglHook:
        """A hook over a fresh connection (``extra`` overrides the connection's extras)."""
        self._connections += 1
        conn_id = f"toggl_bench_{self._connections}"
        connection = toggl_connection(emulator or self.emulator, user or self.user, **extra)
        self.monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        return TogglHook(conn_id, auth_mode=auth_mode, session_cookie=session_cookie)

    def session(self) -> TogglSession:
        """A live session of the bench user, issued without a request."""
        return TogglSession.from_cookie(self.emulator.issue_session(HOOK_EMAIL))

    def reset_code(self) -> str:
        return request_reset_code(self.emulator, HOOK_EMAIL)


@pytest.fixture
def bench(
    toggl_emulator_factory: Callable[..., TogglEmulator],
    monkeypatch: pytest.MonkeyPatch,
    book: SecretBook,
    masked: list[Any],
) -> Bench:
    return Bench(toggl_emulator_factory, monkeypatch, book)


# -- 3. hook methods at DEBUG ------------------------------------------------------------------


def test_log_capture_is_not_masked() -> None:
    """The capture shows what the code emits: a value registered with Airflow's masker still shows."""
    import logging

    from airflow.sdk.log import mask_secret

    canary = "canary-Vb7nM2xK9"
    mask_secret(canary)
    with capture_logs() as logs:
        logging.getLogger("airflow_toggl.client.client").debug("value %s", canary)
        logging.getLogger("urllib3.connectionpool").debug("value %s", canary)
    assert [canary in text for _, text in logs.records] == [True, True]


def test_every_hook_method_at_debug_emits_no_secret(
    bench: Bench, book: SecretBook, masked: list[Any], ledger: Ledger
) -> None:
    """All twelve methods, through all three kinds of credentials, with DEBUG records captured."""
    results: list[tuple[str, object]] = []
    store_value = {"version": 1, "session_token": "", "stale_session_tokens": []}
    with capture_logs() as logs:
        hook = bench.hook()
        results.append(
            ("get_me: public fields", {k: v for k, v in hook.get_me().items() if k in ("id", "email")})
        )
        results += [("is_logged_in", hook.is_logged_in()), ("get_quota", hook.get_quota())]
        results.append(("test_connection", hook.test_connection()))
        basic = bench.hook(auth_mode="basic")
        results += [("basic get_me id", basic.get_me()["id"]), ("basic is_logged_in", basic.is_logged_in())]
        session = hook.create_session()
        results.append(("create_session", session))
        results.append(("identity_of", hook.identity_of(session)["email"]))
        by_cookie = bench.hook(session_cookie=session.cookie)
        results += [
            ("session get_me id", by_cookie.get_me()["id"]),
            ("session test", by_cookie.test_connection()),
        ]
        store_value["session_token"] = session.cookie
        bench.monkeypatch.setenv(f"AIRFLOW_VAR_{STORE_KEY.upper()}", json.dumps(store_value))
        stored = bench.hook(auth_mode="session", session_key=STORE_KEY)
        results += [
            ("stored session", stored.current_session()),
            ("stored is_logged_in", stored.is_logged_in()),
        ]
        results += [
            ("delete_session", hook.delete_session(session)),
            ("delete again", hook.delete_session(session)),
        ]
        signed_up = hook.signup(SIGNUP_EMAIL, SIGNUP_PASSWORD, "Leak Scan Signup")
        assert signed_up is not None
        book.add_password(SIGNUP_EMAIL, SIGNUP_PASSWORD)
        newcomer = hook.identity_of(signed_up)
        book.add(f"intercom_hash of {SIGNUP_EMAIL}", newcomer["intercom_hash"])
        results += [("signup", signed_up), ("close_account", hook.close_account(signed_up))]
        results.append(("request_password_reset", hook.request_password_reset(HOOK_EMAIL)))
        code = bench.emulator.outbox(HOOK_EMAIL)[-1]
        results.append(("confirm_password_reset", hook.confirm_password_reset(code, HOOK_NEW_PASSWORD)))
        results.append(("reset_api_token: type", type(hook.reset_api_token()).__name__))
        results += [("get_me after reset", hook.get_me()["id"]), ("is_logged_in after", hook.is_logged_in())]
        refused = bench.hook(api_token=WRONG_TOKEN)
        results.append(("test_connection refused", refused.test_connection()))
    book.add("mistyped api token", WRONG_TOKEN)
    book.harvest(bench.emulator)

    records = dict(logs.texts("hook methods"))
    outputs = {f"hook result {name}": f"{value!r} {value!s}" for name, value in results}
    # Positive controls: the client's and urllib3's DEBUG records are there, and so is a public value.
    assert any("Toggl POST /api/sessions -> 200" in text for text in records.values())
    assert any('"GET /api/v9/me HTTP/1.1" 200' in text for text in records.values())
    assert find_leaks(outputs.items(), {"email": HOOK_EMAIL})
    assert results[-1][1][0] is False
    assert len(book.names_of("session cookie")) == 3  # create_session, signup, confirm_password_reset
    assert len(book.names_of(f"api_token of {HOOK_EMAIL}")) == 2

    leaks = ledger.scan("hook methods: log records at DEBUG", records.items(), book, unit="records")
    leaks += ledger.scan("hook methods: results", outputs.items(), book, unit="texts")
    assert_no_leaks(leaks)

    # Masking is the second line: every secret the hook met was handed to Airflow's masker.
    handed = {value for value in masked if isinstance(value, str)}
    assert sorted(name for name, value in book.raw_values().items() if value not in handed) == []


def test_generic_requests_at_debug_emit_no_secret(
    bench: Bench, book: SecretBook, masked: list[Any], ledger: Ledger
) -> None:
    """``request`` and ``paginate`` on every kind of answer that carries a secret, DEBUG records captured.

    ``/me`` (``api_token``, ``intercom_hash``), a session made through the accounts service (its
    ``Set-Cookie`` and the password in the body), a reset confirmed with the code in the path, a
    token reset (the answer is the token) and a refused call. What a task would return goes through
    ``without_secrets`` first, as ``TogglApiOperator`` does.
    """
    bench.emulator.add_time_entries(HOOK_EMAIL, start="2026-11-23T00:00:00Z", count=5)
    search = f"/reports/api/v3/workspace/{bench.user['default_workspace_id']}/search/time_entries"
    results: list[tuple[str, object]] = []
    with capture_logs() as logs:
        hook = bench.hook()
        results.append(("request /me", hook.without_secrets(hook.request("GET", "/api/v9/me"))))
        rows = hook.paginate(
            search, style="rows", json={"start_date": "2026-11-23", "end_date": "2026-11-29"}, page_size=2
        )
        results.append(("paginate rows", hook.without_secrets(list(rows))))
        credentials = {"email": HOOK_EMAIL, "password": HOOK_PASSWORD}
        results.append(
            ("session", hook.request("POST", "/api/sessions", service="accounts", json=credentials))
        )
        hook.request("POST", "/api/me/password_reset/request", service="accounts", json={"email": HOOK_EMAIL})
        code = bench.emulator.outbox(HOOK_EMAIL)[-1]
        confirm = f"/api/me/password_reset/confirm/{code}"
        answer = hook.request("POST", confirm, service="accounts", json={"password": HOOK_NEW_PASSWORD})
        results.append(("confirm", answer))
        with pytest.raises(TogglAPIError) as refused:
            hook.request("POST", confirm, service="accounts", json={"password": HOOK_NEW_PASSWORD})
        results.append(("confirm again", f"{refused.value} {refused.value!r}"))
        results.append(("reset_token", hook.without_secrets(hook.request("POST", "/api/v9/me/reset_token"))))
    book.harvest(bench.emulator)

    records = dict(logs.texts("generic requests"))
    outputs = {f"generic result {name}": f"{value!r} {value!s}" for name, value in results}
    assert any("Toggl POST /api/me/password_reset/confirm/<code> -> 200" in text for text in records.values())
    assert find_leaks(outputs.items(), {"email": HOOK_EMAIL})
    assert len(book.names_of("session cookie")) == 2  # the session request and the confirmed reset
    assert len(book.names_of(f"api_token of {HOOK_EMAIL}")) == 2

    leaks = ledger.scan("generic requests: log records at DEBUG", records.items(), book, unit="records")
    leaks += ledger.scan("generic requests: results", outputs.items(), book, unit="texts")
    assert_no_leaks(leaks)
    handed = {value for value in masked if isinstance(value, str)}
    assert sorted(name for name, value in book.raw_values().items() if value not in handed) == []


def test_reset_code_stays_out_of_debug_logs(bench: Bench, book: SecretBook) -> None:
    hook = bench.hook()
    code = bench.reset_code()
    with capture_logs() as logs:
        hook.confirm_password_reset(code, HOOK_NEW_PASSWORD)
    book.harvest(bench.emulator)
    assert any(
        "[urllib3.connectionpool]" in text and "/api/me/password_reset/confirm/*** HTTP/1.1" in text
        for _, text in logs.records
    )
    assert_no_leaks(find_leaks(logs.texts("confirm_password_reset"), book.values))


def test_reset_code_stays_out_of_warning_logs(bench: Bench, book: SecretBook) -> None:
    """A response whose headers are cut short makes urllib3 warn, naming the URL, at the default level."""
    code = bench.reset_code()
    hook = bench.hook(max_retries=0)
    bench.emulator.inject_fault(
        f"/api/me/password_reset/confirm/{code}", method="POST", action="drop_mid_response", process=True
    )
    with capture_logs() as logs:
        provoke(lambda: hook.confirm_password_reset(code, HOOK_NEW_PASSWORD))
    warnings = [(where, text) for where, text in logs.texts("confirm") if not text.startswith("DEBUG")]
    assert any("[urllib3.connection]" in text for _, text in warnings)
    assert_no_leaks(find_leaks(warnings, book.values | {"reset code": code}))


# -- 4. error paths ----------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _inject(bench: Bench, path: str, **fault: Any) -> None:
    bench.emulator.inject_fault(path, **fault)


def _confirm_with_fault(bench: Bench, **fault: Any) -> None:
    code = bench.reset_code()
    hook = bench.hook(max_retries=0, **fault.pop("extra", {}))
    _inject(bench, f"/api/me/password_reset/confirm/{code}", method="POST", **fault)
    hook.confirm_password_reset(code, HOOK_NEW_PASSWORD)


def _echo(what: str) -> dict[str, Any]:
    """An error body that repeats part of the request, as some gateways and debug pages do."""
    return {"error": "internal", "echo": what}


def _case_wrong_token(bench: Bench) -> None:
    bench.book.add("mistyped api token", WRONG_TOKEN)
    bench.hook(api_token=WRONG_TOKEN).get_me()


def _case_wrong_password_basic(bench: Bench) -> None:
    bench.book.add("mistyped password", WRONG_PASSWORD)
    bench.hook(user={**bench.user, "password": WRONG_PASSWORD}, auth_mode="basic").get_me()


def _case_wrong_password_session_create(bench: Bench) -> None:
    bench.book.add("mistyped password", WRONG_PASSWORD)
    bench.hook(user={**bench.user, "password": WRONG_PASSWORD}).create_session()


def _case_deleted_session(bench: Bench) -> None:
    session = bench.session()
    bench.hook().delete_session(session)
    bench.hook(session_cookie=session.cookie).get_me()


def _case_close_with_dead_session(bench: Bench) -> None:
    session = bench.session()
    hook = bench.hook()
    hook.delete_session(session)
    hook.close_account(session)


def _case_429(bench: Bench) -> None:
    _inject(bench, "/api/v9/me", count=None, status=429, headers={"Retry-After": "0"})
    bench.hook().get_me()


def _case_429_html(bench: Bench) -> None:
    page = f"<html><body>Too many requests for {HOOK_TOKEN} / {bench.user['password']}</body></html>"
    headers = {"Retry-After": "0", "Content-Type": "text/html"}
    _inject(bench, "/api/v9/me", count=None, status=429, headers=headers, body=page)
    bench.hook().get_me()


def _case_402_quota(bench: Bench) -> None:
    headers = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "1200"}
    _inject(bench, "/api/v9/me", status=402, headers=headers)
    bench.hook(max_quota_wait=30).get_me()


def _case_402_plan(bench: Bench) -> None:
    _inject(bench, "/api/v9/me/reset_token", status=402, body={"error": f"plan; token {HOOK_TOKEN}"})
    bench.hook().reset_api_token()


def _case_500_echo_token(bench: Bench) -> None:
    _inject(bench, "/api/v9/me", status=500, body=_echo(HOOK_TOKEN))
    bench.hook(max_retries=0).get_me()


def _case_500_echo_session_body(bench: Bench) -> None:
    body = {"error": "internal", "echo": {"email": HOOK_EMAIL, "password": bench.user["password"]}}
    _inject(bench, "/api/sessions", method="POST", status=500, body=body)
    bench.hook().create_session()


def _case_500_echo_cookie(bench: Bench) -> None:
    session = bench.session()
    hook = bench.hook(session_cookie=session.cookie, max_retries=0)
    _inject(bench, "/api/v9/me", status=500, body=_echo(f"__Secure-accounts-session={session.cookie}"))
    hook.get_me()


def _case_500_echo_reset(bench: Bench) -> None:
    code = bench.reset_code()
    body = {"error": "internal", "path": f"/confirm/{code}", "password": HOOK_NEW_PASSWORD}
    _inject(bench, f"/api/me/password_reset/confirm/{code}", method="POST", status=500, body=body)
    bench.hook().confirm_password_reset(code, HOOK_NEW_PASSWORD)


def _case_502_html(bench: Bench) -> None:
    page = f"<html><body>Bad gateway; Cookie: {bench.session().cookie}</body></html>"
    _inject(bench, "/api/v9/me", status=502, headers={"Content-Type": "text/html"}, body=page)
    bench.hook(max_retries=0).get_me()


def _case_503_signup(bench: Bench) -> None:
    bench.book.add_password(SIGNUP_EMAIL, SIGNUP_PASSWORD)
    _inject(bench, "/api/signup", method="POST", status=503)
    bench.hook().signup(SIGNUP_EMAIL, SIGNUP_PASSWORD, "Leak Scan Signup")


def _case_503_retried(bench: Bench) -> None:
    _inject(bench, "/api/v9/me/logged", count=None, status=503, body="Service Unavailable")
    bench.hook(max_retries=1).is_logged_in()


def _case_timeout(bench: Bench) -> None:
    _inject(bench, "/api/v9/me", count=None, action="delay", delay=0.8)
    bench.hook(timeout=0.3, max_retries=0).get_me()


def _case_timeout_confirm(bench: Bench) -> None:
    _confirm_with_fault(bench, action="delay", delay=0.8, extra={"timeout": 0.3})


def _case_drop_session_create(bench: Bench) -> None:
    _inject(bench, "/api/sessions", method="POST", action="drop")
    bench.hook().create_session()


def _case_drop_mid_confirm(bench: Bench) -> None:
    _confirm_with_fault(bench, action="drop_mid_response", process=True)


def _case_truncated_me(bench: Bench) -> None:
    _inject(bench, "/api/v9/me", count=None, action="truncate", process=True)
    bench.hook(max_retries=1).get_me()


def _case_refused_confirm(bench: Bench) -> None:
    code = bench.reset_code()
    url = f"http://127.0.0.1:{closed_port()}"
    bench.hook(track_api_url=url, accounts_api_url=url, max_retries=0).confirm_password_reset(
        code, HOOK_NEW_PASSWORD
    )


def _case_tls(bench: Bench) -> None:
    secure = bench.factory(tls=True, cookie_style="no-eyj")
    user = secure.add_user(HOOK_EMAIL, HOOK_PASSWORD, api_token=HOOK_TOKEN)
    bench.hook(emulator=secure, user=user, verify=True).get_me()  # the system CAs: not the emulator's


def _case_tls_confirm(bench: Bench) -> None:
    secure = bench.factory(tls=True, cookie_style="no-eyj")
    code = bench.reset_code()  # a real code, mailed by the plain emulator; the handshake fails first
    bench.hook(emulator=secure, verify=True).confirm_password_reset(code, HOOK_NEW_PASSWORD)


def _case_malformed_me(bench: Bench) -> None:
    me = bench.hook().get_me()
    broken = (
        json.dumps({"api_token": me["api_token"], "intercom_hash": me["intercom_hash"]})[:-1] + ', "id": '
    )
    _inject(bench, "/api/v9/me", status=200, headers={"Content-Type": "application/json"}, body=broken)
    bench.hook().get_me()


def _case_malformed_token_reset(bench: Bench) -> None:
    _inject(bench, "/api/v9/me/reset_token", method="POST", action="malformed_json", process=True)
    bench.hook().reset_api_token()


def _case_identity_mismatch(bench: Bench) -> None:
    from airflow_toggl.sessions.rotation import SessionRotator
    from airflow_toggl.sessions.store import SessionStore

    other = bench.emulator.add_user(OTHER_EMAIL, OTHER_PASSWORD)
    bench.book.add_user(bench.emulator, other)
    hook = bench.hook(user=other)
    store = SessionStore(STORE_KEY, variables=MemoryVariables())
    SessionRotator(hook, store, expected_email=HOOK_EMAIL).create()


class MemoryVariables:
    """A Variable backend in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


@dataclass(frozen=True)
class ErrorCase:
    """How to make one error, what it must be, and a public text its message must contain."""

    name: str
    provoke: Callable[[Bench], None]
    expected: type[TogglError]
    marker: str


ERROR_CASES = (
    ErrorCase("403 refused API token", _case_wrong_token, TogglAuthError, "GET /api/v9/me"),
    ErrorCase("403 refused password (basic)", _case_wrong_password_basic, TogglAuthError, "GET /api/v9/me"),
    ErrorCase(
        "403 refused password on session create",
        _case_wrong_password_session_create,
        TogglAuthError,
        "POST /api/sessions",
    ),
    ErrorCase("403 deleted session cookie", _case_deleted_session, TogglAuthError, "GET /api/v9/me"),
    ErrorCase(
        "403 close account with a dead session",
        _case_close_with_dead_session,
        TogglAuthError,
        "close_account",
    ),
    ErrorCase("429 after every retry", _case_429, TogglRateLimitError, "(429)"),
    ErrorCase("429 with an HTML body", _case_429_html, TogglRateLimitError, "(429)"),
    ErrorCase("402 hourly quota used up", _case_402_quota, TogglQuotaExceededError, "resets in 1200s"),
    ErrorCase("402 plan lacks the feature", _case_402_plan, TogglPlanError, "plan does not include it"),
    ErrorCase("500 body echoing the API token", _case_500_echo_token, TogglAPIError, '"echo": "***"'),
    ErrorCase(
        "500 body echoing the session create body",
        _case_500_echo_session_body,
        TogglAPIError,
        '"password": "***"',
    ),
    ErrorCase(
        "500 body echoing the session cookie",
        _case_500_echo_cookie,
        TogglAPIError,
        '"echo": "__Secure-accounts-session=',
    ),
    ErrorCase(
        "500 body echoing reset code and new password",
        _case_500_echo_reset,
        TogglAPIError,
        '"password": "***"',
    ),
    ErrorCase("502 HTML page quoting the cookie", _case_502_html, TogglAPIError, "with 502"),
    ErrorCase("503 on signup (sent once)", _case_503_signup, TogglAPIError, "POST /api/signup with 503"),
    ErrorCase("503 on every retry", _case_503_retried, TogglAPIError, "Service Unavailable"),
    ErrorCase("read timeout", _case_timeout, TogglConnectionError, "(timeout"),
    ErrorCase("read timeout on reset confirm", _case_timeout_confirm, TogglConnectionError, "confirm/<code>"),
    ErrorCase("dropped on session create", _case_drop_session_create, TogglConnectionError, "(dropped"),
    ErrorCase(
        "dropped mid-response on reset confirm",
        _case_drop_mid_confirm,
        TogglConnectionError,
        "confirm/<code>",
    ),
    ErrorCase("truncated /me body", _case_truncated_me, TogglConnectionError, "(dropped"),
    ErrorCase("connection refused on reset confirm", _case_refused_confirm, TogglConnectionError, "(connect"),
    ErrorCase("TLS verification failure", _case_tls, TogglConnectionError, "TLS verification failed"),
    ErrorCase("TLS failure on reset confirm", _case_tls_confirm, TogglConnectionError, "confirm/<code>"),
    ErrorCase("malformed JSON carrying secrets", _case_malformed_me, TogglResponseError, "not JSON"),
    ErrorCase(
        "malformed JSON after a token reset", _case_malformed_token_reset, TogglResponseError, "not JSON"
    ),
    ErrorCase("identity mismatch", _case_identity_mismatch, TogglIdentityMismatchError, OTHER_EMAIL),
)


def provoke(case_run: Callable[[], Any]) -> TogglError:
    try:
        case_run()
    except TogglError as error:
        return error
    raise AssertionError("no TogglError was raised")


def scan_error(error: BaseException, label: str, logs: Any, book: SecretBook, ledger: Ledger) -> list[Leak]:
    """Leaks in the error's renderings and in the records logged meanwhile."""
    records = dict(logs.texts(label))
    leaks = ledger.scan("errors: str, repr, tracebacks, pickle", exception_texts(error, label), book)
    return leaks + ledger.scan("errors: log records on the way", records.items(), book, unit="records")


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in ERROR_CASES])
def test_error_path_leaks_nothing(case: ErrorCase, bench: Bench, book: SecretBook, ledger: Ledger) -> None:
    with capture_logs() as logs:
        error = provoke(lambda: case.provoke(bench))
    book.harvest(bench.emulator)
    assert type(error) is case.expected, repr(error)
    # Positive control: the message says what failed (and, for echoed bodies, shows the redaction).
    assert case.marker in str(error), str(error)
    assert_no_leaks(scan_error(error, case.name, logs, book, ledger))


def test_identity_mismatch_names_both_emails(bench: Bench) -> None:
    """The one error that quotes values: emails and ids, never a credential."""
    error = provoke(lambda: _case_identity_mismatch(bench))
    assert isinstance(error, TogglIdentityMismatchError)
    assert (error.field, error.expected, error.actual) == ("email", HOOK_EMAIL, OTHER_EMAIL)


def test_secrets_held_by_errors_in_memory_are_never_rendered(bench: Bench, book: SecretBook) -> None:
    """Where secrets do sit in an error's object graph, no rendering or pickle reaches them.

    A network error is raised ``from None``: the requests exception stays as the suppressed
    ``__context__`` (its message names the URL, reset code included). An HTTP error keeps its
    ``response``, whose request carries the Authorization header. Both are there for code that
    digs for them; tracebacks, structlog and pickle leave them out.
    """
    code = bench.reset_code()
    url = f"http://127.0.0.1:{closed_port()}"
    refused = provoke(
        lambda: bench.hook(track_api_url=url, accounts_api_url=url, max_retries=0).confirm_password_reset(
            code, HOOK_NEW_PASSWORD
        )
    )
    assert refused.__suppress_context__
    assert code in repr(refused.__context__)
    forbidden = provoke(lambda: bench.hook(api_token=WRONG_TOKEN).get_me())
    assert forbidden.response is not None
    sent = forbidden.response.request.headers["Authorization"]
    assert sent.startswith("Basic ")
    book.add("reset code", code)
    book.add("Authorization header sent", sent)
    texts = exception_texts(refused, "refused confirm") + exception_texts(forbidden, "403")
    assert_no_leaks(find_leaks(texts, book.values))


def test_retry_warnings_are_logged_and_clean(bench: Bench, book: SecretBook) -> None:
    """The retry path writes a warning per retry; the scan covers those records."""
    with capture_logs() as logs:
        provoke(lambda: _case_429(bench))
    warnings = [text for text in logs.of("airflow_toggl.client.client") if text.startswith("WARNING")]
    assert len(warnings) == 2
    assert_no_leaks(find_leaks(logs.texts("429"), book.values))


def test_error_body_echoing_the_authorization_header(bench: Bench, book: SecretBook) -> None:
    from tests.support.airflow_cluster import basic_credentials

    header = f"Basic {basic_credentials(HOOK_TOKEN, 'api_token')}"
    _inject(bench, "/api/v9/me", status=500, body={"error": "internal", "authorization": header})
    error = provoke(lambda: bench.hook(max_retries=0).get_me())
    assert "internal" in str(error)
    assert_no_leaks(find_leaks(exception_texts(error, "echoed Authorization"), book.values))


# -- 4b. configuration errors ------------------------------------------------------------------


def _settings(**fields: Any) -> Callable[[], Any]:
    base: dict[str, Any] = {"login": HOOK_EMAIL, "password": HOOK_PASSWORD, "extras": {}}
    base.update(fields)
    return lambda: settings_from_connection("toggl_default", **base)


def _store_load(raw: str) -> Callable[[], Any]:
    from airflow_toggl.sessions.store import SessionStore

    variables = MemoryVariables()
    variables.set(STORE_KEY, raw)
    return lambda: SessionStore(STORE_KEY, variables=variables).load()


COOKIE = "cookieScan.Pq8wZ3rT6yH1.sigScan-Nc5vB2"  # not a JWT: a session of unknown expiry
CODE = "c0de5ca7c0de5ca7c0de5ca7c0de5ca7c0de5ca7"


def _config_cases() -> list[tuple[str, Callable[[], Any], str]]:
    """(name, call, field): each call raises TogglConfigError naming ``field``; secrets sit in bad values."""
    from airflow_toggl.operators.toggl import (
        TogglConfirmPasswordResetOperator,
        TogglCredentialsCheckOperator,
        TogglResetApiTokenOperator,
        TogglSignupOperator,
    )
    from airflow_toggl.triggers.toggl import TogglQuotaResetTrigger

    at = f"https://{HOOK_EMAIL}:{HOOK_PASSWORD}@api.track.toggl.com"
    return [
        ("URL carrying credentials", _settings(extras={"track_api_url": at}), "track_api_url"),
        (
            "plain http URL with the token in its path",
            _settings(extras={"accounts_api_url": f"http://example.com/{HOOK_TOKEN}"}),
            "accounts_api_url",
        ),
        (
            "URL with the token in its query",
            _settings(extras={"track_api_url": f"https://api.track.toggl.com/?t={HOOK_TOKEN}"}),
            "track_api_url",
        ),
        (
            "unparsable URL holding the password",
            _settings(extras={"track_api_url": f"https://[{HOOK_PASSWORD}"}),
            "track_api_url",
        ),
        ("password typed into timeout", _settings(extras={"timeout": HOOK_PASSWORD}), "timeout"),
        ("token typed into max_retries", _settings(extras={"max_retries": HOOK_TOKEN}), "max_retries"),
        ("password typed into verify", _settings(extras={"verify": HOOK_PASSWORD}), "verify"),
        ("password typed into auth_mode", _settings(extras={"auth_mode": HOOK_PASSWORD}), "auth_mode"),
        (
            "token typed into requests_per_second",
            _settings(extras={"requests_per_second": HOOK_TOKEN}),
            "requests_per_second",
        ),
        ("extra is not an object", _settings(extras=[HOOK_PASSWORD, HOOK_TOKEN]), "extra"),
        ("password is not text", _settings(password=[HOOK_PASSWORD]), "password"),
        ("password without login", _settings(login=None), "login"),
        ("api_token mode without a token", _settings(extras={"auth_mode": "api_token"}), "api_token"),
        ("api_token extra is not text", _settings(extras={"api_token": [HOOK_TOKEN]}), "api_token"),
        ("session_key is not text", _settings(extras={"session_key": {"k": HOOK_TOKEN}}), "session_key"),
        (
            "cookie with a forbidden character",
            lambda: SessionCookieAuth(f"{COOKIE};{HOOK_TOKEN}"),
            "session_cookie",
        ),
        ("email/password auth without the email", lambda: EmailPasswordAuth(" ", HOOK_PASSWORD), "login"),
        (
            "hook: basic mode with a session cookie",
            lambda: TogglHook(auth_mode="basic", session_cookie=COOKIE),
            "auth_mode",
        ),
        (
            "hook: cookie with a space",
            lambda: TogglHook(session_cookie=f"{COOKIE} {HOOK_TOKEN}"),
            "session_cookie",
        ),
        ("hook: password typed into auth_mode", lambda: TogglHook(auth_mode=HOOK_PASSWORD), "auth_mode"),
        (
            "client: empty reset code",
            lambda: TogglClient(ClientConfig()).confirm_password_reset(" ", HOOK_NEW_PASSWORD),
            "code",
        ),
        ("store: not JSON", _store_load(f"{COOKIE} {{"), f"Variable {STORE_KEY}"),
        (
            "store: bad user_id next to a cookie",
            _store_load(json.dumps({"session_token": COOKIE, "user_id": HOOK_TOKEN})),
            f"Variable {STORE_KEY}",
        ),
        (
            "store: timestamp holding a secret",
            _store_load(json.dumps({"session_token": COOKIE, "created_at": HOOK_PASSWORD})),
            f"Variable {STORE_KEY}",
        ),
        (
            "store: stale entry without a cookie",
            _store_load(json.dumps({"session_token": COOKIE, "stale_session_tokens": [{"x": HOOK_TOKEN}]})),
            f"Variable {STORE_KEY}",
        ),
        (
            "operator: password passed as its Variable name",
            lambda: TogglSignupOperator(
                task_id="s", email=SIGNUP_EMAIL, password_variable=SIGNUP_PASSWORD, display_name="x"
            ),
            "password_variable",
        ),
        (
            "operator: new password passed as its Variable name",
            lambda: TogglConfirmPasswordResetOperator(
                task_id="c", code=CODE, new_password_variable=HOOK_NEW_PASSWORD
            ),
            "new_password_variable",
        ),
        (
            "operator: token passed as its Variable name",
            lambda: TogglResetApiTokenOperator(task_id="r", token_variable=HOOK_TOKEN),
            "token_variable",
        ),
        (
            "operator: password typed into auth_mode",
            lambda: TogglCredentialsCheckOperator(task_id="k", auth_mode=HOOK_PASSWORD),
            "auth_mode",
        ),
        (
            "trigger: token typed into resume_at",
            lambda: TogglQuotaResetTrigger(resume_at=HOOK_TOKEN, toggl_conn_id="toggl_default"),
            "resume_at",
        ),
    ]


CONFIG_CASES = _config_cases()


@pytest.mark.parametrize(("name", "call", "field_name"), CONFIG_CASES, ids=[case[0] for case in CONFIG_CASES])
def test_config_error_leaks_nothing(
    name: str, call: Callable[[], Any], field_name: str, book: SecretBook, masked: list[Any], ledger: Ledger
) -> None:
    for secret_name, value in (
        ("password", HOOK_PASSWORD),
        ("api_token", HOOK_TOKEN),
        ("new password", HOOK_NEW_PASSWORD),
        ("signup password", SIGNUP_PASSWORD),
        ("session cookie", COOKIE),
        ("reset code", CODE),
    ):
        book.add(secret_name, value)
    with capture_logs() as logs:
        error = provoke(call)
    assert isinstance(error, TogglConfigError), repr(error)
    # Positive control: the error names the field it is about.
    assert error.field == field_name
    assert field_name in str(error)
    assert_no_leaks(scan_error(error, name, logs, book, ledger))


# -- 5. reprs, rendered template fields, the trigger ------------------------------------------


def test_reprs_hold_no_secret(bench: Bench, book: SecretBook, ledger: Ledger) -> None:
    from airflow_toggl.sessions.rotation import RotationOutcome
    from airflow_toggl.sessions.store import SessionStore

    session = bench.session()
    stale = bench.session()
    book.harvest(bench.emulator)
    api = bench.hook()
    api.get_me()
    basic = bench.hook(auth_mode="basic")
    basic.is_logged_in()
    by_cookie = bench.hook(session_cookie=session.cookie)
    by_cookie.is_logged_in()
    variables = MemoryVariables()
    store = SessionStore(STORE_KEY, variables=variables)
    stored = store.save(session, user_id=bench.user["id"], stale=[stale])
    outcome = RotationOutcome(STORE_KEY, True, bench.user["id"], session.expires_at, True, 1)
    objects: dict[str, object] = {
        "TogglHook (api_token)": api,
        "TogglHook (basic)": basic,
        "TogglHook (session)": by_cookie,
        "ConnectionSettings": api.settings,
        "ConnectionSettings (basic)": basic.settings,
        "ClientConfig": api.settings.config,
        "TogglClient (api_token)": api.get_conn(),
        "TogglClient (basic)": basic.get_conn(),
        "TogglClient (session)": by_cookie.get_conn(),
        "ApiTokenAuth": ApiTokenAuth(HOOK_TOKEN),
        "EmailPasswordAuth": EmailPasswordAuth(HOOK_EMAIL, HOOK_PASSWORD),
        "SessionCookieAuth": SessionCookieAuth(session.cookie),
        "NoAuth": NoAuth(),
        "auth fingerprint": ApiTokenAuth(HOOK_TOKEN).fingerprint,
        "TogglSession": session,
        "StoredSession": stored,
        "SessionStore": store,
        "RotationOutcome": outcome,
        "RotationOutcome.to_xcom": json.dumps(outcome.to_xcom()),
        "last quota": api.last_quota,
    }
    texts = [
        (f"{name}: {how}", render(value))
        for name, value in objects.items()
        for how, render in (("repr", repr), ("str", str), ("format", "{}".format))
    ]
    # Positive controls: the store really holds the cookies, and public fields do show.
    assert session.cookie in variables.data[STORE_KEY]
    assert find_leaks(texts, {"email": HOOK_EMAIL})
    assert any("***" in text for _, text in texts)
    assert_no_leaks(ledger.scan("reprs and strs", texts, book))


class _XComStub:
    """Just enough of a task instance for the example DAGs' templates."""

    def xcom_pull(self, task_ids: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return {"user_id": 4242, "id": 4242}


def test_rendered_template_fields_hold_no_secret(
    book: SecretBook, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every task of the example DAGs, rendered with a reset code in its Variable; then what Airflow stores."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.execution_time.context import VariableAccessor
    from airflow.sdk.execution_time.task_runner import _serialize_rendered_fields

    book.add("reset code", CODE)
    monkeypatch.setenv(f"AIRFLOW_VAR_{RESET_CODE_VARIABLE.upper()}", CODE)
    dagbag = DagBag(dag_folder=str(ROOT / "dags"))
    assert dagbag.import_errors == {}
    context = {
        "params": {"email": ""},
        "var": {"value": VariableAccessor(deserialize_json=False)},
        "ti": _XComStub(),
    }
    raw: list[tuple[str, str]] = []
    stored: list[tuple[str, str]] = []
    tasks = [task for dag in dagbag.dags.values() for task in dag.tasks]
    for task in tasks:
        task.render_template_fields(context)
        where = f"{task.dag_id}.{task.task_id}"
        values = {name: getattr(task, name) for name in task.template_fields}
        if task.task_id == "confirm_password_reset":
            assert values.pop("code") == CODE  # rendered: the operator needs it
        raw.append((f"{where} template fields", json.dumps(values, default=str)))
        raw.append((f"{where} repr", f"{task!r} {task!s}"))
        stored.append((f"{where} as stored", json.dumps(_serialize_rendered_fields(task), default=str)))
    confirm = next(text for where, text in stored if where.endswith(".confirm_password_reset as stored"))
    assert json.loads(confirm)["code"] == "***"
    assert len(tasks) >= 10
    assert any("toggl_default" in text for _, text in stored)
    leaks = ledger.scan("operators: rendered template fields", raw, book)
    leaks += ledger.scan("operators: rendered fields as Airflow stores them", stored, book)
    assert_no_leaks(leaks)


def test_trigger_and_deferral_hold_no_secret(book: SecretBook, masked: list[Any], ledger: Ledger) -> None:
    try:
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:  # Airflow before 3.2
        from airflow.exceptions import TaskDeferred

    from airflow_toggl.operators.toggl import TogglRotateSessionOperator
    from airflow_toggl.triggers.toggl import TogglQuotaResetTrigger

    for name, value in (("password", HOOK_PASSWORD), ("api_token", HOOK_TOKEN), ("cookie", COOKIE)):
        book.add(name, value)
    operator = TogglRotateSessionOperator(task_id="rotate", deferrable=True, poll_interval=0.01)
    quota = TogglQuotaExceededError("Toggl hourly quota used up for GET /api/v9/me (402)", resets_in=0)
    deferred = provoke_deferral(lambda: operator.defer_until_quota_reset(quota), TaskDeferred)
    trigger = deferred.trigger
    assert isinstance(trigger, TogglQuotaResetTrigger)

    async def first_event() -> Any:
        async for event in TogglQuotaResetTrigger(
            resume_at=datetime.now(timezone.utc) - timedelta(seconds=1), toggl_conn_id="toggl_default"
        ).run():
            return event
        return None

    with capture_logs(("airflow_toggl", "airflow.triggers", "airflow.task")) as logs:
        event = asyncio.run(first_event())
    texts = [
        ("trigger serialize()", json.dumps(trigger.serialize(), default=str)),
        ("trigger repr", repr(trigger)),
        ("TaskDeferred repr", repr(deferred)),
        ("trigger event", repr(event)),
        *logs.texts("trigger run"),
    ]
    assert all("toggl_default" in text for _, text in texts[:1])
    assert "quota_reset" in texts[3][1]
    assert_no_leaks(ledger.scan("trigger: serialize, event, logs", texts, book))


def provoke_deferral(call: Callable[[], Any], kind: type[BaseException]) -> Any:
    try:
        call()
    except kind as deferred:
        return deferred
    raise AssertionError("the operator did not defer")
