"""Fixtures of the leak suites: the scan ledger, the DAG runs' emulator, and the hook bench.

The secrets are known and distinctive: passwords (and the new one after a reset), API tokens (and
the one a reset makes), every session cookie the emulator issued, ``/me``'s ``api_token`` and
``intercom_hash``, password reset codes and the ``Authorization: Basic`` header values. The
emulator issues its cookies in the ``no-eyj`` style: Airflow's log processor hides anything that
starts with ``eyJ`` by itself, so standard JWT cookies would be hidden even if the code leaked them.
Every scan has a positive control (something public that must be found where it was written), so a
scan that reads nothing fails. With ``-s`` each module prints how much it read and found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_toggl.emulator.server import TogglEmulator
from tests.support.secrets_scan import SESSION_TTL, Bench, Ledger, SecretBook


@pytest.fixture(scope="module")
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    """Every scan of the module; the totals are printed at the end (visible with ``-s``)."""
    record = Ledger()
    yield record
    if record.records:
        print(f"\n\nSecret scans of {request.module.__name__}\n" + record.report())


@pytest.fixture(scope="module")
def dag_emulator() -> Iterator[TogglEmulator]:
    """The Toggl the DAG runs of one module talk to."""
    with TogglEmulator(cookie_style="no-eyj", session_ttl=SESSION_TTL) as running:
        yield running


@pytest.fixture(scope="module")
def dag_book() -> SecretBook:
    """The secrets of a module's DAG runs; each phase adds its user's and harvests the emulator."""
    return SecretBook()


@pytest.fixture
def book() -> SecretBook:
    return SecretBook()


@pytest.fixture
def bench(
    toggl_emulator_factory: Callable[..., TogglEmulator],
    monkeypatch: pytest.MonkeyPatch,
    book: SecretBook,
    masked: list[Any],
) -> Bench:
    """An emulator with one user, and hooks over connections set in the environment."""
    return Bench(toggl_emulator_factory, monkeypatch, book)
