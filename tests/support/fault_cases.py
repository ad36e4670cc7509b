"""The fault matrix: every client method against every network and HTTP fault.

Each case pairs one :class:`TogglClient` method with one fault injected into the emulator (or a
closed port) and says what the retry policy in ``docs/architecture.md`` promises: how many requests
reach Toggl, how long the client waits between them, and how the call ends. The expectation is
computed from :data:`RETRIED` (the policy table, row by row) and the client settings below; it is
never read back from the client's own code.

Shared by ``tests/faults/test_fault_matrix.py`` and ``scripts/fault_matrix.py``. It imports
neither pytest nor any test fixture, so the script can run it against an emulator it starts itself.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from enum import Enum
from typing import Any, Protocol

from airflow_toggl.client import ApiTokenAuth, TogglAuth, TogglClient, TogglSession
from airflow_toggl.emulator import TogglEmulator
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglConnectionError,
    TogglError,
    TogglPlanError,
    TogglQuotaExceededError,
    TogglRateLimitError,
    TogglResponseError,
)

# -- client settings of every matrix case ---------------------------------------------------------

MAX_RETRIES = 2  # so a fault on every request shows the cap: 3 requests
MAX_QUOTA_WAIT = 30.0  # longest in-process wait for a quota reset or a Retry-After
BACKOFF_CAP = 4.0  # longest single exponential backoff wait
NORMAL_TIMEOUT = 5.0
SHORT_TIMEOUT = 0.3  # the client timeout in the "slower than the timeout" cases...
SLOW_DELAY = 0.8  # ...where the emulator waits this long before answering
QUOTA_MARGIN = 2.0  # a quota wait may exceed the announced reset by at most this much

PASSWORD = "pw-Fault-Matrix-1"
NEW_PASSWORD = "pw-Fault-Matrix-2"
RESET_CONFIRM_PREFIX = "/api/me/password_reset/confirm/"
PROXY_429_PAGE = (
    "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n"
    "<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n</body>\r\n</html>\r\n"
)


def client_settings(
    url: str, *, timeout: float = NORMAL_TIMEOUT, max_retries: int = MAX_RETRIES
) -> dict[str, Any]:
    """The ``ClientConfig`` fields of a matrix client talking to ``url`` (pacing off)."""
    return {
        "track_api_url": url,
        "accounts_api_url": url,
        "timeout": timeout,
        "max_retries": max_retries,
        "max_quota_wait": MAX_QUOTA_WAIT,
        "backoff_cap": BACKOFF_CAP,
        "requests_per_second": 0,
    }


# -- the policy table ---------------------------------------------------------------------------


class Row(Enum):
    """The rows of the retry table in docs/architecture.md, and three cases it leaves implicit."""

    NOT_CONNECTED = "connection could not be opened"
    RATE_LIMITED = "429 (no Retry-After, or one within max_quota_wait)"
    RATE_LIMITED_TOO_LONG = "429 with a Retry-After beyond max_quota_wait"
    QUOTA_RESETS_SOON = "402 with quota headers, reset within max_quota_wait"
    QUOTA_RESETS_LATER = "402 with quota headers, reset beyond max_quota_wait"
    SERVER_ERROR = "500, 502, 503, 504"
    MAY_HAVE_ARRIVED = "read timeout, connection dropped after sending, truncated body"
    FINAL = "400, 401, 403, 404, 410, 402 without quota headers, other 4xx"
    UNUSABLE_BODY = "2xx whose body is not what the method reads"


#: Whether one more attempt follows, as (idempotent request, state-changing request).
RETRIED: dict[Row, tuple[bool, bool]] = {
    Row.NOT_CONNECTED: (True, True),
    Row.RATE_LIMITED: (True, True),
    # should_retry's docstring: a 429 asking for longer than the caller accepts to wait is final.
    Row.RATE_LIMITED_TOO_LONG: (False, False),
    Row.QUOTA_RESETS_SOON: (True, True),
    # The quota error carries resets_in so the caller can defer; it is not waited for in-process.
    Row.QUOTA_RESETS_LATER: (False, False),
    Row.SERVER_ERROR: (True, False),
    Row.MAY_HAVE_ARRIVED: (True, False),
    Row.FINAL: (False, False),
    # The answer was a success: the body is read after the retry loop and never re-requested.
    Row.UNUSABLE_BODY: (False, False),
}


@dataclass(frozen=True)
class Span:
    """An accepted range for a number of seconds (``low == high`` for an exact value)."""

    low: float
    high: float

    def __contains__(self, value: object) -> bool:
        return isinstance(value, (int, float)) and self.low - 1e-9 <= value <= self.high + 1e-9

    def __str__(self) -> str:
        return f"{self.low:g}" if self.low == self.high else f"{self.low:g}..{self.high:g}"


BACKOFF = Span(0.0, BACKOFF_CAP)


@dataclass(frozen=True)
class Detail:
    """An attribute the error must carry: ``span`` of seconds, or None when it must be None."""

    attribute: str
    span: Span | None


@dataclass(frozen=True)
class Outcome:
    """How a call ended: ``ok``, ``False`` (the method's documented answer to 403) or an error."""

    kind: str
    status: int | None = None
    reason: str | None = None

    @classmethod
    def of(cls, value: Any, error: BaseException | None) -> Outcome:
        if error is None:
            return FALSE if value is False else OK
        if isinstance(error, TogglConnectionError):
            return cls(type(error).__name__, reason=error.reason)
        return cls(type(error).__name__, status=getattr(error, "status_code", None))

    @classmethod
    def error(cls, error: type[TogglError], status: int | None = None, reason: str | None = None) -> Outcome:
        return cls(error.__name__, status, reason)

    def __str__(self) -> str:
        if self.reason is not None:
            return f"{self.kind} ({self.reason})"
        return self.kind if self.status is None else f"{self.kind} {self.status}"


OK = Outcome("ok")
FALSE = Outcome("False")


# -- faults ---------------------------------------------------------------------------------------


class Variant(Enum):
    """Which requests the fault hits: only the first one, or every one."""

    FIRST = "first"
    EVERY = "all"


BOTH = (Variant.FIRST, Variant.EVERY)
ONCE = (Variant.FIRST,)


@dataclass(frozen=True)
class Fault:
    """One fault, how the emulator produces it, and how the client must report it.

    ``action`` is the emulator's fault action; None means nothing listens on the client's port
    (connection refused). ``retry_after_in`` asks for a ``Retry-After`` HTTP date that many seconds
    after the fault is injected. ``process`` lets the emulator apply the request before the fault.
    """

    key: str
    label: str
    row: Row
    action: str | None
    outcome: Outcome
    wait: Span = BACKOFF
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    retry_after_in: float | None = None
    body: str | None = None
    delay: float = 0.0
    process: bool = False
    detail: Detail | None = None
    variants: tuple[Variant, ...] = BOTH

    @property
    def reaches_server(self) -> bool:
        return self.action is not None

    @property
    def client_timeout(self) -> float:
        return SHORT_TIMEOUT if self.delay else NORMAL_TIMEOUT

    def outcome_for(self, method: Method) -> Outcome:
        """How ``method`` ends when its last attempt meets this fault."""
        if self.outcome.kind == TogglAuthError.__name__ and method.false_on_403:
            return FALSE
        if self.row is Row.UNUSABLE_BODY and not method.parses_body:
            return OK
        return self.outcome

    def inject(self, emulator: TogglEmulator, http_method: str, path: str, count: int | None) -> None:
        """Arm this fault for the next ``count`` requests (None: every request) of ``path``."""
        assert self.action is not None
        headers = dict(self.headers)
        if self.retry_after_in is not None:
            headers["Retry-After"] = formatdate(time.time() + self.retry_after_in, usegmt=True)
        emulator.inject_fault(
            path,
            method=http_method,
            count=count,
            action=self.action,
            status=self.status,
            headers=headers,
            body=self.body,
            delay=self.delay,
            process=self.process,
        )


def _network(key: str, label: str, action: str | None, reason: str, **options: Any) -> Fault:
    """A fault on the wire: the client raises TogglConnectionError with ``reason``."""
    row = Row.NOT_CONNECTED if action is None else Row.MAY_HAVE_ARRIVED
    return Fault(key, label, row, action, Outcome.error(TogglConnectionError, reason=reason), **options)


def _status(status: int, row: Row, error: type[TogglError], variants: tuple[Variant, ...]) -> Fault:
    """A plain error status with the emulator's JSON error body."""
    outcome = Outcome.error(error, status)
    return Fault(str(status), str(status), row, "status", outcome, status=status, variants=variants)


def _rate_limited(
    key: str, label: str, retry_after: Span | None, *headers: tuple[str, str], **options: Any
) -> Fault:
    """A 429; the client must wait ``retry_after`` when given (exponential backoff when not)."""
    too_long = retry_after is not None and retry_after.low > MAX_QUOTA_WAIT
    return Fault(
        key,
        label,
        Row.RATE_LIMITED_TOO_LONG if too_long else Row.RATE_LIMITED,
        "status",
        Outcome.error(TogglRateLimitError, 429),
        retry_after or BACKOFF,
        status=429,
        headers=headers,
        detail=Detail("retry_after", retry_after),
        variants=ONCE if too_long else BOTH,
        **options,
    )


def _quota_used_up(resets_in: float) -> Fault:
    """A 402 with quota headers; within max_quota_wait the client waits for the reset, plus a margin."""
    soon = resets_in <= MAX_QUOTA_WAIT
    return Fault(
        "402-soon" if soon else "402-late",
        f"402, quota resets in {resets_in:g}s",
        Row.QUOTA_RESETS_SOON if soon else Row.QUOTA_RESETS_LATER,
        "status",
        Outcome.error(TogglQuotaExceededError, 402),
        Span(resets_in, resets_in + QUOTA_MARGIN),
        status=402,
        headers=(("X-Toggl-Quota-Remaining", "0"), ("X-Toggl-Quota-Resets-In", f"{resets_in:g}")),
        detail=Detail("resets_in", Span(resets_in, resets_in)),
        variants=BOTH if soon else ONCE,
    )


FAULTS: tuple[Fault, ...] = (
    _network("refused", "connection refused", None, "connect"),
    _network("drop", "dropped before the response", "drop", "dropped"),
    _network("mid", "dropped mid-response", "drop_mid_response", "dropped"),
    _network("truncate", "truncated body", "truncate", "dropped"),
    _network("slow", f"answer after {SLOW_DELAY:g}s > timeout", "delay", "timeout", delay=SLOW_DELAY),
    *(_status(status, Row.SERVER_ERROR, TogglAPIError, BOTH) for status in (500, 502, 503, 504)),
    _rate_limited("429-bare", "429, no Retry-After", None),
    _rate_limited("429-seconds", "429, Retry-After: 7", Span(7, 7), ("Retry-After", "7")),
    # An HTTP date has whole seconds and is read a moment after it is written: 9-10 s are left.
    _rate_limited("429-date", "429, Retry-After: date +10s", Span(8.5, 10), retry_after_in=10),
    _rate_limited("429-html", "429, HTML body", None, ("Content-Type", "text/html"), body=PROXY_429_PAGE),
    _rate_limited("429-long", "429, Retry-After: 120", Span(120, 120), ("Retry-After", "120")),
    _quota_used_up(5),
    _quota_used_up(1200),
    Fault(
        "402-plan",
        "402, no quota headers",
        Row.FINAL,
        "status",
        Outcome.error(TogglPlanError, 402),
        status=402,
        variants=ONCE,
    ),
    _status(403, Row.FINAL, TogglAuthError, ONCE),
    _status(404, Row.FINAL, TogglAPIError, ONCE),
    _status(410, Row.FINAL, TogglAPIError, ONCE),
    # The emulator applies the request, then answers 200 with a body cut inside a JSON object.
    Fault(
        "malformed",
        "malformed JSON (200)",
        Row.UNUSABLE_BODY,
        "malformed_json",
        Outcome.error(TogglResponseError, 200),
        process=True,
        variants=ONCE,
    ),
)

#: Used outside the matrix, by the hook cases (whose waits are real and must stay short).
RETRY_AFTER_ZERO = _rate_limited("429-zero", "429, Retry-After: 0", Span(0, 0), ("Retry-After", "0"))
FAULTS_BY_KEY: dict[str, Fault] = {fault.key: fault for fault in (*FAULTS, RETRY_AFTER_ZERO)}


# -- methods ----------------------------------------------------------------------------------------


@dataclass
class Stage:
    """What a method's set-up works with: the emulator that will answer, its user, a plain client."""

    emulator: TogglEmulator
    user: dict[str, Any]
    slug: str
    setup: TogglClient


@dataclass
class Prepared:
    """One call ready to run: the request path it sends, its credential, the call, and its check.

    ``check`` looks at a successful result (and at the emulator) and says what is wrong, if anything.
    """

    path: str
    auth: TogglAuth | None
    call: Callable[[TogglClient], Any]
    check: Callable[[Any], str | None]


@dataclass(frozen=True)
class Method:
    """A client method (each hook method is a one-line delegate of it) and what the policy needs of it."""

    name: str
    http_method: str
    path: str
    prepare: Callable[[Stage], Prepared]
    idempotent: bool = False  # the table's "state-changing" unless said otherwise
    parses_body: bool = False  # reads the JSON body (a malformed one is a TogglResponseError)
    false_on_403: bool = False  # answers a 403 with False instead of raising TogglAuthError

    @property
    def kind(self) -> str:
        return "idempotent" if self.idempotent else "state-changing"


def _expect(condition: bool, problem: str) -> str | None:
    return None if condition else problem


def _token_auth(stage: Stage) -> ApiTokenAuth:
    return ApiTokenAuth(stage.user["api_token"])


def _prepare_get_me(stage: Stage) -> Prepared:
    email = stage.user["email"]
    return Prepared(
        "/api/v9/me",
        _token_auth(stage),
        lambda client: client.get_me(),
        lambda me: _expect(isinstance(me, dict) and me.get("email") == email, f"/me is not {email}: {me!r}"),
    )


def _prepare_is_logged_in(stage: Stage) -> Prepared:
    return Prepared(
        "/api/v9/me/logged",
        _token_auth(stage),
        lambda client: client.is_logged_in(),
        lambda logged: _expect(logged is True, f"is_logged_in returned {logged!r}"),
    )


def _prepare_get_quota(stage: Stage) -> Prepared:
    return Prepared(
        "/api/v9/me/quota",
        _token_auth(stage),
        lambda client: client.get_quota(),
        lambda quota: _expect(isinstance(quota, list), f"quota is not a list: {quota!r}"),
    )


def _live_session(emulator: TogglEmulator, session: Any) -> bool:
    return isinstance(session, TogglSession) and emulator.is_session_live(session.cookie)


def _prepare_create_session(stage: Stage) -> Prepared:
    email, emulator = stage.user["email"], stage.emulator
    return Prepared(
        "/api/sessions",
        None,
        lambda client: client.create_session(email, PASSWORD),
        lambda session: _expect(_live_session(emulator, session), "no live session was returned"),
    )


def _prepare_delete_session(stage: Stage) -> Prepared:
    emulator = stage.emulator
    session = TogglSession.from_cookie(emulator.issue_session(stage.user["email"]))

    def check(deleted: Any) -> str | None:
        if deleted is not True:
            return f"delete_session returned {deleted!r}"
        return _expect(not emulator.is_session_live(session.cookie), "the session is still live")

    return Prepared("/api/sessions", None, lambda client: client.delete_session(session), check)


def _prepare_signup(stage: Stage) -> Prepared:
    emulator, email = stage.emulator, f"new-{stage.slug}@example.com"

    def check(session: Any) -> str | None:
        account = emulator.user(email)
        if account is None or account["closed"]:
            return "no open account was created"
        return _expect(_live_session(emulator, session), "signup returned no live session")

    return Prepared("/api/signup", None, lambda client: client.signup(email, PASSWORD, "New User"), check)


def _prepare_close_account(stage: Stage) -> Prepared:
    emulator, email = stage.emulator, stage.user["email"]
    session = TogglSession.from_cookie(emulator.issue_session(email))

    def check(result: Any) -> str | None:
        account = emulator.user(email) or {}
        return _expect(result is None and account.get("closed") is True, "the account is not closed")

    return Prepared("/api/me/close_account/track", None, lambda client: client.close_account(session), check)


def _prepare_request_password_reset(stage: Stage) -> Prepared:
    emulator, email = stage.emulator, stage.user["email"]

    def check(result: Any) -> str | None:
        mailed = len(emulator.outbox(email))
        return _expect(result is None and mailed == 1, f"{mailed} reset codes were mailed, not 1")

    return Prepared(
        "/api/me/password_reset/request",
        None,
        lambda client: client.request_password_reset(email),
        check,
    )


def _prepare_confirm_password_reset(stage: Stage) -> Prepared:
    emulator, email = stage.emulator, stage.user["email"]
    stage.setup.request_password_reset(email)
    code = emulator.outbox(email)[-1]

    def check(session: Any) -> str | None:
        if (emulator.user(email) or {}).get("password") != NEW_PASSWORD:
            return "the password was not changed"
        return _expect(_live_session(emulator, session), "no live session was returned")

    return Prepared(
        RESET_CONFIRM_PREFIX + code,
        None,
        lambda client: client.confirm_password_reset(code, NEW_PASSWORD),
        check,
    )


def _prepare_reset_api_token(stage: Stage, call: Callable[[TogglClient], Any] | None = None) -> Prepared:
    """``reset_api_token`` (or ``call``, the same reset by another road): the account's new token comes back."""
    emulator, email, old = stage.emulator, stage.user["email"], stage.user["api_token"]

    def check(token: Any) -> str | None:
        current = (emulator.user(email) or {}).get("api_token")
        return _expect(token == current and token != old, "the returned token is not the account's new token")

    return Prepared(
        "/api/v9/me/reset_token", _token_auth(stage), call or (lambda client: client.reset_api_token()), check
    )


def _prepare_request_get(stage: Stage) -> Prepared:
    workspace_id = stage.user["default_workspace_id"]

    def check(workspaces: Any) -> str | None:
        ids = [w.get("id") for w in workspaces] if isinstance(workspaces, list) else workspaces
        return _expect(ids == [workspace_id], f"the workspaces are not [{workspace_id}]: {ids!r}")

    return Prepared(
        "/api/v9/me/workspaces",
        _token_auth(stage),
        lambda client: client.request("GET", "/api/v9/me/workspaces"),
        check,
    )


def _prepare_request_post(stage: Stage) -> Prepared:
    return _prepare_reset_api_token(stage, lambda client: client.request("POST", "/api/v9/me/reset_token"))


_TRACK, _ACCOUNTS = "/api/v9/me", "/api/me"
METHODS: tuple[Method, ...] = (
    Method("get_me", "GET", _TRACK, _prepare_get_me, idempotent=True, parses_body=True),
    Method(
        "is_logged_in", "GET", f"{_TRACK}/logged", _prepare_is_logged_in, idempotent=True, false_on_403=True
    ),
    Method("get_quota", "GET", f"{_TRACK}/quota", _prepare_get_quota, idempotent=True, parses_body=True),
    Method("create_session", "POST", "/api/sessions", _prepare_create_session),
    Method(
        "delete_session",
        "DELETE",
        "/api/sessions",
        _prepare_delete_session,
        idempotent=True,
        false_on_403=True,
    ),
    Method("signup", "POST", "/api/signup", _prepare_signup),
    Method("close_account", "POST", f"{_ACCOUNTS}/close_account/track", _prepare_close_account),
    Method(
        "request_password_reset",
        "POST",
        f"{_ACCOUNTS}/password_reset/request",
        _prepare_request_password_reset,
    ),
    Method(
        "confirm_password_reset", "POST", f"{RESET_CONFIRM_PREFIX}<code>", _prepare_confirm_password_reset
    ),
    Method("reset_api_token", "POST", f"{_TRACK}/reset_token", _prepare_reset_api_token, parses_body=True),
    # The generic request, once with a method retried as idempotent and once with one that is not.
    Method(
        "request_get", "GET", f"{_TRACK}/workspaces", _prepare_request_get, idempotent=True, parses_body=True
    ),
    Method("request_post", "POST", f"{_TRACK}/reset_token", _prepare_request_post, parses_body=True),
)
METHODS_BY_NAME: dict[str, Method] = {method.name: method for method in METHODS}


# -- expectations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What the policy promises for one case."""

    attempts: int
    requests: int
    outcome: Outcome
    waits: tuple[Span, ...]
    detail: Detail | None


def expect(method: Method, fault: Fault, variant: Variant, max_retries: int = MAX_RETRIES) -> Expected:
    """The promised outcome, from the policy table alone.

    A fault that the table retries is met again until it stops (``FIRST``: after one request) or the
    attempts run out (``max_retries + 1``); one the table does not retry ends the call at once. Every
    retry is preceded by exactly one wait of the fault's kind. Refused connections never reach the
    emulator, so they are attempts but not requests.
    """
    retried = RETRIED[fault.row][0 if method.idempotent else 1]
    faulted = 1 if variant is Variant.FIRST else math.inf
    attempts = int(min(faulted + 1, max_retries + 1)) if retried else 1
    last_faulted = attempts <= faulted
    refused = 0 if fault.reaches_server else int(min(attempts, faulted))
    return Expected(
        attempts=attempts,
        requests=attempts - refused,
        outcome=fault.outcome_for(method) if last_faulted else OK,
        waits=(fault.wait,) * (attempts - 1),
        detail=fault.detail if last_faulted else None,
    )


@dataclass(frozen=True)
class Case:
    """One cell of the matrix."""

    method: Method
    fault: Fault
    variant: Variant

    @property
    def id(self) -> str:
        return f"{self.method.name}-{self.fault.key}-{self.variant.value}"

    @property
    def expected(self) -> Expected:
        return expect(self.method, self.fault, self.variant)

    @property
    def fault_count(self) -> int | None:
        """How many requests the emulator fault applies to (None: all of them)."""
        return 1 if self.variant is Variant.FIRST else None


#: Cases that do not yet behave as documented: case id -> the bug (the tests mark them strict xfail).
KNOWN_BUGS: dict[str, str] = {}

CASES: tuple[Case, ...] = tuple(
    Case(method, fault, variant) for method in METHODS for fault in FAULTS for variant in fault.variants
)


# -- running a case ---------------------------------------------------------------------------------


class RecordingSleep:
    """Stands in for ``time.sleep``: records each wait instead of waiting.

    ``at_first_wait`` runs once, at the next wait (a server coming back while the client backs off).
    """

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.at_first_wait: Callable[[], object] | None = None

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        action, self.at_first_wait = self.at_first_wait, None
        if action is not None:
            action()


class ClientFactory(Protocol):
    """Builds a client whose waits go to the bench's :class:`RecordingSleep`."""

    def __call__(self, auth: TogglAuth | None = None, **config: Any) -> TogglClient: ...


@dataclass
class Bench:
    """Where cases run: a running emulator, a client factory, the recorded sleeps, and a way to
    start a further emulator on a given port (its caller stops it)."""

    emulator: TogglEmulator
    make_client: ClientFactory
    sleep: RecordingSleep
    new_emulator: Callable[[int], TogglEmulator]


@dataclass
class Observation:
    """What happened: requests the emulator saw, waits (None when not recorded), how the call ended."""

    requests: int
    other_requests: int
    sleeps: list[float] | None
    outcome: Outcome
    value: Any = None
    error: BaseException | None = None
    problems: list[str] = field(default_factory=list)


def closed_port() -> int:
    """A loopback port nothing listens on (bound to find a free one, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def observe(
    call: Callable[[], Any],
    emulator: TogglEmulator,
    request_key: str,
    sleeps: list[float] | None,
    check: Callable[[Any], str | None] | None = None,
) -> Observation:
    """Run ``call`` and record what the emulator saw; ``check`` judges a successful result."""
    value: Any = None
    error: BaseException | None = None
    try:
        value = call()
    except Exception as exc:  # anything, so an untyped error shows up as a mismatch, not a crash
        error = exc
    counted = emulator.counters()["requests"]
    seen = int(counted.get(request_key, 0))
    observation = Observation(
        requests=seen,
        other_requests=sum(counted.values()) - seen,
        sleeps=None if sleeps is None else list(sleeps),
        outcome=Outcome.of(value, error),
        value=value,
        error=error,
    )
    if error is None and value is not False and check is not None:
        problem = check(value)
        if problem:
            observation.problems.append(problem)
    return observation


def run_case(case: Case, bench: Bench) -> Observation:
    """Arrange the method's state, inject the fault, call the method once, and observe."""
    method, fault = case.method, case.fault
    target = bench.emulator if fault.reaches_server else bench.new_emulator(closed_port())
    url = target.url
    user = target.add_user(f"{case.id}@example.com", PASSWORD)
    setup = bench.make_client(None, **client_settings(url, max_retries=0))
    prepared = method.prepare(Stage(target, user, case.id, setup))
    target.reset_counters()
    bench.sleep.calls.clear()
    if fault.reaches_server:
        fault.inject(target, method.http_method, prepared.path, case.fault_count)
    else:
        target.stop()
        if case.variant is Variant.FIRST:
            bench.sleep.at_first_wait = target.start
    client = bench.make_client(prepared.auth, **client_settings(url, timeout=fault.client_timeout))
    try:
        return observe(
            lambda: prepared.call(client),
            target,
            f"{method.http_method} {prepared.path}",
            bench.sleep.calls,
            prepared.check,
        )
    finally:
        bench.sleep.at_first_wait = None
        target.clear_faults()


def mismatches(expected: Expected, observed: Observation) -> list[str]:
    """Every way ``observed`` departs from ``expected``; empty when the case is as documented."""
    problems: list[str] = []
    if observed.outcome != expected.outcome:
        problems.append(f"ended {observed.outcome}, expected {expected.outcome}")
    if observed.requests != expected.requests:
        problems.append(f"{observed.requests} requests reached the emulator, expected {expected.requests}")
    if observed.other_requests:
        problems.append(f"{observed.other_requests} requests went to other paths")
    if observed.sleeps is not None:
        if len(observed.sleeps) != len(expected.waits):
            problems.append(f"{len(observed.sleeps)} waits, expected {len(expected.waits)}")
        for number, (slept, span) in enumerate(zip(observed.sleeps, expected.waits, strict=False), start=1):
            if slept not in span:
                problems.append(f"wait {number} was {slept:.3f}s, expected {span}s")
    detail = expected.detail
    if detail is not None and observed.error is not None:
        actual = getattr(observed.error, detail.attribute, None)
        as_documented = actual is None if detail.span is None else actual in detail.span
        if not as_documented:
            problems.append(f"{detail.attribute} is {actual!r}, expected {detail.span}")
    problems.extend(observed.problems)
    return problems


# -- the printed table ------------------------------------------------------------------------------

HEADER = ("method", "kind", "fault", "faulted", "requests", "waits (s)", "outcome", "as documented")


def table_row(case: Case, observed: Observation, known_bug: bool = False) -> tuple[str, ...]:
    """One line of the table: what was seen, and whether it is what the policy promises."""
    expected = case.expected
    problems = mismatches(expected, observed)
    requests = str(observed.requests)
    if observed.requests != expected.requests:
        requests += f" (want {expected.requests})"
    sleeps = "-" if not observed.sleeps else ", ".join(f"{seconds:.2f}" for seconds in observed.sleeps)
    outcome = str(observed.outcome)
    if observed.outcome != expected.outcome:
        outcome += f" (want {expected.outcome})"
    verdict = "yes" if not problems else ("NO (known bug)" if known_bug else "NO")
    return (
        case.method.name,
        case.method.kind,
        case.fault.label,
        case.variant.value,
        requests,
        sleeps,
        outcome,
        verdict,
    )


def format_table(
    rows: Sequence[tuple[str, ...]], header: Iterable[str] = HEADER, *, group: bool = True
) -> str:
    """Left-aligned columns under a ruled header; with ``group``, a blank line where column one changes."""
    header = tuple(header)
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    lines = [line(header), line(["-" * width for width in widths])]
    for number, row in enumerate(rows):
        if group and number and row[0] != rows[number - 1][0]:
            lines.append("")
        lines.append(line(row))
    return "\n".join(lines)


def policy_table() -> str:
    """The policy table as the cases read it: whether an attempt with each outcome is followed by another."""
    rows = [(row.value, *("yes" if retry else "no" for retry in RETRIED[row])) for row in Row]
    return format_table(rows, ("outcome of an attempt", "idempotent", "state-changing"), group=False)
