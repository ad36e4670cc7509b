"""Running a case: arrange the method's state, inject the fault, call once, and compare with the promise."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_toggl.client import TogglAuth, TogglClient
from airflow_toggl.emulator import TogglEmulator
from devkit.fault_matrix.cases import Case, Expected
from devkit.fault_matrix.faults import Variant
from devkit.fault_matrix.methods import PASSWORD, Stage
from devkit.fault_matrix.policy import Outcome, client_settings


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
