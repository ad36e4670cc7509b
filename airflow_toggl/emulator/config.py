"""Runtime settings of the emulator: cookie style, session lifetime, rate limit and quota.

Kept in one validated object so the Python API, the HTTP control API and the CLI all change
behaviour the same way, and a bad value is refused before it can confuse a running test.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

COOKIE_STYLES = ("standard", "no-eyj")
# What one leaky bucket counts: every credential of an account together, or each credential alone.
RATE_LIMIT_KEYS = ("account", "credential")
DEFAULT_SESSION_TTL = 28 * 24 * 3600
# Options that may change while the emulator runs (everything but host, port and TLS).
OPTION_NAMES = (
    "cookie_style",
    "session_ttl",
    "rate_limit_rps",
    "rate_limit_burst",
    "rate_limit_retry_after",
    "rate_limit_key",
    "rate_limit_strict",
    "quota_limit",
    "user_quota_limit",
    "organization_quota_limit",
    "plan_quotas",
    "meter_logged",
    "quota_window",
    "clock",
)
# Toggl's hourly quotas: 30 for the user's own requests, and per organization by its plan.
USER_QUOTA = 30
PLAN_QUOTAS = {"free": 30, "starter": 240, "premium": 600}


YEAR = 365 * 24 * 3600
# Bounds of the numeric options: (kind, lowest, highest, whether the lowest itself is excluded).
# Past them a value is refused, so no later request can overflow a date or a sleep.
NUMERIC_BOUNDS: dict[str, tuple[type, float, float, bool]] = {
    "session_ttl": (int, 0, 10 * YEAR, False),
    "rate_limit_rps": (float, 0.001, 1_000_000, False),
    "rate_limit_burst": (int, 1, 1_000_000, False),
    "rate_limit_retry_after": (float, 0, YEAR, False),
    "quota_limit": (int, 0, 1_000_000, False),
    "user_quota_limit": (int, 0, 1_000_000, False),
    "organization_quota_limit": (int, 0, 1_000_000, False),
    "quota_window": (float, 0, YEAR, True),
}


def bounded_number(name: str, value: Any, kind: type, lowest: float, highest: float, open_low: bool) -> Any:
    """``value`` as a finite ``kind`` (int or float) within the bounds, else a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a finite number")
    if isinstance(value, float) and not math.isfinite(value):  # ints of any size compare exactly
        raise ValueError(f"{name} must be a finite number")
    if kind is int and value != int(value):
        raise ValueError(f"{name} must be an integer")
    if value < lowest or value > highest or (open_low and value == lowest):
        low = f"{'above' if open_low else 'from'} {lowest:g}"
        raise ValueError(f"{name} must be {low} to {highest:g}")
    return kind(value)


_STRICT_FIELDS = ("rate_limit_strict", "rate_limit_rps", "rate_limit_burst")
_NULLABLE = (
    "rate_limit_rps",
    "rate_limit_retry_after",
    "quota_limit",
    "user_quota_limit",
    "organization_quota_limit",
)


@dataclass
class EmulatorConfig:
    """Validated emulator behaviour; ``None`` turns a limit off.

    The hourly quotas: ``user_quota_limit`` for requests naming no workspace or organization,
    ``organization_quota_limit`` for the others (per user per organization). Each falls back on
    ``quota_limit`` (one figure for both), then, with ``plan_quotas``, on Toggl's own figures
    (30 for the user; 30, 240 or 600 by the organization's plan); with none of them, it is off.
    """

    cookie_style: str = "standard"
    session_ttl: int = DEFAULT_SESSION_TTL
    rate_limit_rps: float | None = None
    rate_limit_burst: int = 1
    rate_limit_retry_after: float | str | None = None
    rate_limit_key: str = "account"
    rate_limit_strict: bool = False
    quota_limit: int | None = None
    user_quota_limit: int | None = None
    organization_quota_limit: int | None = None
    plan_quotas: bool = False
    meter_logged: bool = True
    quota_window: float = 3600.0
    clock: Callable[[], float] = field(default=time.time)

    def __post_init__(self) -> None:
        """Validate the initial values through the same path as later changes."""
        self.update(**{name: getattr(self, name) for name in OPTION_NAMES})

    def update(self, **options: Any) -> None:
        """Validate and apply ``options``; nothing changes if any of them is invalid."""
        unknown = sorted(set(options) - set(OPTION_NAMES))
        if unknown:
            raise ValueError(f"unknown emulator option(s): {', '.join(unknown)}")
        checked = {name: self._check(name, value) for name, value in options.items()}
        strict, rps, burst = (checked.get(name, getattr(self, name, None)) for name in _STRICT_FIELDS)
        if strict and (rps not in (None, 1.0) or burst != 1):
            raise ValueError(
                "rate_limit_strict admits exactly one request per second with no burst: "
                "leave rate_limit_rps unset (or 1) and rate_limit_burst at 1"
            )
        for name, value in checked.items():
            setattr(self, name, value)

    @staticmethod
    def _check(name: str, value: Any) -> Any:
        """Return the normalised value of one option or raise ``ValueError``."""
        if name == "cookie_style":
            if value not in COOKIE_STYLES:
                raise ValueError(f"cookie_style must be one of {', '.join(COOKIE_STYLES)}")
            return value
        if name in _NULLABLE and value is None:
            return None
        if name == "rate_limit_retry_after" and value == "http-date":
            return value
        if name in NUMERIC_BOUNDS:
            return bounded_number(name, value, *NUMERIC_BOUNDS[name])
        if name == "rate_limit_key":
            if value not in RATE_LIMIT_KEYS:
                raise ValueError(f"rate_limit_key must be one of {', '.join(RATE_LIMIT_KEYS)}")
            return value
        if name in ("rate_limit_strict", "plan_quotas", "meter_logged"):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
            return value
        if not callable(value):
            raise ValueError("clock must be callable")
        return value

    def bucket(self) -> tuple[float, int, float] | None:
        """The leaky bucket in force as (requests per second, capacity, tolerance); ``None`` when off.

        Strict mode admits one request per second with no burst and no rounding tolerance.
        """
        if self.rate_limit_strict:
            return 1.0, 1, 0.0
        if self.rate_limit_rps is None:
            return None
        return self.rate_limit_rps, self.rate_limit_burst, 1e-9

    def user_quota(self) -> int | None:
        """The user quota's hourly limit in force; ``None`` when it is off."""
        if self.user_quota_limit is not None:
            return self.user_quota_limit
        if self.quota_limit is not None:
            return self.quota_limit
        return USER_QUOTA if self.plan_quotas else None

    def organization_quota(self, plan: str) -> int | None:
        """The hourly limit of an organization on ``plan``, per user; ``None`` when it is off."""
        if self.organization_quota_limit is not None:
            return self.organization_quota_limit
        if self.quota_limit is not None:
            return self.quota_limit
        return PLAN_QUOTAS.get(plan, PLAN_QUOTAS["free"]) if self.plan_quotas else None

    def public(self) -> dict[str, Any]:
        """The settings as JSON-ready data (the clock is left out)."""
        return {name: getattr(self, name) for name in OPTION_NAMES if name != "clock"}
