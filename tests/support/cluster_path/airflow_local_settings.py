"""Cluster policy of the test deployment: spread chosen DAGs' tasks over the workers' queues.

For each DAG named in ``TOGGL_CLUSTER_SPREAD_DAGS``, tasks are ordered by how many upstream tasks
they have (then by id) and given the queues in ``TOGGL_CLUSTER_QUEUES`` in turn, so consecutive
tasks run on different workers. The DAG files stay as users have them.
"""

from __future__ import annotations

import os
from typing import Any


def _names(variable: str) -> list[str]:
    return [name for name in os.environ.get(variable, "").split(",") if name]


def task_policy(task: Any) -> None:
    """Give the task its worker queue when its DAG is one to spread."""
    dag = getattr(task, "dag", None)
    queues = _names("TOGGL_CLUSTER_QUEUES")
    if dag is None or not queues or dag.dag_id not in _names("TOGGL_CLUSTER_SPREAD_DAGS"):
        return
    order = sorted(
        dag.task_dict.values(),
        key=lambda other: (len(other.get_flat_relative_ids(upstream=True)), other.task_id),
    )
    position = [other.task_id for other in order].index(task.task_id)
    task.queue = queues[position % len(queues)]
