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
DEFAULT_SESSION_TTL = 28 * 24 * 3600
# Options that may change while the emulator runs (everything but host, port and TLS).
OPTION_NAMES = (
    "cookie_style",
    "session_ttl",
    "rate_limit_rps",
    "rate_limit_burst",
    "rate_limit_retry_after",
    "quota_limit",
    "quota_window",
    "clock",
)


def _number(name: str, value: Any, *, minimum: float, strict: bool = False) -> float:
    """Return ``value`` as a finite float not below ``minimum`` (above it when ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number")
    if value < minimum or (strict and value == minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}")
    return float(value)


def _integer(name: str, value: Any, *, minimum: int) -> int:
    """Return ``value`` as an int not below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"{name} must be an integer")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}")
    return int(value)


@dataclass
class EmulatorConfig:
    """Validated emulator behaviour; ``None`` turns a limit off."""

    cookie_style: str = "standard"
    session_ttl: int = DEFAULT_SESSION_TTL
    rate_limit_rps: float | None = None
    rate_limit_burst: int = 1
    rate_limit_retry_after: float | str | None = None
    quota_limit: int | None = None
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
        for name, value in checked.items():
            setattr(self, name, value)

    @staticmethod
    def _check(name: str, value: Any) -> Any:
        """Return the normalised value of one option or raise ``ValueError``."""
        if name == "cookie_style":
            if value not in COOKIE_STYLES:
                raise ValueError(f"cookie_style must be one of {', '.join(COOKIE_STYLES)}")
            return value
        if name == "session_ttl":
            return _integer(name, value, minimum=0)
        if name == "rate_limit_rps":
            return None if value is None else _number(name, value, minimum=0, strict=True)
        if name == "rate_limit_burst":
            return _integer(name, value, minimum=1)
        if name == "rate_limit_retry_after":
            if value is None or value == "http-date":
                return value
            return _number(name, value, minimum=0)
        if name == "quota_limit":
            return None if value is None else _integer(name, value, minimum=0)
        if name == "quota_window":
            return _number(name, value, minimum=0, strict=True)
        if not callable(value):
            raise ValueError("clock must be callable")
        return value

    def public(self) -> dict[str, Any]:
        """The settings as JSON-ready data (the clock is left out)."""
        return {name: getattr(self, name) for name in OPTION_NAMES if name != "clock"}
