"""Pacing across the processes of one host, against the emulator's strict bucket over real HTTP.

Each Airflow task is a new process; with a one-slot pool the next task's first request follows the
previous task's last one at once. The host ledger makes it wait out the interval instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_toggl.client.host_pace import HostLedger

pytestmark = pytest.mark.timeout(120)

ONE_TASK = """
import sys
from airflow_toggl.client import ApiTokenAuth, ClientConfig, TogglClient
url, token, email, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
config = ClientConfig(track_api_url=url, accounts_api_url=url, max_retries=0)
with TogglClient(config, ApiTokenAuth(token), account=email) as client:
    for _ in range(count):
        client.get_me()
"""


def task(emulator: Any, user: dict[str, Any], count: int, tmp: Path) -> subprocess.Popen[bytes]:
    """A process like an Airflow task's: a fresh client, ``count`` requests at the default pace."""
    arguments = [emulator.url, user["api_token"], user["email"], str(count)]
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.Popen([sys.executable, "-c", ONE_TASK, *arguments], env=env, stderr=subprocess.PIPE)


@pytest.mark.slow  # nine requests at one a second
def test_processes_of_one_account_draw_no_429(toggl_emulator_factory: Callable[..., Any], tmp_path: Path) -> None:
    emulator = toggl_emulator_factory(rate_limit_strict=True, rate_limit_key="account")
    user = emulator.add_user(f"host-{uuid.uuid4().hex[:8]}@example.com", "pw-Host-5tQ", api_token="e" * 32)
    for _ in range(3):  # a one-slot pool: each task starts as the previous one ends
        finished = task(emulator, user, 1, tmp_path)
        assert finished.wait() == 0, finished.stderr.read() if finished.stderr else ""
    side_by_side = [task(emulator, user, 3, tmp_path) for _ in range(2)]  # two slots of one account
    for process in side_by_side:
        assert process.wait() == 0, process.stderr.read() if process.stderr else ""
    counters = emulator.counters()
    assert counters["rate_limited"] == 0
    assert counters["responses"] == {"GET /api/v9/me 200": 9}


def test_the_ledger_is_shared_by_key_and_holds_no_secret(tmp_path: Path) -> None:
    first = HostLedger("account:abc https://api.track.toggl.com", tmp_path, clock=lambda: 100.0)
    second = HostLedger("account:abc https://api.track.toggl.com", tmp_path, clock=lambda: 100.4)
    with first.turn() as since:
        assert since == float("inf")  # nothing sent from this host yet
    with second.turn() as since:
        assert since == pytest.approx(0.4)
    assert first.path == second.path
    assert "abc" not in first.path.name
    assert HostLedger("account:other", tmp_path).path != first.path


def test_a_request_that_fails_still_counts_on_the_host(tmp_path: Path) -> None:
    failing = HostLedger("account:abc https://api.track.toggl.com", tmp_path, clock=lambda: 200.0)
    with pytest.raises(ConnectionError), failing.turn():
        raise ConnectionError("the connection dropped after the request went out")
    later = HostLedger("account:abc https://api.track.toggl.com", tmp_path, clock=lambda: 200.25)
    with later.turn() as since:
        assert since == pytest.approx(0.25)


def test_a_ledger_in_a_folder_others_may_write_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    ledger = HostLedger("account:abc https://api.track.toggl.com", shared, clock=lambda: 300.0)
    ledger.path.symlink_to(victim)  # what another user could plant in a folder they may write in
    with ledger.turn() as since:
        assert since is None  # the first request waits one interval instead
    assert victim.read_text() == "keep me"


def test_a_ledger_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    ledger = HostLedger("account:abc https://api.track.toggl.com", tmp_path / "own", clock=lambda: 300.0)
    ledger.path.parent.mkdir(mode=0o700)
    ledger.path.symlink_to(victim)
    with ledger.turn() as since:
        assert since is None
    assert victim.read_text() == "keep me"


def test_a_ledger_whose_folder_was_cleaned_away_makes_it_again(tmp_path: Path) -> None:
    """The folder is checked once per ledger; when a cleaner removes it, the next turn makes it anew."""
    folder = tmp_path / "pace"
    ledger = HostLedger("account:cleaned", directory=folder, clock=lambda: 100.0)
    with ledger.turn() as since:
        assert since == float("inf")
    folder.joinpath(ledger.path.name).unlink()
    folder.rmdir()
    with ledger.turn() as since:
        assert since is None  # this turn cannot use the file: the pacer waits one interval instead
    with ledger.turn() as since:
        assert since is not None
    assert ledger.path.exists()
