"""The plugin is found through its entry point, and loading it costs no web framework import."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from airflow_toggl.ui.plugin import NAV_ENTRY, PLUGIN_NAME, TogglSessionsPlugin


def test_the_entry_point_names_the_plugin_class() -> None:
    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.value.startswith("airflow_toggl.")]
    assert entry.load() is TogglSessionsPlugin


def test_airflow_loads_it_with_a_relative_navigation_entry() -> None:
    from airflow import plugins_manager

    (info,) = [p for p in plugins_manager.get_plugin_info(["external_views"]) if p["name"] == PLUGIN_NAME]
    assert info["external_views"] == [NAV_ENTRY]
    assert not NAV_ENTRY["href"].startswith(("/", "http"))


def test_importing_the_plugin_and_the_provider_imports_no_web_framework() -> None:
    """What the plugin adds to Airflow's own plugin loading: neither FastAPI nor the page's app."""
    code = (
        "import sys; import airflow.plugins_manager; before = set(sys.modules); "
        "import airflow_toggl, airflow_toggl.ui.plugin; added = set(sys.modules) - before; "
        "print(sorted(m for m in added if m.split('.')[0] in ('fastapi', 'starlette') or m == 'airflow_toggl.ui.app'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_app_is_built_when_the_api_server_asks() -> None:
    (app,) = TogglSessionsPlugin().fastapi_apps
    assert app["url_prefix"] == "/toggl"
    paths = {route.path for route in app["app"].routes}
    assert {
        "/",
        "/api/sessions",
        "/api/sessions/{connection_id}",
        "/api/sessions/{connection_id}/check",
    } <= paths
