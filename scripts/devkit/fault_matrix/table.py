"""The printed fault matrix: one line per case, and the policy table as the cases read it."""

from __future__ import annotations

from collections.abc import Sequence

from devkit.fault_matrix.cases import Case
from devkit.fault_matrix.policy import RETRIED, Row
from devkit.fault_matrix.run import Observation, mismatches
from devkit.tables import format_table

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


def policy_table() -> str:
    """The policy table as the cases read it: whether an attempt with each outcome is followed by another."""
    rows = [(row.value, *("yes" if retry else "no" for retry in RETRIED[row])) for row in Row]
    return format_table(rows, ("outcome of an attempt", "idempotent", "state-changing"))


def matrix_table(rows: Sequence[tuple[str, ...]]) -> str:
    """The matrix rows under :data:`HEADER`, a blank line between methods."""
    return format_table(rows, HEADER, group=True)
