"""Shared Hypothesis settings and strategies for the property tests of the parsers."""

from __future__ import annotations

import base64
import json
import math
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ_PROFILE = "airflow-toggl-fuzz"
FUZZ_EXAMPLES_CAP = int(os.environ.get("TOGGL_FUZZ_EXAMPLES", "0")) or None
"""``TOGGL_FUZZ_EXAMPLES=25`` caps every property's budget (the quick loop); unset: full budgets."""

settings.register_profile(
    FUZZ_PROFILE,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz(max_examples: int) -> settings:
    """Settings for one property: the shared stable profile with its own example budget."""
    budget = min(max_examples, FUZZ_EXAMPLES_CAP) if FUZZ_EXAMPLES_CAP else max_examples
    return settings(settings.get_profile(FUZZ_PROFILE), max_examples=budget)


# -- secrets ---------------------------------------------------------------------------------------

# No field name, message word or number in an error text is a run of these characters, so a
# secret built around such a core cannot appear in a message by accident.
SECRET_ALPHABET = "BCDFGHJKMNPQRSTVWXZ2345789~!$^"
secret_cores = st.text(alphabet=SECRET_ALPHABET, min_size=12, max_size=24)


# Text that survives UTF-8 encoding (no lone surrogates), for values that go into URIs or bodies.
encodable_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=6)


@st.composite
def secrets(draw: st.DrawFn, *, wrapped: bool = True) -> str:
    """A distinctive secret: a core no message can contain, optionally wrapped in arbitrary text."""
    core = draw(secret_cores)
    if not wrapped:
        return core
    return draw(encodable_text) + core + draw(encodable_text)


# -- JSON-like values ------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)

json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)


def json_equal(left: Any, right: Any) -> bool:
    """Equality of parsed JSON that treats NaN as equal to NaN."""
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
        return True
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


# -- base64url / JWT -------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWT segments are written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_of(claims: Any, *, ensure_ascii: bool = True) -> str:
    """A compact JWT (unsigned: any signature will do) whose payload is ``claims`` as JSON."""
    header = b64url(b'{"alg":"EdDSA","kid":"2023-07-25","typ":"JWT"}')
    payload = b64url(json.dumps(claims, ensure_ascii=ensure_ascii).encode("utf-8"))
    return f"{header}.{payload}.{b64url(b'signature-bytes')}"
