"""The example DAG of docs/emulator.md is importable as ``track_and_report``, as a project's own DAGs are."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

EXAMPLE_DAGS = Path(__file__).parent / "example_dags"
sys.path.insert(0, str(EXAMPLE_DAGS))


@pytest.fixture
def example_dag_bundle(monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAG bundle holding only the example, so ``dag.test()`` finds it as it finds a project's DAGs."""
    bundle = {
        "name": "example-dags",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(EXAMPLE_DAGS), "refresh_interval": 0},
    }
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    return EXAMPLE_DAGS
