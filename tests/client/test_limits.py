"""Quota header parsing and client-side pacing."""

from __future__ import annotations

import pytest

from airflow_toggl.client.limits import Pacer, Quota, parse_quota


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Toggl-Quota-Remaining": "29", "X-Toggl-Quota-Resets-In": "3540"}, Quota(29, 3540.0)),
        ({"X-Toggl-Quota-Remaining": "0"}, Quota(0, None)),
        ({"X-Toggl-Quota-Resets-In": "12.5"}, Quota(None, 12.5)),
        ({"X-Toggl-Quota-Remaining": "-1", "X-Toggl-Quota-Resets-In": "nan"}, None),
        ({"X-Toggl-Quota-Remaining": "many", "X-Toggl-Quota-Resets-In": "inf"}, None),
        ({}, None),
    ],
)
def test_parse_quota(headers: dict[str, str], expected: Quota | None) -> None:
    assert parse_quota(headers) == expected


def test_pacer_spaces_requests() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(2.0, clock=lambda: now[0])
    for _ in range(4):
        pacer.wait(sleep)
    assert slept == [0.5, 0.5, 0.5]


def test_pacer_off_never_sleeps() -> None:
    pacer = Pacer(0)
    assert pacer.wait(lambda s: pytest.fail("slept")) == 0.0
