"""A local Toggl (accounts + Track API v9) for demos and tests: ``TogglEmulator``.

    with TogglEmulator(quota_limit=30) as em:
        user = em.add_user("ada@example.com", "pw")
        requests.get(f"{em.url}/api/v9/me", auth=(user["api_token"], "api_token"))
        em.inject_fault("/api/sessions", action="drop")

It stands alone: nothing here imports the rest of ``airflow_toggl`` or Airflow. The server is
imported on first use so that loading the pytest plugin stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_toggl.emulator.server import TogglEmulator

__all__ = ["TogglEmulator"]


def __getattr__(name: str) -> Any:
    """Import ``TogglEmulator`` lazily."""
    if name == "TogglEmulator":
        from airflow_toggl.emulator.server import TogglEmulator

        return TogglEmulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
