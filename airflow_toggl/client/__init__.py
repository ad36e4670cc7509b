"""A Toggl Track client with no Airflow dependency: transport, auth, retries, limits, typed errors.

Names are imported on first use, so ``from airflow_toggl.client import TogglSession`` does not load
requests, urllib3 or tenacity.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_toggl.client.auth import (
        ApiTokenAuth,
        EmailPasswordAuth,
        NoAuth,
        SessionCookieAuth,
        TogglAuth,
    )
    from airflow_toggl.client.client import TogglClient
    from airflow_toggl.client.config import ClientConfig
    from airflow_toggl.client.endpoint import Service
    from airflow_toggl.client.limits import Quota
    from airflow_toggl.client.session import TogglSession

_HOMES = {
    "ApiTokenAuth": "auth",
    "EmailPasswordAuth": "auth",
    "NoAuth": "auth",
    "SessionCookieAuth": "auth",
    "TogglAuth": "auth",
    "Service": "endpoint",
    "TogglClient": "client",
    "ClientConfig": "config",
    "Quota": "limits",
    "TogglSession": "session",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
