"""Fixtures for the emulator's own tests: a user, a login helper and a hand-driven clock.

The ``toggl_emulator`` and ``toggl_emulator_factory`` fixtures come from the package's pytest
plugin (the ``pytest11`` entry point), exactly as users of the package get them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from airflow_toggl.emulator import TogglEmulator

from .helpers import PASSWORD, FakeClock, cookie_from


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def em(toggl_emulator: TogglEmulator) -> TogglEmulator:
    """The default emulator (limits off)."""
    return toggl_emulator


@pytest.fixture
def alice(em: TogglEmulator) -> dict[str, Any]:
    return em.add_user("alice@example.com", PASSWORD, fullname="Alice Liddell", timezone="Europe/London")


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def login(http: requests.Session) -> Callable[..., str]:
    """Open a session with email and password; returns the cookie value."""

    def _login(emulator: TogglEmulator, email: str, password: str = PASSWORD) -> str:
        response = http.post(f"{emulator.url}/api/sessions", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return cookie_from(response)

    return _login
