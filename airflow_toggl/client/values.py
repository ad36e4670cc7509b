"""JSON values: what a request body holds and what an answer parses to."""

from __future__ import annotations

from typing import TypeAlias

JSON: TypeAlias = "dict[str, JSON] | list[JSON] | str | int | float | bool | None"
"""A JSON value, as ``json.loads`` returns it."""
