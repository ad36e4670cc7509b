"""pytest fixtures giving tests a running Toggl emulator.

Registered through the ``pytest11`` entry point, so installing airflow-toggl makes
``toggl_emulator`` and ``toggl_emulator_factory`` available in any test suite. The server is
imported inside the fixtures to keep plugin loading cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_toggl.emulator.server import TogglEmulator


@pytest.fixture
def toggl_emulator_factory() -> Iterator[Callable[..., TogglEmulator]]:
    """Start emulators with the given options; all of them are stopped after the test."""
    from airflow_toggl.emulator.server import TogglEmulator

    started: list[TogglEmulator] = []

    def factory(**options: Any) -> TogglEmulator:
        emulator = TogglEmulator(**options).start()
        started.append(emulator)
        return emulator

    yield factory
    for emulator in reversed(started):
        emulator.stop()


@pytest.fixture
def toggl_emulator(toggl_emulator_factory: Callable[..., TogglEmulator]) -> TogglEmulator:
    """A started emulator on 127.0.0.1, a free port and default settings (limits off)."""
    return toggl_emulator_factory()
