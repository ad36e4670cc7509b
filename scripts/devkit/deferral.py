"""``TaskDeferred``, what ``BaseOperator.defer`` raises, for code that calls ``execute`` directly and
catches a deferral (the tests, the benchmark): ``airflow.sdk.exceptions`` from Airflow 3.2,
``airflow.exceptions`` before."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk.exceptions import TaskDeferred
else:
    try:
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:
        from airflow.exceptions import TaskDeferred

__all__ = ["TaskDeferred"]
