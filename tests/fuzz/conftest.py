"""Property tests for every parser of untrusted text.

The Hypothesis profile used here is derandomized and keeps no example database, so a run is the
same on every machine. It is applied per test (as a parent of each test's settings) rather than
loaded globally, so Hypothesis tests elsewhere in the suite keep their own settings.
"""

from __future__ import annotations

from tests.fuzz.strategies import FUZZ_PROFILE

__all__ = ["FUZZ_PROFILE"]
