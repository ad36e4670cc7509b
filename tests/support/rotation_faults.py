"""Support for the rotation fault tests: Variable backends, a census of live sessions, a report.

The checks here do not raise at the first problem: a run records every broken invariant as a
``RotationInvariantError`` subclass, so the printed figures are complete even for a failing case,
and the test raises the first one at the end. Each subclass names one invariant, which lets a case
with a known product bug be marked ``xfail(strict=True, raises=<that invariant>)`` without also
excusing any other failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_toggl.client.session import TogglSession
from airflow_toggl.emulator.server import TogglEmulator
from airflow_toggl.hooks.toggl import TogglHook
from airflow_toggl.sessions.store import SessionStore, StoredSession
from devkit.airflow import AIRFLOW

# -- invariants --------------------------------------------------------------------------------


class RotationInvariantError(Exception):
    """A rotation invariant did not hold."""


class StoredSessionNotUsable(RotationInvariantError):
    """The store is empty, or holds a session Toggl no longer accepts."""


class TooManyLiveSessions(RotationInvariantError):
    """More than one session besides the stored one is live right after a faulted run."""


class UnlistedLiveSession(RotationInvariantError):
    """A live session besides the stored one is not listed for deletion (and is no known orphan).

    Nothing will ever delete it: it stays valid until it expires.
    """


class SessionLeaked(RotationInvariantError):
    """After a clean rotation a session other than the stored one (and not a known orphan) is live."""


class StaleListNotEmpty(RotationInvariantError):
    """After a clean rotation the store still lists old sessions for deletion."""


@dataclass
class Violations:
    """Broken invariants, in the order they were seen."""

    found: list[RotationInvariantError] = field(default_factory=list)

    def add(self, error: RotationInvariantError) -> None:
        self.found.append(error)

    def raise_first(self) -> None:
        if self.found:
            raise self.found[0]

    def names(self) -> str:
        return ", ".join(sorted({type(error).__name__ for error in self.found})) or "-"


# -- Variable backends -------------------------------------------------------------------------


class VariableWriteError(RuntimeError):
    """The Variable backend refused a write (the stand-in for a metadata database or API failure)."""


class VariableReadError(RuntimeError):
    """The Variable backend failed a read."""


class FaultyVariables:
    """A thread-safe in-memory Variable table whose next write or read can be made to fail.

    ``refuse_next_set()`` fails the next write without applying it; ``refuse_next_set(applied=True)``
    applies it and then fails, as a database whose commit landed but whose answer was lost;
    ``fail_read_after_next_set()`` lets the next write through and fails the read that follows it;
    ``fail_read(nth)`` fails the ``nth`` read from now (1: the next one).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, str] = {}
        self._set_fault: str | None = None
        self._read_fault_armed = False
        self._read_fault_live = False
        self._reads_until_fault = 0
        self.writes = 0

    def get(self, key: str) -> str | None:
        with self._lock:
            if self._reads_until_fault:
                self._reads_until_fault -= 1
                self._read_fault_live = self._read_fault_live or not self._reads_until_fault
            if self._read_fault_live:
                self._read_fault_live = False
                raise VariableReadError(f"reading Variable {key} failed")
            return self._data.get(key)

    def set(self, key: str, value: str) -> None:
        with self._lock:
            fault, self._set_fault = self._set_fault, None
            if fault == "refused":
                raise VariableWriteError(f"writing Variable {key} was refused")
            self._data[key] = value
            self.writes += 1
            if self._read_fault_armed:
                self._read_fault_armed, self._read_fault_live = False, True
            if fault == "applied":
                raise VariableWriteError(f"writing Variable {key} failed after it was applied")

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def refuse_next_set(self, *, applied: bool = False) -> None:
        with self._lock:
            self._set_fault = "applied" if applied else "refused"

    def fail_read_after_next_set(self) -> None:
        with self._lock:
            self._read_fault_armed = True

    def fail_read(self, nth: int = 1) -> None:
        with self._lock:
            self._reads_until_fault = nth

    def clear_faults(self) -> None:
        with self._lock:
            self._set_fault = None
            self._read_fault_armed = self._read_fault_live = False
            self._reads_until_fault = 0


def route_sdk_variables(monkeypatch: pytest.MonkeyPatch, backend: Any) -> None:
    """Send ``airflow.sdk.Variable`` get/set/delete to ``backend`` for this test.

    The operator's store and ``TogglHook(auth_mode="session")`` then use ``backend`` through the
    unmodified ``AirflowVariables`` adapter, as they would use the Variable table in a task.
    """
    from airflow.sdk import Variable
    from airflow.sdk.definitions._internal.types import NOTSET

    def get(cls: Any, key: str, default: Any = NOTSET, deserialize_json: bool = False) -> Any:
        value = backend.get(key)
        if value is None:
            if default is NOTSET:
                raise KeyError(key)
            return default
        return value

    def set_(
        cls: Any, key: str, value: Any, description: str | None = None, serialize_json: bool = False
    ) -> None:
        backend.set(key, str(value))

    def delete(cls: Any, key: str) -> None:
        backend.delete(key)

    monkeypatch.setattr(Variable, "get", classmethod(get))
    monkeypatch.setattr(Variable, "set", classmethod(set_))
    monkeypatch.setattr(Variable, "delete", classmethod(delete))


# -- what Toggl and the store hold -------------------------------------------------------------


@dataclass(frozen=True)
class Census:
    """The store and the emulator's live sessions at one moment."""

    stored: StoredSession | None
    live: dict[str, str]  # cookie -> jti, sessions Toggl accepts now

    @property
    def stored_cookie(self) -> str | None:
        return None if self.stored is None else self.stored.session.cookie

    @property
    def stored_is_live(self) -> bool:
        return self.stored_cookie is not None and self.stored_cookie in self.live

    @property
    def extra(self) -> set[str]:
        """Cookies of live sessions other than the stored one."""
        return set(self.live) - {self.stored_cookie}

    @property
    def stale(self) -> int:
        return 0 if self.stored is None else len(self.stored.stale)


def take_census(emulator: TogglEmulator, email: str, store: SessionStore) -> Census:
    live = {s["cookie"]: s["jti"] for s in emulator.live_sessions(email, include_cookies=True)}
    return Census(stored=store.load(), live=live)


def issued_cookies(emulator: TogglEmulator, email: str) -> set[str]:
    return {s["cookie"] for s in emulator.issued_sessions(email)}


def check_usable(
    census: Census, emulator: TogglEmulator, conn_id: str, user_id: int, violations: Violations
) -> None:
    """The stored session is live on the emulator and ``/me`` through the hook in session mode works."""
    if census.stored is None:
        violations.add(StoredSessionNotUsable("the store is empty"))
        return
    if not emulator.is_session_live(census.stored.session.cookie):
        violations.add(StoredSessionNotUsable("the emulator refuses the stored session"))
        return
    me = TogglHook(conn_id, auth_mode="session").get_me()
    if me.get("id") != user_id:
        violations.add(StoredSessionNotUsable(f"/me with the stored session is user {me.get('id')}"))


def check_at_most_one_extra(census: Census, violations: Violations) -> None:
    if len(census.extra) > 1:
        violations.add(TooManyLiveSessions(f"{len(census.extra)} live sessions besides the stored one"))


def check_listed(census: Census, orphans: Iterable[str], violations: Violations) -> None:
    """Every live session besides the stored one is listed for deletion, or is a known orphan."""
    listed = {s.cookie for s in census.stored.stale} if census.stored is not None else set()
    unlisted = census.extra - listed - set(orphans)
    if unlisted:
        violations.add(UnlistedLiveSession(f"{len(unlisted)} live session(s) recorded nowhere"))


def check_converged(census: Census, orphans: Iterable[str], violations: Violations) -> None:
    """Only the stored session is live (besides ``orphans``), and nothing is left to delete."""
    unexplained = census.extra - set(orphans)
    if unexplained:
        violations.add(SessionLeaked(f"{len(unexplained)} live session(s) besides the stored one"))
    if census.stale:
        violations.add(StaleListNotEmpty(f"{census.stale} session(s) still listed for deletion"))


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    unless: Callable[[], bool] | None = None,
    interval: float = 0.05,
) -> float:
    """Poll ``condition``; return the time it became true (``time.monotonic``).

    Fails after ``timeout``, or as soon as ``unless`` is true (say, the process it waits on ended).
    """
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return time.monotonic()
        if unless is not None and unless():
            raise AssertionError(f"gave up waiting for {what}: the process ended")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def requests_to(emulator: TogglEmulator, key: str) -> int:
    """How many requests ``"METHOD /path"`` reached the emulator so far."""
    return int(emulator.counters()["requests"].get(key, 0))


# -- ``airflow tasks test`` in a subprocess ------------------------------------------------------

ROTATE_TASK = ("tasks", "test", "toggl_session_rotation", "rotate_session")


@dataclass
class TaskProcess:
    """One ``airflow tasks test`` run in its own process group, its output in a file."""

    process: subprocess.Popen[bytes]
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the run's whole process group (the group this test created for it)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    @property
    def succeeded(self) -> bool:
        """Whether the task instance ended in success (``tasks test`` exits 0 on a failed task too)."""
        return self.process.returncode == 0 and "new_state=success" in self.text()

    @property
    def ended(self) -> bool:
        return self.process.poll() is not None

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"airflow tasks test still running after {timeout:.0f}s") from None


def start_rotate_task(env: dict[str, str], output: Path, logical_date: datetime) -> TaskProcess:
    """Start ``airflow tasks test toggl_session_rotation rotate_session <logical_date>``.

    Each concurrent run needs its own logical date: two ``tasks test`` runs without one share the
    temporary DAG run and trip over each other in the metadata database. The same date again is
    the same DAG run, as a retry of the task would be.
    """
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [AIRFLOW, *ROTATE_TASK, logical_date.isoformat()],
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return TaskProcess(process, output)


@contextmanager
def running_tasks(*tasks: TaskProcess) -> Iterator[None]:
    """Kill any of ``tasks`` still running when the block ends (a failed assertion, a timeout)."""
    try:
        yield
    finally:
        for task in tasks:
            task.kill()


# -- the figures -------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the printed table."""

    step: str
    fault: str
    faulted_run: str
    after_fault: str
    after_retry: str
    after_next: str
    verdict: str


@dataclass
class Report:
    """Rows collected by the tests of one module, printed at its end (visible with ``-s``)."""

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def render(self) -> str:
        header = Row(
            "step",
            "fault",
            "faulted run",
            "after fault: live / extra / stale",
            "after retry",
            "after next rotation",
            "broken invariants",
        )
        columns = [header, *self.rows]
        widths = [max(len(getattr(row, name)) for row in columns) for name in Row.__dataclass_fields__]

        def line(row: Row) -> str:
            cells = [
                getattr(row, name).ljust(width)
                for name, width in zip(Row.__dataclass_fields__, widths, strict=True)
            ]
            return "| " + " | ".join(cells) + " |"

        rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
        return "\n".join([self.title, line(header), rule, *map(line, self.rows), *self.notes])


def census_cell(census: Census) -> str:
    """``live / extra / stale`` of a census, e.g. ``2 / 1 / 1``."""
    cell = f"{len(census.live)} / {len(census.extra)} / {census.stale}"
    return cell if census.stored_is_live else cell + " (stored one dead)"


def session_of(cookie: str) -> TogglSession:
    return TogglSession.from_cookie(cookie)
