"""The typed errors of airflow-toggl, for DAG authors: ``from airflow_toggl.exceptions import ...``.

They are defined in :mod:`airflow_toggl.client.errors` (plain Python exceptions, importable without
Airflow) and raised unchanged by the client, the hook, the session layer and the operators.
"""

from airflow_toggl.client.errors import (
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

__all__ = [
    "TogglAPIError",
    "TogglAuthError",
    "TogglConfigError",
    "TogglConnectionError",
    "TogglError",
    "TogglIdentityMismatchError",
    "TogglPlanError",
    "TogglQuotaExceededError",
    "TogglRateLimitError",
    "TogglResponseError",
]
