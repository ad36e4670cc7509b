"""pytest fixtures giving tests a running Toggl emulator.

Registered through the ``pytest11`` entry point, so installing airflow-toggl makes
``toggl_emulator`` and ``toggl_emulator_factory`` available in any test suite. The server is
imported inside the fixtures to keep plugin loading cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_toggl.emulator.server import TogglEmulator


class _Stopper:
    """Stops emulators in the background, so a test's teardown does not wait for it.

    A stop waits for the server loop's next poll (tens of milliseconds); over a suite of a thousand
    tests that adds up. Every stop started is awaited when the test session ends.
    """

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []

    def stop(self, emulators: list[TogglEmulator]) -> None:
        def stop_all() -> None:
            for emulator in emulators:
                emulator.stop()

        thread = threading.Thread(target=stop_all, name="toggl-emulator-stop", daemon=True)
        thread.start()
        self._threads = [*(running for running in self._threads if running.is_alive()), thread]

    def wait(self) -> None:
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()


@pytest.fixture(scope="session")
def _toggl_emulator_stopper() -> Iterator[_Stopper]:
    stopper = _Stopper()
    yield stopper
    stopper.wait()


@pytest.fixture
def toggl_emulator_factory(_toggl_emulator_stopper: _Stopper) -> Iterator[Callable[..., TogglEmulator]]:
    """Start emulators with the given options; all of them are stopped after the test.

    The stops run in the background (each waits for its server loop's next poll); the test session
    waits for them at its end.
    """
    from airflow_toggl.emulator.server import TogglEmulator

    started: list[TogglEmulator] = []

    def factory(**options: Any) -> TogglEmulator:
        emulator = TogglEmulator(**options).start()
        started.append(emulator)
        return emulator

    yield factory
    _toggl_emulator_stopper.stop(list(reversed(started)))


@pytest.fixture
def toggl_emulator(toggl_emulator_factory: Callable[..., TogglEmulator]) -> TogglEmulator:
    """A started emulator on 127.0.0.1, a free port and default settings (limits off)."""
    return toggl_emulator_factory()
