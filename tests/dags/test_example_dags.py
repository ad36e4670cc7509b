"""The example DAGs parse offline: no network, no Variable, no connection at import."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {
    "toggl_session_rotation": ["rotate_session"],
    "toggl_session_lifecycle": ["create_session", "check_session_identity", "delete_session"],
    "toggl_credentials_health": ["check_credentials"],
    "toggl_password_reset_request": ["request_password_reset"],
    "toggl_password_reset_confirm": ["confirm_password_reset", "check_new_session", "delete_reset_code"],
    "toggl_api_token_reset": ["reset_api_token"],
    "toggl_export_time_entries": ["list_workspaces", "export_time_entries", "export_detailed_report"],
}
SCHEDULED = {"toggl_session_rotation", "toggl_credentials_health", "toggl_export_time_entries"}
SINGLE_SHOT = {"toggl_password_reset_confirm", "toggl_api_token_reset"}  # retrying cannot help
PLAIN_TASKS = {"delete_reset_code"}  # not a Toggl operator: no connection


@pytest.fixture
def dagbag(no_network: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.2
        from airflow.models.dagbag import DagBag
    from airflow.sdk import BaseHook, Variable

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("Variable or connection read while parsing")

    monkeypatch.setattr(Variable, "get", classmethod(forbidden))
    monkeypatch.setattr(BaseHook, "get_connection", classmethod(forbidden))
    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert set(EXPECTED) <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_shape(dagbag: Any, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.tags == {"toggl"} or list(dag.tags) == ["toggl"]
    assert dag.catchup is False
    assert dag.doc_md
    assert dag.doc_md.strip()
    assert [task.task_id for task in _in_order(dag)] == EXPECTED[dag_id]
    unscheduled = type(dag.timetable).__name__ == "NullTimetable"
    assert unscheduled is (dag_id not in SCHEDULED)
    for task in dag.tasks:
        if task.task_id not in PLAIN_TASKS:
            assert task.toggl_conn_id == "toggl_default"
        if dag_id in SINGLE_SHOT:
            assert task.retries == 0
        else:
            assert task.retries >= 1
            assert task.retry_delay > timedelta(0)


def _in_order(dag: Any) -> list[Any]:
    """Tasks in dependency order (each after all of its upstream tasks)."""
    order: list[Any] = []
    while len(order) < len(dag.tasks):
        done = {t.task_id for t in order}
        order.extend(t for t in dag.tasks if t.task_id not in done and t.upstream_task_ids <= done)
    return order


def test_lifecycle_deletes_as_a_teardown(dagbag: Any) -> None:
    delete = dagbag.dags["toggl_session_lifecycle"].get_task("delete_session")
    assert delete.is_teardown


def test_rotation_schedule_and_connection_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy

    monkeypatch.setenv("TOGGL_ROTATION_SCHEDULE", "* * * * *")
    monkeypatch.setenv("TOGGL_CONN_ID", "toggl_other")
    namespace = runpy.run_path(str(DAGS / "toggl_session_rotation.py"))
    rotate = namespace["rotate_session"]
    timetable = rotate.dag.timetable
    # The Task SDK timetable (3.2+) has ``expression``; the older core one shows it as ``summary``.
    assert getattr(timetable, "expression", getattr(timetable, "summary", None)) == "* * * * *"
    assert rotate.toggl_conn_id == "toggl_other"


def test_docs_markers_are_balanced() -> None:
    for path in DAGS.glob("toggl_*.py"):
        text = path.read_text()
        starts = [line.split("[START ")[1].rstrip("]") for line in text.splitlines() if "# [START " in line]
        ends = [line.split("[END ")[1].rstrip("]") for line in text.splitlines() if "# [END " in line]
        assert starts, path.name
        assert starts == ends, path.name


def test_reset_code_comes_from_a_secret_variable_deleted_after_use(dagbag: Any) -> None:
    """No run conf holds the code; the Variable it is read from is deleted once the confirm succeeded."""
    import runpy

    dag = dagbag.dags["toggl_password_reset_confirm"]
    confirm = dag.get_task("confirm_password_reset")
    variable = runpy.run_path(str(DAGS / "toggl_account_admin.py"))["RESET_CODE_VARIABLE"]
    assert "secret" in variable
    assert confirm.code == "{{ var.value." + variable + " }}"
    assert "reset_code" not in dict(dag.params)
    delete = dag.get_task("delete_reset_code")
    assert delete.upstream_task_ids == {"confirm_password_reset"}
    assert delete.trigger_rule == "all_success"
