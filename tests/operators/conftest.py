"""Fixtures for the operator, store, rotation and trigger tests.

``FakeHook`` (in ``toggl_fakes``) is a scripted stand-in for
``TogglHook`` used by the step-by-step tests; the emulator tests use the real hook over HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.operators.toggl_fakes import FakeHook


@pytest.fixture
def fake_hook() -> FakeHook:
    return FakeHook()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket connection fails the test."""
    import socket

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
