"""An account's last request as the whole host knows it, so pacing holds across task processes.

Each Airflow task is a new process whose :class:`~airflow_toggl.client.limits.Pacer` starts knowing
nothing: with a one-slot pool, the next task's first request could follow the previous task's last
one within the pacing interval, and Toggl's leaky bucket answers 429. :class:`HostLedger` keeps the
time an account's last request ended in a small file under the temporary directory, named by a
digest of the account and the API's address (never a secret), read and written under an exclusive
lock, so every process of the host takes its turn after it. Where the file cannot be used, a
process's first request waits one interval instead.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on this platform: each process knows only its own requests
    fcntl = None  # type: ignore[assignment]


def ledger_directory() -> Path:
    """Where the ledgers live: one private folder per OS user under the temporary directory."""
    return Path(tempfile.gettempdir()) / f"airflow-toggl-pace-{os.getuid() if hasattr(os, 'getuid') else 0}"


def _private(directory: Path) -> bool:
    """Whether ``directory`` is this OS user's and nobody else may write in it: in a shared
    temporary directory, another user's folder could hold a link that turns the ledger's write
    into truncating one of our files."""
    status = directory.stat()
    return status.st_uid == os.getuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


class HostLedger:
    """The end of an account's latest request, shared by the processes of one host through a file."""

    def __init__(self, key: str, directory: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        self.path = (directory or ledger_directory()) / digest
        self._clock = clock
        self._folder_checked = False

    @contextmanager
    def turn(self) -> Iterator[float | None]:
        """Hold the host's turn of the account: yields seconds since its last request ended (infinite:
        none yet; None: the file cannot be used); the end of the request inside is recorded."""
        descriptor = self._open_locked()
        if descriptor is None:
            yield None
            return
        try:
            yield self._since(descriptor)
        finally:  # a request that failed may still have reached Toggl: its end counts too
            self._record(descriptor)
            os.close(descriptor)  # closing releases the lock

    def _open_locked(self) -> int | None:
        """The ledger's file, open and exclusively locked; None when it cannot be (no fcntl, no
        writable directory, a file system without locks)."""
        if fcntl is None:
            return None
        try:
            if not self._folder_checked:  # once per ledger, not per request
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                if not _private(self.path.parent):
                    return None
                self._folder_checked = True
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError:
            self._folder_checked = False  # e.g. the folder was cleaned away: make and check it again next time
            return None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError:
            os.close(descriptor)
            return None
        return descriptor

    def _since(self, descriptor: int) -> float | None:
        try:
            text = os.pread(descriptor, 64, 0).decode()
            last = float(text) if text else -math.inf
        except (OSError, ValueError):
            return None
        if math.isnan(last) or last == math.inf:
            return None
        return max(0.0, self._clock() - last)  # a clock stepped back reads as "just now"

    def _record(self, descriptor: int) -> None:
        text = repr(self._clock()).encode()
        try:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, text, 0)
        except OSError:
            pass
