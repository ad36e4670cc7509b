"""Tools for the secret-leak tests: the secrets to look for, what to read, and a tally of both.

* :class:`SecretBook` holds every secret value a test produced or met, by name. Besides the raw
  values it holds the base64 part of each ``Authorization: Basic`` header they make, since a
  leaked header shows that and not the password.
* :class:`Ledger` runs :func:`devkit.airflow_cluster.find_leaks` over a batch of texts and
  records how much it read and what it found, so the module can print real totals.
* :func:`capture_logs` collects Python log records (DEBUG and up) of the given logger trees with
  a plain handler: no Airflow masking, so what it sees is what the code emitted.
* :func:`exception_texts` renders an exception every way it leaves a process: ``str``, ``repr``,
  the standard traceback (with chained causes), structlog's dict traceback (what Airflow's JSON
  task logs hold) and a pickle round trip (how errors cross process boundaries).
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import traceback
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from structlog.tracebacks import ExceptionDictTransformer

from airflow_toggl.client.session import TogglSession
from airflow_toggl.emulator.server import TogglEmulator
from airflow_toggl.exceptions import TogglError
from airflow_toggl.hooks.toggl import TogglHook
from devkit.airflow import ROOT, toggl_connection
from devkit.airflow_cluster import AirflowCluster, Leak, basic_credentials, find_leaks, redact

PRODUCT_LOGGERS = ("airflow_toggl", "urllib3", "requests")
"""Logger trees the in-process tests capture at DEBUG."""

BASIC_PREFIX = "Basic header of "
FRAGMENT = 16
"""Length of the head and tail of each secret that are searched for on their own."""


def me_over_the_wire(base_url: str, api_token: str) -> dict[str, Any]:
    """``/me`` as the server answers it, read without the client under test."""
    request = urllib.request.Request(
        f"{base_url}/api/v9/me",
        headers={"Authorization": f"Basic {basic_credentials(api_token, 'api_token')}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response))


class SecretBook:
    """Named secret values; a value is kept once, under the first name it was given."""

    def __init__(self) -> None:
        self._by_name: dict[str, str] = {}
        self.emails: set[str] = set()

    def add(self, name: str, value: object) -> None:
        """Remember ``value`` (ignored when empty or already known)."""
        if not isinstance(value, str) or not value or value in self._by_name.values():
            return
        key, number = name, 2
        while key in self._by_name:
            key, number = f"{name} ({number})", number + 1
        self._by_name[key] = value

    def add_password(self, email: str, password: str) -> None:
        """A password and the Basic header value ``email:password`` makes."""
        self.emails.add(email)
        self.add(f"password of {email}", password)
        self.add(f"{BASIC_PREFIX}{email}:password", basic_credentials(email, password))

    def add_api_token(self, email: str, token: str) -> None:
        """An API token and the Basic header value ``token:api_token`` makes."""
        self.emails.add(email)
        self.add(f"api_token of {email}", token)
        self.add(f"{BASIC_PREFIX}{email}'s api_token", basic_credentials(token, "api_token"))

    def add_user(self, emulator: Any, user: Mapping[str, Any]) -> None:
        """A user's password, API token and ``intercom_hash`` (read from ``/me`` over the wire)."""
        self.add_password(user["email"], user["password"])
        self.add_api_token(user["email"], user["api_token"])
        if not emulator.tls:
            me = me_over_the_wire(emulator.url, user["api_token"])
            self.add(f"intercom_hash of {user['email']}", me["intercom_hash"])

    def harvest(self, emulator: Any) -> None:
        """Everything the emulator issued: every session cookie, reset code, password and token."""
        for session in emulator.issued_sessions():
            self.add(f"session cookie {session['jti'][:8]} of {session['email']}", session["cookie"])
        for email in sorted(self.emails):
            record = emulator.user(email)
            if record is not None:
                self.add_password(email, record["password"])
                self.add_api_token(email, record["api_token"])
            for number, code in enumerate(emulator.outbox(email)):
                self.add(f"reset code #{number} of {email}", code)

    @property
    def values(self) -> dict[str, str]:
        """name -> value for :func:`find_leaks`: every secret, plus its first and last characters.

        A secret cut short (a message truncated to a length, a line wrapped) still shows its
        first or last :data:`FRAGMENT` characters; those are searched for as well, once per value.
        """
        needles = dict(self._by_name)
        seen = set(needles.values())
        for name, value in self._by_name.items():
            if len(value) <= FRAGMENT:
                continue
            for where, part in (("first", value[:FRAGMENT]), ("last", value[-FRAGMENT:])):
                if part not in seen:
                    seen.add(part)
                    needles[f"{name} [{where} {FRAGMENT} chars]"] = part
        return needles

    def raw_values(self) -> dict[str, str]:
        """The secrets themselves, without the Basic header values derived from them."""
        return {name: value for name, value in self._by_name.items() if not name.startswith(BASIC_PREFIX)}

    def names_of(self, *kinds: str) -> list[str]:
        """Names that start with one of ``kinds`` (e.g. ``"session cookie"``)."""
        return [name for name in self._by_name if name.startswith(kinds)]

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by its name (for failure messages)."""
        return redact(text, self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


@dataclass(frozen=True)
class ScanRecord:
    """One scan: what was read (``unit`` tells what a source is) and how many secrets were found."""

    phase: str
    unit: str
    sources: int
    lines: int
    chars: int
    secrets: int
    hits: int


class Ledger:
    """Runs scans and keeps a record of each, for the module's closing report."""

    def __init__(self) -> None:
        self.records: list[ScanRecord] = []

    def scan(
        self, phase: str, sources: Iterable[tuple[str, str]], book: SecretBook, *, unit: str = "texts"
    ) -> list[Leak]:
        """Every place a secret of ``book`` occurs in ``sources``; the scan is recorded under ``phase``."""
        batch = [(where, text) for where, text in sources]
        leaks = _without_echoes(find_leaks(batch, book.values))
        self.records.append(
            ScanRecord(
                phase=phase,
                unit=unit,
                sources=len(batch),
                lines=sum(len(text.splitlines()) for _, text in batch),
                chars=sum(len(text) for _, text in batch),
                secrets=len(book),
                hits=len(leaks),
            )
        )
        return leaks

    def report(self) -> str:
        """A table of the scans, merged per phase and unit, with a total line."""
        merged: dict[tuple[str, str], list[int]] = {}
        for record in self.records:
            row = merged.setdefault((record.phase, record.unit), [0, 0, 0, 0, 0, 0])
            row[0] += 1
            row[1] += record.sources
            row[2] += record.lines
            row[3] += record.chars
            row[4] = max(row[4], record.secrets)
            row[5] += record.hits
        header = ("phase", "scans", "sources", "lines", "chars", "secrets", "hits")
        rows = [
            (phase, str(s), f"{n} {unit}", str(li), str(c), str(k), str(h))
            for (phase, unit), (s, n, li, c, k, h) in merged.items()
        ]
        totals = [sum(row[i] for row in merged.values()) for i in range(6)]
        rows.append(
            (
                "total",
                str(totals[0]),
                f"{totals[1]} sources",
                str(totals[2]),
                str(totals[3]),
                "",
                str(totals[5]),
            )
        )
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])


def _without_echoes(leaks: list[Leak]) -> list[Leak]:
    """Drop a fragment's hit where the whole secret it comes from was found too."""
    whole = {(leak.secret_name, leak.where) for leak in leaks if " chars]" not in leak.secret_name}
    return [
        leak
        for leak in leaks
        if " chars]" not in leak.secret_name or (leak.secret_name.rsplit(" [", 1)[0], leak.where) not in whole
    ]


def assert_no_leaks(leaks: list[Leak]) -> None:
    """Fail naming every (secret, place) pair; the values themselves are never printed."""
    leaks = _without_echoes(leaks)
    assert not leaks, f"{len(leaks)} secret(s) found:\n" + "\n".join(str(leak) for leak in leaks)


class LogCapture(logging.Handler):
    """A plain handler keeping ``(logger name, formatted record)``, exception text included."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s [%(name)s] %(message)s"))
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, self.format(record)))

    def texts(self, label: str) -> list[tuple[str, str]]:
        """``(where, text)`` per record, for a scan."""
        return [(f"{label} log record {n} [{name}]", text) for n, (name, text) in enumerate(self.records)]

    def of(self, prefix: str) -> list[str]:
        """The records of one logger tree."""
        return [text for name, text in self.records if name == prefix or name.startswith(prefix + ".")]


@contextmanager
def capture_logs(prefixes: Iterable[str] = PRODUCT_LOGGERS) -> Iterator[LogCapture]:
    """Capture every record of the ``prefixes`` logger trees at DEBUG (and anything else reaching root).

    Levels, ``propagate`` and ``disabled`` of the matching loggers are forced for the duration and
    restored afterwards, so an earlier logging configuration cannot hide a record.
    """
    prefixes = tuple(prefixes)
    handler = LogCapture()
    root = logging.getLogger()
    saved: dict[str, tuple[int, bool, bool]] = {}
    names = [name for name in list(logging.root.manager.loggerDict) if name.startswith(prefixes)]
    for name in {*names, *prefixes}:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate, logger.disabled)
        logger.setLevel(logging.DEBUG if name in prefixes else logging.NOTSET)
        logger.propagate = True
        logger.disabled = False
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, (level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


def exception_texts(error: BaseException, label: str) -> list[tuple[str, str]]:
    """``(where, text)`` for each way ``error`` can be shown, logged or shipped to another process."""
    structlog_frames = ExceptionDictTransformer(show_locals=False, use_rich=False)(
        (type(error), error, error.__traceback__)
    )
    pickled = pickle.dumps(error)
    copy = pickle.loads(pickled)  # noqa: S301 - bytes made two lines above
    rendered = {
        "str": str(error),
        "repr": repr(error),
        "traceback": "".join(traceback.format_exception(error)),
        "structlog dict traceback": json.dumps(structlog_frames, default=str),
        "pickle bytes": pickled.decode("latin-1"),
        "unpickled str": str(copy),
        "unpickled repr": repr(copy),
        "unpickled traceback": "".join(traceback.format_exception(copy)),
    }
    return [(f"{label}: {how}", text) for how, text in rendered.items()]


__all__ = [
    "PRODUCT_LOGGERS",
    "Ledger",
    "LogCapture",
    "ScanRecord",
    "SecretBook",
    "assert_no_leaks",
    "capture_logs",
    "exception_texts",
    "me_over_the_wire",
]


# -- the leak suites' accounts, and a bench of hooks over them -------------------------------------

DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
ROTATION = "toggl_session_rotation"
LIFECYCLE = "toggl_session_lifecycle"
STORE_KEY = "toggl_session_secret__toggl_default"
TOKEN_VARIABLE = "toggl_api_token_secret__toggl_default"
RESET_CODE_VARIABLE = "toggl_password_reset_code_secret"  # read by the confirm DAG, deleted after use
CHECKED_TABLES = ("xcom", "rendered_task_instance_fields", "variable")
SESSION_TTL = 3 * 24 * 3600  # under the rotation DAG's 7 days: every rotation replaces the session
LOGGER_OF_LINE = re.compile(r"\[([A-Za-z_][\w.]*)\]\s+loc=")

DAGS_EMAIL = "leakscan-dags@example.com"
DAGS_PASSWORD = "pwDagsScan-Kq4vX8nT2"
DAGS_NEW_PASSWORD = "pwAfterReset-Zr6mW3pL"
DAGS_TOKEN = "5ec7e75dac0ffee05ec7e75dac0ffee0"
CLUSTER_EMAIL = "leakscan-scheduler@example.com"
CLUSTER_PASSWORD = "pwSchedScan-Hy5cN1bV7"
CLUSTER_TOKEN = "c1a55e7c1a55e7c1a55e7c1a55e7c1a5"
HOOK_EMAIL = "leakscan-hook@example.com"
HOOK_PASSWORD = "pwHookScan-Tg8dF2sJ4"
HOOK_NEW_PASSWORD = "pwHookReset-Wc3nB9xQ6"
HOOK_TOKEN = "b00c5ca7b00c5ca7b00c5ca7b00c5ca7"
SIGNUP_EMAIL = "leakscan-signup@example.com"
SIGNUP_PASSWORD = "pwSignupScan-Jm2kR7vY5"
OTHER_EMAIL = "leakscan-other@example.com"
OTHER_PASSWORD = "pwOtherScan-Lp9sD4hG1"
WRONG_TOKEN = "0bad70c3e0bad70c3e0bad70c3e0bad7"
WRONG_PASSWORD = "pwMistyped-Ux5qE8tA3"

DAGS_TEST_RUNS: tuple[tuple[str, str], ...] = (
    ("credentials health", "toggl_credentials_health"),
    ("session lifecycle", LIFECYCLE),
    ("session rotation, first run", ROTATION),
    ("session rotation, second run", ROTATION),
    ("password reset request", "toggl_password_reset_request"),
    ("password reset confirm", "toggl_password_reset_confirm"),
    ("weekly export", "toggl_export_time_entries"),
    ("API token reset", "toggl_api_token_reset"),
)


def request_reset_code(emulator: TogglEmulator, email: str) -> str:
    """Have the emulator mail a reset code (without the code under test) and return it."""
    request = urllib.request.Request(
        f"{emulator.url}/api/me/password_reset/request",
        data=json.dumps({"email": email}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
    return emulator.outbox(email)[-1]


def other_tables(home: AirflowCluster) -> list[str]:
    """Every table of the metadata DB but the three checked on their own."""
    rows = home.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [row["name"] for row in rows if row["name"] not in CHECKED_TABLES]


class Bench:
    """An emulator with one user, and hooks over connections set in the environment."""

    def __init__(
        self, factory: Callable[..., TogglEmulator], monkeypatch: pytest.MonkeyPatch, book: SecretBook
    ) -> None:
        self.factory = factory
        self.monkeypatch = monkeypatch
        self.book = book
        self.emulator = factory(cookie_style="no-eyj")
        self.user = self.emulator.add_user(
            HOOK_EMAIL, HOOK_PASSWORD, api_token=HOOK_TOKEN, fullname="Leak Scan"
        )
        book.add_user(self.emulator, self.user)
        self._connections = 0

    def hook(
        self,
        *,
        emulator: TogglEmulator | None = None,
        user: dict[str, Any] | None = None,
        auth_mode: str | None = None,
        session_cookie: str | None = None,
        **extra: Any,
    ) -> TogglHook:
        """A hook over a fresh connection (``extra`` overrides the connection's extras)."""
        self._connections += 1
        conn_id = f"toggl_bench_{self._connections}"
        connection = toggl_connection(emulator or self.emulator, user or self.user, **extra)
        self.monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        return TogglHook(conn_id, auth_mode=auth_mode, session_cookie=session_cookie)

    def session(self) -> TogglSession:
        """A live session of the bench user, issued without a request."""
        return TogglSession.from_cookie(self.emulator.issue_session(HOOK_EMAIL))

    def reset_code(self) -> str:
        return request_reset_code(self.emulator, HOOK_EMAIL)


def provoke(case_run: Callable[[], Any]) -> TogglError:
    try:
        case_run()
    except TogglError as error:
        return error
    raise AssertionError("no TogglError was raised")


def scan_error(error: BaseException, label: str, logs: Any, book: SecretBook, ledger: Ledger) -> list[Leak]:
    """Leaks in the error's renderings and in the records logged meanwhile."""
    records = dict(logs.texts(label))
    leaks = ledger.scan("errors: str, repr, tracebacks, pickle", exception_texts(error, label), book)
    return leaks + ledger.scan("errors: log records on the way", records.items(), book, unit="records")
