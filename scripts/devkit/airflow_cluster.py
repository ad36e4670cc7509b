"""A real Airflow 3 deployment for end-to-end tests: one AIRFLOW_HOME, real processes, real logs.

``AirflowCluster`` owns a fresh AIRFLOW_HOME (SQLite metadata DB, LocalExecutor, Fernet-encrypted
Variables) and runs ``api-server``, ``scheduler``, ``dag-processor`` and ``triggerer`` as
subprocesses, each in its own session so that it and everything it spawns (executor workers, task
supervisors, task processes that move to their own process groups) can be found and stopped.

It also offers what the tests need to observe the deployment: read-only queries on the metadata
DB, waiting helpers that fail early on a failed task, the Airflow CLI, a secret scan over logs and
DB tables, and a diagnostic report (process and task log tails) for failure messages.

Typical use::

    with AirflowCluster(tmp_path / "airflow", dag_files=[DAG], env=extra_env) as cluster:
        cluster.migrate()
        cluster.start()
        cluster.wait_for_dag("my_dag")
        cluster.airflow("dags", "unpause", "my_dag")
        cluster.wait_for_runs("my_dag", 2, timeout=360)
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets as random_secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

AIRFLOW_BIN = str(Path(sys.executable).parent / "airflow")
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
"""What :meth:`AirflowCluster.start` runs, in start order (stopped in reverse)."""

ACTIVE_TI_STATES = frozenset(
    {"scheduled", "queued", "running", "deferred", "up_for_reschedule", "restarting"}
)
FAILED_TI_STATES = frozenset({"failed", "up_for_retry", "upstream_failed"})
ACTIVE_RUN_STATES = frozenset({"queued", "running"})


class ClusterError(AssertionError):
    """The deployment did not reach the expected state; the message carries a diagnostic report."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def fernet_key() -> str:
    """A fresh Fernet key (Airflow encrypts Variables and Connections with it)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def basic_credentials(user: str, password: str) -> str:
    """The base64 part of a Basic ``Authorization`` header: a leaked header shows this, not the password."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


@dataclass(frozen=True)
class Leak:
    """A secret found where it must not be; ``where`` names the file or table row, never the value."""

    secret_name: str
    where: str
    context: str = field(repr=False, default="")

    def __str__(self) -> str:
        return f"{self.secret_name} in {self.where}: ...{self.context}..."


def redact(text: str, secrets: Mapping[str, str]) -> str:
    """``text`` with each secret value replaced by ``<name>``."""
    for name, value in sorted(secrets.items(), key=lambda item: -len(item[1])):
        if value:
            text = text.replace(value, f"<{name}>")
    return text


def find_leaks(
    sources: Iterable[tuple[str, str]], secrets: Mapping[str, str], *, context: int = 60
) -> list[Leak]:
    """Every (source, secret) pair where the secret's value occurs in the source text.

    :param sources: ``(where, text)`` pairs, e.g. a log file path and its content.
    :param secrets: name -> value; empty values are ignored.
    """
    leaks = []
    for where, text in sources:
        for name, value in secrets.items():
            if not value:
                continue
            position = text.find(value)
            if position >= 0:
                snippet = text[max(0, position - context) : position + len(value) + context]
                leaks.append(Leak(name, where, redact(snippet, secrets).replace("\n", " ")))
    return leaks


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"<unreadable: {error}>"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class _Component:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: Any
    stopped: bool = False


class AirflowCluster:
    """An Airflow 3 deployment in ``home``, driven by subprocesses.

    :param home: AIRFLOW_HOME to create (must not hold a deployment already).
    :param dag_files: DAG files copied into the DAGs folder (nothing else goes there).
    :param env: extra environment for every Airflow process and CLI call (connections, DAG
        settings, configuration overrides).
    :param redact_in_reports: secrets replaced by their names in diagnostic reports.
    """

    def __init__(
        self,
        home: Path,
        *,
        dag_files: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        redact_in_reports: Mapping[str, str] | None = None,
    ) -> None:
        self.home = Path(home)
        self.dags_folder = self.home / "dags"
        self.logs_folder = self.home / "logs"
        self.process_logs_folder = self.home / "process-logs"
        self.db_path = self.home / "airflow.db"
        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.redact_in_reports: dict[str, str] = dict(redact_in_reports or {})
        self._components: list[_Component] = []
        for folder in (self.home, self.dags_folder, self.logs_folder, self.process_logs_folder):
            folder.mkdir(parents=True, exist_ok=True)
        for dag_file in dag_files:
            shutil.copy2(dag_file, self.dags_folder / Path(dag_file).name)
        self.env = self._environment(env or {})

    # -- configuration ---------------------------------------------------------------------

    def _environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        """The calling environment minus any Airflow setting, plus this deployment's."""
        base = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
        base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
        settings = {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs_folder),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__FERNET_KEY": fernet_key(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": random_secrets.token_urlsafe(64),
            "AIRFLOW__API_AUTH__JWT_SECRET": random_secrets.token_urlsafe(64),
            # The scheduler and triggerer serve their logs over HTTP: no fixed ports.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # Pick the DAG up within seconds and keep re-parsing cheap on a small machine.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "20",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "0",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "PYTHONUNBUFFERED": "1",
        }
        return {**base, **settings, **extra}

    # -- CLI and processes -----------------------------------------------------------------

    def airflow(
        self, *args: str, timeout: float = 180, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the Airflow CLI against this deployment; output is captured, never logged to disk."""
        result = subprocess.run(
            [AIRFLOW_BIN, *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            output = redact(f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}", self.redact_in_reports)
            raise ClusterError(f"airflow {' '.join(args)} exited {result.returncode}\n{output}")
        return result

    def migrate(self, timeout: float = 300) -> None:
        """Create the metadata DB."""
        self.airflow("db", "migrate", timeout=timeout)

    def set_pools(self, slots: Mapping[str, int], *, include_deferred: bool = True) -> None:
        """Create or resize pools (name -> slots) with one CLI call, e.g. one per Toggl account."""
        path = self.home / "pools.json"
        pools = {
            name: {"slots": count, "description": "Toggl account", "include_deferred": include_deferred}
            for name, count in slots.items()
        }
        path.write_text(json.dumps(pools))
        self.airflow("pools", "import", str(path))

    def start(self, components: Sequence[str] = COMPONENTS, *, ready_timeout: float = 120) -> None:
        """Start the components (each in its own session) and wait for the API server to answer."""
        for name in components:
            self._start_one(name)
        if "api-server" in components:
            self.wait_until(
                self._api_ready, timeout=ready_timeout, interval=1, what="the API server to answer"
            )

    def _start_one(self, name: str) -> None:
        args = [AIRFLOW_BIN, name]
        if name == "api-server":
            args += ["--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"]
        self.start_process(name, args)

    def start_process(
        self, name: str, args: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Run ``args`` in a new session with this deployment's environment (plus ``env``), output
        to ``<name>.log``.

        The process is stopped by :meth:`stop` (or :meth:`stop_process`) like the components.
        """
        log_path = self.process_logs_folder / f"{name}.log"
        log_file = log_path.open("ab")
        process = subprocess.Popen(
            list(args),
            env={**self.env, **(env or {})},
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._components.append(_Component(name, process, log_path, log_file))
        return process

    def _api_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/execution/health", timeout=3) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def check_alive(self) -> None:
        """Raise with a report if a component exited without being stopped."""
        dead = [c for c in self._components if not c.stopped and c.process.poll() is not None]
        if dead:
            names = ", ".join(f"{c.name} (exit {c.process.returncode})" for c in dead)
            raise ClusterError(f"Airflow process(es) exited: {names}\n{self.report()}")

    def _session_members(self, session_id: int) -> list[psutil.Process]:
        """Processes still in the session a component leads (its workers and task processes too)."""
        members = []
        for process in psutil.process_iter():
            try:
                if os.getsid(process.pid) == session_id:
                    members.append(process)
            except (ProcessLookupError, PermissionError, psutil.Error):
                continue
        return members

    def stop_process(self, name: str, *, grace: float = 20, first_signal: int = signal.SIGTERM) -> None:
        """Stop one component (``first_signal=signal.SIGKILL`` for a crash) and all it started."""
        for component in self._components:
            if component.name == name:
                self._stop(component, grace, first_signal)

    def stop(self, grace: float = 20) -> None:
        """Stop every component and whatever it started: SIGTERM, then SIGKILL after ``grace``.

        Components stop in reverse start order, so the API server outlives the tasks it serves.
        """
        for component in reversed(self._components):
            self._stop(component, grace, signal.SIGTERM)

    def _stop(self, component: _Component, grace: float, first_signal: int) -> None:
        component.stopped = True
        process = component.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, first_signal)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        # Task processes move to their own process group but stay in the component's session.
        leftovers = self._session_members(process.pid)
        for member in leftovers:
            with contextlib.suppress(psutil.Error):
                member.terminate()
        _, alive = psutil.wait_procs(leftovers, timeout=5)
        for member in alive:
            with contextlib.suppress(psutil.Error):
                member.kill()
        psutil.wait_procs(alive, timeout=5)
        component.log_file.close()

    def __enter__(self) -> AirflowCluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- metadata DB (read-only) -----------------------------------------------------------

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        connection.row_factory = sqlite3.Row
        try:
            yield connection
        finally:
            connection.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query on the metadata DB, as dicts."""
        for attempt in range(5):
            try:
                with self._db() as connection:
                    return [dict(row) for row in connection.execute(sql, params).fetchall()]
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or attempt == 4:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")  # pragma: no cover

    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of a metadata table."""
        if not table.isidentifier():
            raise ValueError(f"not a table name: {table!r}")
        return self.query(f"SELECT * FROM {table}")  # noqa: S608 - identifier checked above

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs, oldest first."""
        return self.query(
            "SELECT run_id, run_type, state, logical_date, start_date, end_date FROM dag_run "
            "WHERE dag_id = ? ORDER BY id",
            (dag_id,),
        )

    def task_instances(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's task instances."""
        return self.query(
            "SELECT run_id, task_id, map_index, state, try_number, start_date, end_date "
            "FROM task_instance WHERE dag_id = ? ORDER BY run_id, start_date",
            (dag_id,),
        )

    def xcom_values(self, dag_id: str, task_id: str, key: str = "return_value") -> dict[str, Any]:
        """run_id -> deserialised XCom value of one task."""
        rows = self.query(
            "SELECT run_id, value FROM xcom WHERE dag_id = ? AND task_id = ? AND key = ?",
            (dag_id, task_id, key),
        )
        return {row["run_id"]: _json_value(row["value"]) for row in rows}

    def import_errors(self) -> list[dict[str, Any]]:
        """DAG files that failed to import."""
        return self.query("SELECT filename, stacktrace FROM import_error")

    # -- waiting ---------------------------------------------------------------------------

    def wait_until(
        self, condition: Callable[[], Any], *, timeout: float, interval: float = 3, what: str = "a condition"
    ) -> Any:
        """Poll ``condition`` until it returns something truthy; fail with a report on timeout.

        Every poll first checks that the components are still running.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise ClusterError(f"Timed out after {timeout:.0f}s waiting for {what}\n{self.report()}")
            time.sleep(interval)

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Wait until the DAG processor has stored the DAG; fail at once on an import error."""

        def registered() -> bool:
            errors = self.import_errors()
            if errors:
                raise ClusterError(f"DAG import errors: {errors}\n{self.report()}")
            return bool(self.query("SELECT 1 FROM dag WHERE dag_id = ?", (dag_id,)))

        self.wait_until(registered, timeout=timeout, interval=2, what=f"DAG {dag_id} to be parsed")

    def assert_no_failed_tasks(self, dag_id: str) -> None:
        """Raise with a report if a task failed or is waiting for a retry."""
        failed = [ti for ti in self.task_instances(dag_id) if ti["state"] in FAILED_TI_STATES]
        failed_runs = [run for run in self.dag_runs(dag_id) if run["state"] == "failed"]
        if failed or failed_runs:
            raise ClusterError(
                f"Failed task instances: {failed}\nFailed runs: {failed_runs}\n{self.report()}"
            )

    def wait_for_runs(
        self, dag_id: str, count: int, *, run_type: str = "scheduled", timeout: float = 360
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` runs of ``run_type`` succeeded; fail early on a failed task."""

        def succeeded() -> list[dict[str, Any]]:
            self.assert_no_failed_tasks(dag_id)
            runs = [
                run
                for run in self.dag_runs(dag_id)
                if run["run_type"] == run_type and run["state"] == "success"
            ]
            return runs if len(runs) >= count else []

        return list(
            self.wait_until(
                succeeded, timeout=timeout, interval=3, what=f"{count} successful {run_type} runs of {dag_id}"
            )
        )

    def wait_for_quiet(self, dag_id: str, timeout: float = 120) -> None:
        """Wait until no task of the DAG is queued, running or deferred (e.g. after pausing it).

        Task instances merely ``scheduled`` in a paused DAG never start, so they do not count.
        """
        busy = ACTIVE_TI_STATES - {"scheduled"}
        quiet_polls = [0]

        def quiet() -> bool:
            # Two quiet polls in a row: a scheduler loop that read the DAG as unpaused just before
            # the pause may still queue one task.
            self.assert_no_failed_tasks(dag_id)
            if any(ti["state"] in busy for ti in self.task_instances(dag_id)):
                quiet_polls[0] = 0
            else:
                quiet_polls[0] += 1
            return quiet_polls[0] >= 2

        self.wait_until(quiet, timeout=timeout, interval=2, what=f"tasks of {dag_id} to finish")

    # -- logs and leaks --------------------------------------------------------------------

    def process_log_files(self) -> list[Path]:
        """The components' stdout/stderr captures."""
        return sorted(self.process_logs_folder.glob("*.log"))

    def airflow_log_files(self) -> list[Path]:
        """Every file Airflow wrote under its log folder (task, DAG processor, scheduler logs)."""
        return sorted(path for path in self.logs_folder.rglob("*") if path.is_file())

    def task_log_files(self, dag_id: str | None = None) -> list[Path]:
        """Task logs (``dag_id=.../run_id=.../task_id=.../attempt=N.log``)."""
        pattern = f"dag_id={dag_id}" if dag_id else "dag_id=*"
        return sorted(path for path in self.logs_folder.glob(f"{pattern}/**/*") if path.is_file())

    def log_texts(self) -> list[tuple[str, str]]:
        """``(relative path, text)`` of every process and Airflow log file."""
        texts = []
        for path in [*self.process_log_files(), *self.airflow_log_files()]:
            content = path.read_bytes().decode("utf-8", errors="replace")
            texts.append((str(path.relative_to(self.home)), content))
        return texts

    def table_texts(self, tables: Iterable[str]) -> list[tuple[str, str]]:
        """``(table[row], text)`` for each row: every column rendered as text."""
        texts = []
        for table in tables:
            for number, row in enumerate(self.table_rows(table)):
                text = " | ".join(_as_text(value) for value in row.values())
                texts.append((f"table {table} row {number}", text))
        return texts

    def find_leaks(self, secrets: Mapping[str, str], tables: Iterable[str] = ()) -> list[Leak]:
        """Where any secret value occurs in the logs or the given metadata tables."""
        return find_leaks([*self.log_texts(), *self.table_texts(tables)], secrets)

    # -- diagnostics -----------------------------------------------------------------------

    def report(self, process_lines: int = 60, task_lines: int = 40) -> str:
        """Process states, DAG runs, task instances, import errors and log tails (secrets redacted)."""
        parts = ["===== Airflow processes ====="]
        for component in self._components:
            code = component.process.poll()
            parts.append(
                f"{component.name}: pid {component.process.pid}, {'running' if code is None else f'exit {code}'}"
            )
        with contextlib.suppress(Exception):
            parts.append("===== dag_run =====")
            parts += [str(row) for row in self.query("SELECT dag_id, run_id, run_type, state FROM dag_run")]
            parts.append("===== task_instance =====")
            parts += [
                str(row)
                for row in self.query("SELECT dag_id, run_id, task_id, state, try_number FROM task_instance")
            ]
            parts.append("===== import_error =====")
            parts += [str(row) for row in self.import_errors()]
        for path in self.process_log_files():
            parts.append(f"===== {path.name} (last {process_lines} lines) =====")
            parts.append(_tail(path, process_lines))
        for path in self.task_log_files():
            parts.append(f"===== {path.relative_to(self.logs_folder)} (last {task_lines} lines) =====")
            parts.append(_tail(path, task_lines))
        return redact("\n".join(parts), self.redact_in_reports)


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


__all__ = [
    "ACTIVE_TI_STATES",
    "AIRFLOW_BIN",
    "COMPONENTS",
    "FAILED_TI_STATES",
    "AirflowCluster",
    "ClusterError",
    "Leak",
    "basic_credentials",
    "fernet_key",
    "find_leaks",
    "free_port",
    "redact",
]
