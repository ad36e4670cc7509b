"""A Toggl Track client with no Airflow dependency: transport, auth, retries, limits, typed errors."""

from airflow_toggl.client.auth import ApiTokenAuth, EmailPasswordAuth, NoAuth, SessionCookieAuth, TogglAuth
from airflow_toggl.client.client import Service, TogglClient
from airflow_toggl.client.config import ClientConfig
from airflow_toggl.client.limits import Quota
from airflow_toggl.client.session import TogglSession

__all__ = [
    "ApiTokenAuth",
    "ClientConfig",
    "EmailPasswordAuth",
    "NoAuth",
    "Quota",
    "Service",
    "SessionCookieAuth",
    "TogglAuth",
    "TogglClient",
    "TogglSession",
]
