"""Quota headers: any header values give None or a Quota of non-negative numbers."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from airflow_toggl.client.limits import (
    MAX_SERVER_DELAY,
    QUOTA_REMAINING_HEADER,
    QUOTA_RESETS_IN_HEADER,
    Quota,
    parse_quota,
)
from tests.support.strategies import fuzz

HEADER_NAMES = [
    QUOTA_REMAINING_HEADER,
    QUOTA_RESETS_IN_HEADER,
    QUOTA_REMAINING_HEADER.lower(),
    QUOTA_RESETS_IN_HEADER.upper(),
    "Retry-After",
    "Content-Type",
]

number_like = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats().map(lambda x: f"{x:.3e}"),
    st.sampled_from(
        ["-0", "-0.0", "+0", "0x10", "1_000", "1e999", "-1e-999", " 12 ", "\t3\n", "\u0663", "\uff11\uff12"]
    ),
    st.text(alphabet="0123456789.-+eE_ ", max_size=12),
    st.text(max_size=70),
)
header_values = st.one_of(number_like, st.none(), st.integers(), st.binary(max_size=8))
header_maps = st.dictionaries(st.sampled_from(HEADER_NAMES) | st.text(max_size=12), header_values, max_size=6)


def _assert_sane(quota: Quota | None) -> None:
    if quota is None:
        return
    assert isinstance(quota, Quota)
    assert quota.remaining is not None or quota.resets_in is not None
    if quota.remaining is not None:
        assert type(quota.remaining) is int
        assert quota.remaining >= 0
    if quota.resets_in is not None:
        assert type(quota.resets_in) is float
        assert math.isfinite(quota.resets_in)
        # Non-negative, and not a negative zero (which would print as "resets in -0s").
        assert math.copysign(1.0, quota.resets_in) > 0


@fuzz(500)
@given(header_maps)
@example({QUOTA_RESETS_IN_HEADER: "-0"})
@example({QUOTA_RESETS_IN_HEADER: " -0.0e3 ", QUOTA_REMAINING_HEADER: "-0"})
def test_any_header_mapping(headers: dict[str, Any]) -> None:
    _assert_sane(parse_quota(headers))
    _assert_sane(parse_quota(CaseInsensitiveDict(headers)))


@fuzz(300)
@given(number_like, number_like)
def test_any_quota_values(remaining: str, resets_in: str) -> None:
    headers = {QUOTA_REMAINING_HEADER: remaining, QUOTA_RESETS_IN_HEADER: resets_in}
    _assert_sane(parse_quota(headers))


@fuzz(200)
@given(st.integers(min_value=0, max_value=10**60), st.floats(min_value=0, max_value=1e12))
def test_well_formed_values_round_trip(remaining: int, resets_in: float) -> None:
    headers = CaseInsensitiveDict(
        {QUOTA_REMAINING_HEADER.lower(): f" {remaining} ", QUOTA_RESETS_IN_HEADER: repr(resets_in)}
    )
    expected = min(resets_in + 0.0, MAX_SERVER_DELAY)  # a larger figure is clamped, not trusted
    assert parse_quota(headers) == Quota(remaining=remaining, resets_in=expected)
