"""The cases of the matrix (every method against every fault) and what the policy promises for each."""

from __future__ import annotations

import math
from dataclasses import dataclass

from devkit.fault_matrix.faults import FAULTS, Fault, Variant
from devkit.fault_matrix.methods import METHODS, Method
from devkit.fault_matrix.policy import MAX_RETRIES, OK, RETRIED, Detail, Outcome, Span


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
