"""Fixtures for the operator, store, rotation and trigger tests.

``variables`` replaces Airflow's Variable get/set/delete with a dict, so the real store adapter
runs without a task context. ``FakeHook`` (in ``toggl_fakes``) is a scripted stand-in for
``TogglHook`` used by the step-by-step tests; the emulator tests use the real hook over HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.operators.toggl_fakes import FakeHook, MemoryVariables


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> MemoryVariables:
    """Airflow's ``Variable`` backed by a dict for this test."""
    from airflow.sdk import Variable
    from airflow.sdk.definitions._internal.types import NOTSET

    memory = MemoryVariables()

    def get(cls: Any, key: str, default: Any = NOTSET, deserialize_json: bool = False) -> Any:
        if key in memory.data:
            return memory.data[key]
        if default is NOTSET:
            raise KeyError(key)
        return default

    def set_(
        cls: Any, key: str, value: Any, description: str | None = None, serialize_json: bool = False
    ) -> None:
        memory.set(key, value)

    def delete(cls: Any, key: str) -> None:
        memory.delete(key)

    monkeypatch.setattr(Variable, "get", classmethod(get))
    monkeypatch.setattr(Variable, "set", classmethod(set_))
    monkeypatch.setattr(Variable, "delete", classmethod(delete))
    return memory


@pytest.fixture
def masked(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every value passed to ``airflow.sdk.log.mask_secret`` during the test."""
    import airflow.sdk.log

    seen: list[Any] = []
    monkeypatch.setattr(airflow.sdk.log, "mask_secret", lambda secret, name=None: seen.append(secret))
    return seen


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
