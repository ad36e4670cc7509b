"""Asserting that an operator failed for good: Airflow's ``AirflowFailException`` caused by a given Toggl error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

import pytest

from airflow_toggl._compat import AirflowFailException

E = TypeVar("E", bound=BaseException)


class Caught(Generic[E]):
    """The Toggl error behind the final failure, once the block has raised (as ``pytest.raises``' ``value``)."""

    value: E


@contextmanager
def fails_for_good(expected: type[E], match: str | None = None) -> Iterator[Caught[E]]:
    """The block must raise ``AirflowFailException`` (no retry) whose cause is an ``expected`` error."""
    caught: Caught[E] = Caught()
    with pytest.raises(AirflowFailException) as info:
        yield caught
    cause = info.value.__cause__
    assert isinstance(cause, expected), f"caused by {cause!r}, not {expected.__name__}"
    if match is not None:
        assert re.search(match, str(cause)), f"{match!r} not in {str(cause)!r}"
    caught.value = cause
