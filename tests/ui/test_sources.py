"""Rotation tasks are found in serialized DAGs as Airflow itself serializes them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from airflow_toggl.ui.sources import rotation_tasks_in

ROOT = Path(__file__).resolve().parents[2]


def serialized(path: Path, dag_id: str) -> dict[str, Any]:
    try:
        from airflow.serialization.serialized_objects import DagSerialization
    except ImportError:  # Airflow before 3.3
        from airflow.serialization.serialized_objects import SerializedDAG as DagSerialization

    spec = importlib.util.spec_from_file_location(f"dag_{dag_id}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = [getattr(value, "dag", value) for value in vars(module).values()]
    dag = next(dag for dag in dags if getattr(dag, "dag_id", None) == dag_id and hasattr(dag, "task_dict"))
    return DagSerialization.to_dict(dag)


def test_each_connection_maps_to_its_rotation_task() -> None:
    fleet = serialized(ROOT / "tests/e2e/ui_dags/toggl_ui_rotation.py", "toggl_ui_rotation")
    example = serialized(ROOT / "dags/toggl_session_rotation.py", "toggl_session_rotation")
    found = rotation_tasks_in([("toggl_ui_rotation", fleet), ("toggl_session_rotation", example)])
    assert found == {
        "toggl_default": ("toggl_session_rotation", "rotate_session"),
        "toggl_fresh": ("toggl_ui_rotation", "rotate_fresh"),
        "toggl_expiring": ("toggl_ui_rotation", "rotate_expiring"),
        "toggl_failing": ("toggl_ui_rotation", "rotate_failing"),
        "toggl_stale": ("toggl_ui_rotation", "rotate_stale"),
    }


def test_other_tasks_and_odd_documents_are_ignored() -> None:
    other = {
        "dag": {"tasks": [{"__var": {"task_id": "t", "task_type": "BashOperator", "toggl_conn_id": "x"}}]}
    }
    look_alike = {
        "dag": {
            "tasks": [{"task_id": "t", "task_type": "TogglRotateSessionOperator", "_task_module": "mine"}]
        }
    }
    assert rotation_tasks_in([("a", other), ("b", look_alike), ("c", {"dag": None}), ("d", {})]) == {}
