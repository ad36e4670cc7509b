"""Clients wired to the emulator, with an injected sleep so retry waits take no wall time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_toggl.client import ApiTokenAuth, ClientConfig, TogglAuth, TogglClient


class RecordedSleep:
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def make_client(toggl_emulator: Any, sleeps: RecordedSleep) -> Iterator[Callable[..., TogglClient]]:
    clients: list[TogglClient] = []

    def make(
        auth: TogglAuth | None = None, *, on_secret: Callable[[str], None] | None = None, **config: Any
    ) -> TogglClient:
        settings: dict[str, Any] = {
            "track_api_url": toggl_emulator.url,
            "accounts_api_url": toggl_emulator.url,
            "requests_per_second": 0,
            "max_retries": 3,
            "timeout": 2,
            "max_quota_wait": 60,
        }
        if toggl_emulator.ca_bundle:
            settings["verify"] = toggl_emulator.ca_bundle
        settings.update(config)
        client = TogglClient(ClientConfig(**settings), auth, sleep=sleeps, on_secret=on_secret)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def token_client(make_client: Callable[..., TogglClient], toggl_user: dict[str, Any]) -> TogglClient:
    return make_client(ApiTokenAuth(toggl_user["api_token"]))
