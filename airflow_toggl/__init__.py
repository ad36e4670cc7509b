"""Apache Airflow provider for the Toggl Track API.

Importing this package is cheap: Airflow calls :func:`get_provider_info` during provider discovery,
so nothing here imports Airflow, requests or the hook.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

CONN_TYPE = "toggl"
DEFAULT_CONN_ID = "toggl_default"
AUTH_MODES = ("api_token", "basic", "session")


def get_provider_info() -> dict[str, Any]:
    """Provider metadata read by Airflow's ProvidersManager (connection type, form, hooks, operators)."""
    return {
        "package-name": "airflow-toggl",
        "name": "Toggl Track",
        "description": "Toggl Track API: API token, email/password and session-cookie authentication, "
        "session rotation, quotas and rate limits.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Toggl Track",
                "external-doc-url": "https://engineering.toggl.com/docs/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "Toggl Track", "python-modules": ["airflow_toggl.hooks.toggl"]}],
        "operators": [
            {
                "integration-name": "Toggl Track",
                "python-modules": ["airflow_toggl.operators.toggl", "airflow_toggl.operators.api"],
            }
        ],
        "triggers": [{"integration-name": "Toggl Track", "python-modules": ["airflow_toggl.triggers.toggl"]}],
        "extra-links": ["airflow_toggl.links.toggl.TogglProfileLink"],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": "airflow_toggl.hooks.toggl.TogglHook",
                "hook-name": "Toggl Track",
                "conn-fields": _CONN_FIELDS,
                "ui-field-behaviour": {
                    # "extra" stays visible: Airflow 3.1 ignores conn-fields, and its Extra field is then
                    # the only place for the API token and the other settings.
                    "hidden-fields": ["host", "port", "schema"],
                    "relabeling": {"login": "Email", "password": "Password"},
                    "placeholders": {
                        "login": "you@example.com (for email/password or session authentication)",
                        "password": "Toggl password (for email/password or session authentication)",
                    },
                },
            }
        ],
    }


_CONN_FIELDS: dict[str, Any] = {
    # One entry per extra, each of the same shape on purpose (label, help, JSON schema): a table.
    # No field carries a schema "default": the form would write it into every connection it saves,
    # and a later change of the default would never reach them. Empty means "use the default".
    "api_token": {
        "label": "API token",
        "description": "Personal Track API token (Profile settings). Used when set, "
        "unless Auth mode says otherwise.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "auth_mode": {
        "label": "Auth mode",
        "description": "Empty (automatic): the API token if one is set, else email and password.",
        "schema": {
            "type": ["string", "null"],
            "enum": [None, *AUTH_MODES],
            "values_display": {
                "null": "Automatic (API token if set, else email and password)",
                "None": "Automatic (API token if set, else email and password)",
                "api_token": "API token",
                "basic": "Email and password",
                "session": "Stored session cookie",
            },
        },
    },
    "track_api_url": {
        "label": "Track API URL",
        "description": "Empty: https://api.track.toggl.com. Plain http only for loopback hosts.",
        "schema": {"type": ["string", "null"]},
    },
    "accounts_api_url": {
        "label": "Accounts API URL",
        "description": "Empty: https://accounts.toggl.com. Plain http only for loopback hosts.",
        "schema": {"type": ["string", "null"]},
    },
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Seconds one attempt may take as a whole: connecting, the headers and the body. "
        "Empty: 30.",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Attempts after the first for 429, 5xx and network failures. Empty: 5.",
        "schema": {"type": ["integer", "null"], "minimum": 0},
    },
    "max_quota_wait": {
        "label": "Max quota wait (seconds)",
        "description": "Longest in-task wait for the hourly quota to reset; beyond it the task fails "
        "(or defers, for deferrable operators). Empty: 300.",
        "schema": {"type": ["number", "null"], "minimum": 0},
    },
    "requests_per_second": {
        "label": "Requests per second",
        "description": "Client-side pacing per credential; 0 turns it off. Empty: 1.",
        "schema": {"type": ["number", "null"], "minimum": 0},
    },
    "verify": {
        "label": "Verify TLS",
        "description": "true, false, or the path of a CA bundle file. Empty: true.",
        "schema": {"type": ["string", "null"]},
    },
    "session_key": {
        "label": "Session store key",
        "description": "Airflow Variable that holds the rotated session. "
        "Empty: toggl_session_secret__<connection id>.",
        "schema": {"type": ["string", "null"]},
    },
}

CONNECTION_EXTRAS: tuple[str, ...] = tuple(_CONN_FIELDS)
"""Every extra a ``toggl`` connection understands: the form's fields are the one list of them."""
