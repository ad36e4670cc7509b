"""The Airflow plugin: a "Toggl" entry in the UI's navigation and the app serving its page.

Airflow loads plugins in every process (scheduler, workers, DAG processor), so this module stays
cheap: the FastAPI app is imported and built only when the API server reads ``fastapi_apps``.
On an Airflow without plugin pages the attributes are simply not read, and the provider works
without the page.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin

PLUGIN_NAME = "airflow_toggl"
URL_PREFIX = "/toggl"
NAV_ENTRY = {
    "name": "Toggl",
    # Relative: the UI resolves it against its base URL, so a [api] base_url prefix is kept.
    "href": "toggl/",
    "url_route": "toggl",
    "destination": "nav",
}


class TogglSessionsPlugin(AirflowPlugin):
    """Adds the Toggl sessions page (navigation entry and app) to the Airflow UI."""

    name = PLUGIN_NAME
    external_views = [NAV_ENTRY]

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """The page's app, built on first use (only the API server asks)."""
        from airflow_toggl.ui.app import create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Toggl sessions"}]


__all__ = ["NAV_ENTRY", "PLUGIN_NAME", "URL_PREFIX", "TogglSessionsPlugin"]
