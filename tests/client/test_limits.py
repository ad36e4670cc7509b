"""Quota header parsing and client-side pacing."""

from __future__ import annotations

import itertools
import threading
import time as time_module

import pytest

from airflow_toggl.client.limits import (
    PACING_MARGIN,
    Pacer,
    Quota,
    account_key,
    pacing_interval,
    parse_quota,
    shared_pacer,
)


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


class FakeTime:
    """A clock and a sleep that moves it: pacing tests take no wall time."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_counts_the_interval_from_the_end_of_the_previous_request() -> None:
    time = FakeTime()
    pacer = Pacer(clock=time.clock)
    starts: list[float] = []
    for _ in range(3):
        with pacer.turn(1.0, time.sleep):
            starts.append(time.now)
            time.now += 0.25  # the request takes a quarter second
    assert starts == [100.0, 101.25, 102.5]
    assert time.slept == [1.0, 1.0]


def test_pacer_does_not_wait_when_the_interval_has_already_passed() -> None:
    time = FakeTime()
    pacer = Pacer(clock=time.clock)
    with pacer.turn(1.0, time.sleep):
        pass
    time.now += 5
    with pacer.turn(1.0, time.sleep) as waited:
        assert waited == 0.0
    assert pacer.delay(1.0) == 1.0
    assert time.slept == []


def test_a_failed_request_still_ends_the_turn() -> None:
    time = FakeTime()
    pacer = Pacer(clock=time.clock)

    def failing_request() -> None:
        with pacer.turn(1.0, time.sleep):
            time.now += 0.5
            raise ConnectionError

    with pytest.raises(ConnectionError):
        failing_request()
    assert pacer.delay(1.0) == 1.0


def test_threads_take_turns_and_each_starts_a_full_interval_after_the_previous_end() -> None:
    pacer = Pacer()
    interval = 0.05
    spans: list[tuple[float, float]] = []

    def work() -> None:
        for _ in range(3):
            with pacer.turn(interval, time_module.sleep):
                start = time_module.monotonic()
                time_module.sleep(0.001)
                spans.append((start, time_module.monotonic()))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans.sort()
    assert len(spans) == 12
    gaps = [start - previous_end for (_, previous_end), (start, _) in itertools.pairwise(spans)]
    assert min(gaps) >= interval


def test_pacing_interval_keeps_a_margin_under_the_rate() -> None:
    assert pacing_interval(1.0) == pytest.approx(1.0 + PACING_MARGIN)
    assert 1.0 < pacing_interval(1.0) < 1.05
    assert pacing_interval(2.0) == pytest.approx((1.0 + PACING_MARGIN) / 2)
    assert pacing_interval(0) == 0.0


def test_account_keys_name_the_account_without_holding_the_credential() -> None:
    token = "0123456789abcdef0123456789abcdef"
    assert token not in account_key(token)
    assert account_key("Ada@Example.com") == account_key("ada@example.com ")
    assert account_key("ada@example.com") != account_key("bob@example.com")
    assert account_key(token) != account_key(token.upper())


def test_shared_pacer_is_one_per_account() -> None:
    ada, bob = account_key("ada-pacer@example.com"), account_key("bob-pacer@example.com")
    assert shared_pacer(ada) is shared_pacer(ada)
    assert shared_pacer(ada) is not shared_pacer(bob)
