"""Retry-After: delay-seconds and HTTP dates are read; anything else is None, never an exception."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from airflow_toggl.client.limits import MAX_SERVER_DELAY
from airflow_toggl.client.retry import parse_retry_after
from tests.support.strategies import fuzz

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)

ows = st.sampled_from(["", " ", "\t", "  "])
# Four-digit years only: the email parser reads years below 100 as 19xx/20xx, as RFC 2822 asks.
aware_datetimes = st.datetimes(
    min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)
)
utc_offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


def _assert_usable(delay: float | None) -> None:
    assert delay is None or (isinstance(delay, float) and math.isfinite(delay) and delay >= 0)


@fuzz(500)
@given(st.text(max_size=100))
def test_arbitrary_text_never_raises(value: str) -> None:
    _assert_usable(parse_retry_after(value))
    _assert_usable(parse_retry_after(value, now=NOW))


@fuzz(100)
@given(
    st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=20), st.lists(st.text(), max_size=2))
)
def test_values_that_are_not_text_are_none(value: object) -> None:
    assert parse_retry_after(value) is None


@fuzz(300)
@given(
    st.one_of(
        st.text(
            alphabet="0123456789 ,:+-GMTUTCMonTueWedThuFriSatSunJanFebMarAprMayJunJulAugSepOctNovDec",
            max_size=40,
        ),
        st.from_regex(
            r"[A-Za-z]{3}, ?\d{1,3} [A-Za-z]{3} \d{1,5} \d{1,3}:\d{1,3}(:\d{1,3})? ?[A-Z+\-0-9]{0,6}",
            fullmatch=True,
        ),
    )
)
def test_date_like_text_never_raises(value: str) -> None:
    _assert_usable(parse_retry_after(value, now=NOW))


@fuzz(300)
@given(st.integers(min_value=0, max_value=10**40), ows, ows)
def test_delay_seconds_round_trip(seconds: int, before: str, after: str) -> None:
    text = f"{before}{seconds}{after}"
    if len(text) > 64:
        assert parse_retry_after(text) is None
        return
    assert parse_retry_after(text) == min(float(seconds), MAX_SERVER_DELAY)


@fuzz(200)
@given(st.text(alphabet="0123456789", min_size=1, max_size=64))
def test_digit_strings_with_leading_zeros(digits: str) -> None:
    assert parse_retry_after(digits) == min(float(int(digits)), MAX_SERVER_DELAY)


@fuzz(300)
@given(aware_datetimes)
def test_http_dates_give_the_delay(when: datetime) -> None:
    delay = parse_retry_after(format_datetime(when, usegmt=True), now=NOW)
    expected = min(max(0.0, (when - NOW).total_seconds()), MAX_SERVER_DELAY)
    assert delay is not None
    assert abs(delay - expected) <= 1.0


@fuzz(200)
@given(aware_datetimes, utc_offsets)
def test_dates_with_any_offset_give_the_delay(when: datetime, offset: timezone) -> None:
    local = when.astimezone(offset)
    delay = parse_retry_after(format_datetime(local), now=NOW)
    expected = min(max(0.0, (when - NOW).total_seconds()), MAX_SERVER_DELAY)
    assert delay is not None
    assert abs(delay - expected) <= 1.0


@fuzz(100)
@given(st.integers(min_value=0, max_value=30 * 86400))
def test_future_dates_near_now(seconds: int) -> None:
    when = NOW + timedelta(seconds=seconds)
    delay = parse_retry_after(format_datetime(when, usegmt=True), now=NOW)
    assert delay == min(float(seconds), MAX_SERVER_DELAY)
