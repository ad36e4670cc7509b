"""No secret in what ``airflow dags test`` of every example DAG prints or stores."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_toggl.emulator.server import TogglEmulator
from airflow_toggl.sessions.status import status_key
from devkit.airflow import expect_working_dags_test, toggl_connection
from devkit.airflow_cluster import AIRFLOW_BIN, AirflowCluster, find_leaks
from tests.support.secrets_scan import (
    CHECKED_TABLES,
    DAG_FILES,
    DAGS_EMAIL,
    DAGS_NEW_PASSWORD,
    DAGS_PASSWORD,
    DAGS_TEST_RUNS,
    DAGS_TOKEN,
    LOGGER_OF_LINE,
    RESET_CODE_VARIABLE,
    STORE_KEY,
    TOKEN_VARIABLE,
    Ledger,
    SecretBook,
    assert_no_leaks,
    other_tables,
    request_reset_code,
)

pytestmark = pytest.mark.timeout(600)


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
    expect_working_dags_test()
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
    """The scan finds a value where the code does write it: the identity checks log the email.

    (The rotation DAG is one task that checks no identity, so its consoles need not show it.)
    """
    consoles = [(label, text) for label, text in dags_test_phase.consoles.items()]
    seen = {leak.where for leak in find_leaks(consoles, {"email": DAGS_EMAIL})}
    assert {"session lifecycle", "password reset confirm"} <= seen


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
    # The confirm DAG deleted the reset code's Variable after each run; the rest (the session store,
    # the new token, and the status record the operators keep for the sessions page) are encrypted.
    variables = home.query("SELECT key, is_encrypted FROM variable")
    assert {row["key"] for row in variables} == {STORE_KEY, TOKEN_VARIABLE, status_key("toggl_default")}
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
