"""A distributed Airflow 3 for end-to-end tests: PostgreSQL, Redis, CeleryExecutor, two workers.

``PostgresServer`` and ``RedisServer`` run Debian's ``postgres`` and ``redis-server`` binaries on
free loopback ports in temporary folders (installed by ``scripts/install-cluster-packages`` when
missing); both are stopped by process id. ``CeleryCluster`` extends :class:`AirflowCluster` with
a PostgreSQL metadata database, a Redis broker and two Celery workers, each serving its own queue
and the default one. Every component writes to its own log folder (``logs/<component>``), so a
test can tell which process wrote what, as on separate hosts.

Workers report a hostname of their own (``worker-a``, ``worker-b``) through Airflow's
``hostname_callable``, so task instances show where they ran. DAG ids listed in
``spread_dag_ids`` get their tasks spread over the workers' queues by a cluster policy
(``cluster_path/airflow_local_settings.py``), without touching the DAG files.

Typical use::

    with contextlib.ExitStack() as stack:
        postgres = stack.enter_context(PostgresServer(tmp / "postgres"))
        redis = stack.enter_context(RedisServer(tmp / "redis"))
        cluster = stack.enter_context(
            CeleryCluster(tmp / "airflow", database=postgres, broker=redis, dag_files=[...])
        )
        cluster.migrate()
        cluster.start()
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil

from devkit.airflow_cluster import AIRFLOW_BIN, COMPONENTS, AirflowCluster, ClusterError, free_port

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "scripts" / "install-cluster-packages"
CLUSTER_PATH = Path(__file__).resolve().parent / "cluster_path"
"""Put on every Airflow process's ``PYTHONPATH``: the cluster policy and the worker hostname."""

WORKERS = ("worker-a", "worker-b")
_WRITE_STATEMENT = re.compile(
    r"LOG:  (?:statement|execute [^:]*): (INSERT INTO|UPDATE|DELETE FROM) \"?(\w+)", re.IGNORECASE
)
DATABASE = "airflow"
DATABASE_USER = "airflow"


def count_writes(log_text: str) -> Counter[str]:
    """Table -> INSERT, UPDATE and DELETE statements in a PostgreSQL log (``log_statement = mod``)."""
    return Counter(match.group(2).lower() for match in _WRITE_STATEMENT.finditer(log_text))


def postgres_bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries Debian installed, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def ensure_cluster_packages() -> None:
    """Install PostgreSQL and Redis when one is missing (needs root, as CI has)."""
    if postgres_bin_dir() is not None and shutil.which("redis-server"):
        return
    result = subprocess.run([str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0 or postgres_bin_dir() is None or not shutil.which("redis-server"):
        raise ClusterError(
            f"PostgreSQL and Redis are needed: {INSTALL_SCRIPT.name} exited {result.returncode}\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )


class _ServerProcess:
    """A server binary run in the foreground in its own session, stopped by its process id."""

    stop_signal = signal.SIGTERM
    log_path: Path

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def _launch(self, args: Sequence[str], *, ready: Any, timeout: float, user: str | None = None) -> None:
        """Start ``args`` with output to ``log_path`` and wait until ``ready()`` is true."""
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                user=user,
                start_new_session=True,
            )
        name = Path(args[0]).name
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                state = (
                    f"exited {self.process.returncode}" if self.process.poll() is not None else "is not ready"
                )
                log = self.log_path.read_text(errors="replace")[-3000:]
                raise ClusterError(f"{name} {state} after {timeout:.0f}s at most\n{log}")
            time.sleep(0.3)

    def stop(self, grace: float = 30) -> None:
        """Signal the server we started, wait, and kill it if it does not exit in time."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(self.stop_signal)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(timeout=10)

    def start(self) -> Any:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PostgresServer(_ServerProcess):
    """A throw-away PostgreSQL on a free loopback port; data in ``root`` (fsync off: tests only).

    Stopped with SIGINT, PostgreSQL's fast shutdown.

    As root the server runs as Debian's ``postgres`` account (PostgreSQL refuses to run as root),
    so ``root`` must be a folder that account can reach. By default a fresh folder is made under
    the system's temporary directory, and removed on :meth:`stop`.
    """

    stop_signal = signal.SIGINT

    def __init__(self, root: Path | None = None, *, max_connections: int = 200) -> None:
        super().__init__()
        self._owns_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="toggl-postgres-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.max_connections = max_connections
        self._bin = postgres_bin_dir()
        if self._bin is None:
            raise ClusterError("PostgreSQL is not installed (scripts/install-cluster-packages)")
        self._user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``airflow`` database."""
        return f"postgresql+psycopg2://{DATABASE_USER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def dsn(self) -> str:
        """libpq connection string of the ``airflow`` database."""
        return f"host=127.0.0.1 port={self.port} user={DATABASE_USER} dbname={DATABASE}"

    def start(self, timeout: float = 120) -> PostgresServer:
        """initdb, start ``postgres`` (trust auth, loopback only) and create the ``airflow`` database."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            account = pwd.getpwnam(self._user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self._run(
            [
                str(self._bin / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                DATABASE_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            timeout=timeout,
        )
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "max_connections": str(self.max_connections),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            # Every INSERT, UPDATE and DELETE goes to the log: the tests count writes per table.
            "log_statement": "mod",
            "log_line_prefix": "%m [%p] ",
        }
        args = [str(self._bin / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        self._launch(args, ready=self._accepts, timeout=timeout, user=self._user)
        self.execute(f"CREATE DATABASE {DATABASE}", database="postgres")
        return self

    def _run(self, args: Sequence[str], *, timeout: float) -> None:
        result = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=self._user,
            cwd=self.root,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"{Path(args[0]).name} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )

    def _connect(self, database: str = DATABASE) -> Any:
        import psycopg2

        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user=DATABASE_USER, dbname=database, connect_timeout=5
        )

    def _accepts(self) -> bool:
        try:
            self._connect("postgres").close()
        except Exception:  # psycopg2.OperationalError while the server starts
            return False
        return True

    def execute(self, sql: str, *, database: str = DATABASE) -> None:
        """Run one statement outside a transaction (e.g. ``CREATE DATABASE``)."""
        connection = self._connect(database)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    def stop(self, grace: float = 30) -> None:
        """Stop the server; a data folder it made itself is removed."""
        super().stop(grace)
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_offset(self) -> int:
        """Where the server log ends now; pass it to :meth:`writes_since`."""
        return self.log_path.stat().st_size

    def writes_since(self, offset: int) -> Counter[str]:
        """Table -> INSERT, UPDATE and DELETE statements the server logged after ``offset``."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
        return count_writes(text)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query on the ``airflow`` database, as dicts."""
        connection = self._connect()
        try:
            connection.set_session(readonly=True, autocommit=True)
            with connection.cursor() as cursor:
                cursor.execute(sql, tuple(params))
                names = [column.name for column in cursor.description or ()]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            connection.close()


class RedisServer(_ServerProcess):
    """A throw-away Redis on a free loopback port, with no persistence."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)
        self.log_path = self.root / "redis.log"

    @property
    def url(self) -> str:
        """The broker URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 60) -> RedisServer:
        """Run ``redis-server`` in the foreground, bound to loopback, saving nothing."""
        redis = shutil.which("redis-server")
        if redis is None:
            raise ClusterError("redis-server is not installed (scripts/install-cluster-packages)")
        self.root.mkdir(parents=True, exist_ok=True)
        args = [
            redis,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.root),
            "--daemonize",
            "no",
        ]
        self._launch(args, ready=self._pong, timeout=timeout)
        return self

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


class CeleryCluster(AirflowCluster):
    """Airflow on PostgreSQL with the CeleryExecutor: the four services and two Celery workers.

    :param database: the metadata database (also the Celery result backend).
    :param broker: the Celery broker.
    :param workers: worker names; each serves the queue of its name and ``default``.
    :param worker_concurrency: task slots per worker.
    :param spread_dag_ids: DAGs whose tasks are spread over the workers' queues, in dependency order.
    """

    def __init__(
        self,
        home: Path,
        *,
        database: PostgresServer,
        broker: RedisServer,
        workers: Sequence[str] = WORKERS,
        worker_concurrency: int = 4,
        spread_dag_ids: Sequence[str] = (),
        dag_files: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        redact_in_reports: Mapping[str, str] | None = None,
    ) -> None:
        self.database = database
        self.broker = broker
        self.workers = tuple(workers)
        self.worker_concurrency = worker_concurrency
        self.spread_dag_ids = tuple(spread_dag_ids)
        super().__init__(home, dag_files=dag_files, env=env, redact_in_reports=redact_in_reports)
        self.components = (*COMPONENTS, *self.workers)

    def _environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = super()._environment({})
        python_path = [str(CLUSTER_PATH), env.get("PYTHONPATH", "")]
        env.update(
            {
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database.url,
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__PARALLELISM": "16",
                "AIRFLOW__CELERY__BROKER_URL": self.broker.url,
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{DATABASE_USER}@127.0.0.1:{self.database.port}/{DATABASE}",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
                "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
                "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": "default",
                "PYTHONPATH": os.pathsep.join(part for part in python_path if part),
                "TOGGL_CLUSTER_QUEUES": ",".join(self.workers),
                "TOGGL_CLUSTER_SPREAD_DAGS": ",".join(self.spread_dag_ids),
            }
        )
        env.update(extra)
        return env

    # -- processes -------------------------------------------------------------------------

    def start(self, components: Sequence[str] | None = None, *, ready_timeout: float = 180) -> None:
        """Start the services and the workers, each with its own log folder."""
        super().start(self.components if components is None else components, ready_timeout=ready_timeout)

    def _start_one(self, name: str) -> None:
        folder = self.component_log_folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        env = {"AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(folder)}
        if name not in self.workers:
            args = [AIRFLOW_BIN, name]
            if name == "api-server":
                args += ["--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"]
            self.start_process(name, args, env=env)
            return
        env.update(
            {
                "TOGGL_CLUSTER_WORKER": name,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "toggl_cluster_hostname.worker_hostname",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            }
        )
        args = [
            AIRFLOW_BIN,
            "celery",
            "worker",
            "--celery-hostname",
            f"{name}@%h",
            "--queues",
            f"default,{name}",
            "--concurrency",
            str(self.worker_concurrency),
            "--without-gossip",
            "--without-mingle",
        ]
        self.start_process(name, args, env=env)

    def component_log_folder(self, name: str) -> Path:
        """Where one component's Airflow logs go (task logs of a worker, trigger logs of the triggerer)."""
        return self.logs_folder / name

    def task_log_files(self, dag_id: str | None = None, component: str | None = None) -> list[Path]:
        """Task logs of every component (or one), ``<component>/dag_id=.../attempt=N.log*``."""
        pattern = f"dag_id={dag_id}" if dag_id else "dag_id=*"
        folder = component or "*"
        return sorted(path for path in self.logs_folder.glob(f"{folder}/{pattern}/**/*") if path.is_file())

    def task_processes(self, worker: str) -> list[psutil.Process]:
        """Task processes a worker runs now: grandchildren of the worker (worker -> pool slot -> task)."""
        for component in self._components:
            if component.name == worker and component.process.poll() is None:
                try:
                    slots = psutil.Process(component.process.pid).children()
                    return [task for slot in slots for task in slot.children()]
                except psutil.Error:
                    return []
        return []

    # -- metadata DB (read-only) -----------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query on PostgreSQL; ``?`` placeholders as in the SQLite cluster."""
        return self.database.query(sql.replace("?", "%s"), params)

    # -- REST API --------------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        """Call the public REST API (``/api/v2``); every caller is an admin in this deployment."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.api_url}/api/v2/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            raise ClusterError(f"{method} {path} -> {error.code}: {error.read()[:2000]!r}") from None
        return json.loads(text) if text else None

    def unpause(self, dag_id: str) -> None:
        """Unpause a DAG over the REST API."""
        self.api("PATCH", f"dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """Start a manual run now; returns its run id."""
        run = self.api("POST", f"dags/{dag_id}/dagRuns", {"logical_date": None, "conf": dict(conf or {})})
        return str(run["dag_run_id"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> dict[str, Any]:
        """Wait until one run ended; fail with a report if it failed or a task failed."""

        def finished() -> dict[str, Any] | None:
            rows = self.query("SELECT * FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
            failed = self.query(
                "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ? "
                "AND state IN ('failed', 'upstream_failed', 'up_for_retry')",
                (dag_id, run_id),
            )
            if failed or (rows and rows[0]["state"] == "failed"):
                raise ClusterError(f"Run {run_id} of {dag_id} failed: {failed}\n{self.report()}")
            return rows[0] if rows and rows[0]["state"] == "success" else None

        return dict(self.wait_until(finished, timeout=timeout, interval=2, what=f"run {run_id} of {dag_id}"))

    def run_task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Task instances of one run, with where and when they ran."""
        return self.query(
            "SELECT task_id, map_index, state, hostname, queue, pool, try_number, start_date, end_date "
            "FROM task_instance WHERE dag_id = ? AND run_id = ? ORDER BY task_id, map_index",
            (dag_id, run_id),
        )


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM (a CI timeout, ``kill``) into SystemExit, so the servers are stopped on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def celery_cluster(home: Path, *, dag_files: Sequence[Path], **options: Any) -> Iterator[CeleryCluster]:
    """PostgreSQL, Redis and a :class:`CeleryCluster` over them, migrated and started.

    Everything is stopped by process id on the way out, also when starting fails.
    """
    ensure_cluster_packages()
    with contextlib.ExitStack() as stack, _stop_on_sigterm():
        postgres = stack.enter_context(PostgresServer())
        redis = stack.enter_context(RedisServer(Path(home) / "redis"))
        cluster = stack.enter_context(
            CeleryCluster(
                Path(home) / "airflow", database=postgres, broker=redis, dag_files=dag_files, **options
            )
        )
        cluster.migrate()
        cluster.start()
        yield cluster


__all__ = [
    "WORKERS",
    "CeleryCluster",
    "PostgresServer",
    "RedisServer",
    "celery_cluster",
    "count_writes",
    "ensure_cluster_packages",
    "postgres_bin_dir",
]
