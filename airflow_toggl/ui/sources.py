"""Reading the sessions page's facts from Airflow's own stores, in the API server.

* connections: the metadata database's ``toggl`` connections (what the Connections page lists);
* the session store and the status record: Airflow Variables (secrets backends first, then the
  database), read with Airflow's server-side ``Variable``;
* rotation tasks: ``TogglRotateSessionOperator`` tasks found in the serialized DAGs, matched to a
  connection by their ``toggl_conn_id``; their latest task instance and their DAG's next run.

Nothing here sends a request to Toggl.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_toggl import CONN_TYPE, DEFAULT_CONN_ID
from airflow_toggl.exceptions import TogglConfigError
from airflow_toggl.hooks.toggl import settings_from_connection
from airflow_toggl.sessions.status import StatusRecord
from airflow_toggl.sessions.store import SessionStore, default_session_key
from airflow_toggl.ui.overview import ConnectionFacts, RotationRun, RotationSchedule

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ROTATION_OPERATOR = "TogglRotateSessionOperator"
ROTATION_MODULE = "airflow_toggl.operators.toggl"
ROTATION_TASKS_TTL = 60.0
"""Seconds the map of rotation tasks is reused before the serialized DAGs are read again."""


class ServerVariables:
    """The session store's Variable backend in the API server: Airflow's ``airflow.models.Variable``."""

    def get(self, key: str) -> str | None:
        """The raw value, or None when the Variable does not exist."""
        from airflow.models import Variable

        value = Variable.get(key, default_var=None)
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        """Create or replace the Variable."""
        from airflow.models import Variable

        Variable.set(key, value, description="Toggl connection status (managed by airflow-toggl)")

    def delete(self, key: str) -> None:
        """Remove the Variable."""
        from airflow.models import Variable

        Variable.delete(key)


@dataclass(frozen=True)
class ConnectionSnapshot:
    """The fields of a connection the hook reads, copied out of the database session."""

    conn_id: str
    login: str | None
    password: str | None = field(repr=False)
    extra_dejson: dict[str, Any] = field(repr=False)


def connection_snapshot(session: Session, conn_id: str) -> ConnectionSnapshot | None:
    """The ``toggl`` connection ``conn_id`` from the metadata database, or None."""
    (connection,) = toggl_connections(session, {conn_id}) or (None,)
    if connection is None:
        return None
    return ConnectionSnapshot(
        conn_id=connection.conn_id,
        login=connection.login,
        password=connection.password,
        extra_dejson=dict(connection.extra_dejson),
    )


def toggl_connections(session: Session, conn_ids: set[str] | None = None) -> list[Any]:
    """The ``toggl`` connections in the metadata database (only ``conn_ids`` when given), by id."""
    from airflow.models import Connection
    from sqlalchemy import select

    query = select(Connection).where(Connection.conn_type == CONN_TYPE).order_by(Connection.conn_id)
    if conn_ids is not None:
        query = query.where(Connection.conn_id.in_(sorted(conn_ids)))
    return list(session.scalars(query))


def facts_of(
    connection: Any, *, variables: ServerVariables, tasks: Mapping[str, tuple[str, str]], session: Session
) -> ConnectionFacts:
    """Everything the page shows of one connection, read from Airflow's stores."""
    conn_id = connection.conn_id
    facts: dict[str, Any] = {"conn_id": conn_id, "login": connection.login}
    try:
        settings = settings_from_connection(
            conn_id, login=connection.login, password=connection.password, extras=connection.extra_dejson
        )
        facts.update(auth_mode=settings.auth_mode, session_key=settings.session_key)
    except TogglConfigError as error:
        facts.update(
            settings_error=f"connection setting {error.field!r} is invalid",
            session_key=default_session_key(conn_id),
        )
    try:
        facts["stored"] = SessionStore(facts["session_key"], variables=variables).load()
    except TogglConfigError:
        facts["store_error"] = f"Variable {facts['session_key']} is not a Toggl session store value"
    facts["status"] = StatusRecord(conn_id, variables=variables).load()
    task = tasks.get(conn_id)
    if task is not None:
        facts["schedule"] = schedule_of(session, *task)
        facts["last_run"] = last_run_of(session, *task)
    return ConnectionFacts(**facts)


def schedule_of(session: Session, dag_id: str, task_id: str) -> RotationSchedule:
    """The DAG's next scheduled run and whether it is paused."""
    from airflow.models.dag import DagModel
    from sqlalchemy import select

    dag = session.scalar(select(DagModel).where(DagModel.dag_id == dag_id))
    if dag is None:
        return RotationSchedule(dag_id=dag_id, task_id=task_id)
    paused = bool(dag.is_paused)
    next_run = None if paused else dag.next_dagrun_create_after
    return RotationSchedule(dag_id=dag_id, task_id=task_id, next_run_at=next_run, paused=paused)


def last_run_of(session: Session, dag_id: str, task_id: str) -> RotationRun | None:
    """The rotation task's instance in the latest DAG run that has one."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    row = session.execute(
        select(
            TaskInstance.run_id,
            TaskInstance.state,
            TaskInstance.start_date,
            TaskInstance.end_date,
            DagRun.run_after,
        )
        .join(DagRun, (DagRun.dag_id == TaskInstance.dag_id) & (DagRun.run_id == TaskInstance.run_id))
        .where(TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id)
        .order_by(DagRun.id.desc(), TaskInstance.map_index.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    run_id, state, start, end, run_after = row
    at: datetime | None = end or start or run_after
    return RotationRun(dag_id=dag_id, task_id=task_id, run_id=run_id, state=_state_text(state), at=at)


def _state_text(state: Any) -> str | None:
    if state is None:
        return None
    return str(getattr(state, "value", state))


def rotation_tasks_in(serialized: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, tuple[str, str]]:
    """conn_id -> (dag_id, task_id) of its rotation task, from ``(dag_id, serialized DAG)`` pairs.

    Pure: reads ``task_type``, ``_task_module`` and ``toggl_conn_id`` of each serialized task. When
    several tasks rotate one connection, the first DAG (by id) and task (by id) wins.
    """
    found: dict[str, tuple[str, str]] = {}
    for dag_id, data in sorted(serialized, key=lambda item: item[0]):
        for task in _tasks_of(data):
            if task.get("task_type", task.get("_task_type")) != ROTATION_OPERATOR:
                continue
            if task.get("_task_module") != ROTATION_MODULE:
                continue
            conn_id = task.get("toggl_conn_id", DEFAULT_CONN_ID)
            if isinstance(conn_id, str) and conn_id not in found:
                found[conn_id] = (dag_id, str(task.get("task_id")))
    return found


def _tasks_of(data: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    dag = data.get("dag")
    tasks = dag.get("tasks") if isinstance(dag, Mapping) else None
    for task in tasks if isinstance(tasks, list) else []:
        if isinstance(task, Mapping):
            fields = task.get("__var", task)
            if isinstance(fields, Mapping):
                yield fields


class _RotationTaskCache:
    """The rotation task map, read again at most every :data:`ROTATION_TASKS_TTL` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: dict[str, tuple[str, str]] = {}
        self._read_at = float("-inf")

    def get(self, session: Session) -> dict[str, tuple[str, str]]:
        with self._lock:
            if time.monotonic() - self._read_at > ROTATION_TASKS_TTL:
                self._value = rotation_tasks_in(_serialized_dags(session))
                self._read_at = time.monotonic()
            return self._value

    def clear(self) -> None:
        with self._lock:
            self._read_at = float("-inf")


rotation_tasks = _RotationTaskCache()


def _serialized_dags(session: Session) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(dag_id, serialized DAG) of every DAG that is not stale, latest version."""
    from airflow.models.dag import DagModel
    from airflow.models.serialized_dag import SerializedDagModel
    from sqlalchemy import select

    for dag_id in session.scalars(select(DagModel.dag_id).where(~DagModel.is_stale)):
        serialized = SerializedDagModel.get(dag_id, session=session)
        data = serialized.data if serialized is not None else None
        if isinstance(data, Mapping):
            yield dag_id, data


def read_overview_facts(session: Session, conn_ids: set[str] | None = None) -> list[ConnectionFacts]:
    """The facts of every ``toggl`` connection (only ``conn_ids`` when given)."""
    variables = ServerVariables()
    tasks = rotation_tasks.get(session)
    return [
        facts_of(connection, variables=variables, tasks=tasks, session=session)
        for connection in toggl_connections(session, conn_ids)
    ]


__all__ = [
    "ConnectionSnapshot",
    "ServerVariables",
    "connection_snapshot",
    "facts_of",
    "read_overview_facts",
    "rotation_tasks",
    "rotation_tasks_in",
    "toggl_connections",
]
