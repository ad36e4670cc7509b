"""The typed errors of airflow-toggl, for DAG authors: ``from airflow_toggl.exceptions import ...``.

They are defined in :mod:`airflow_toggl.client.errors` (plain Python exceptions, importable without
Airflow) and raised unchanged by the client, the hook, the session layer and the operators.
"""

from airflow_toggl.client.errors import *  # noqa: F403 - every public error, listed once, in errors.py
from airflow_toggl.client.errors import __all__ as __all__
