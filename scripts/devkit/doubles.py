"""Small stand-ins for Airflow pieces that need a task context (shared by several test folders)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class MemoryVariables:
    """A dict standing in for the Airflow Variable table."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.fail_set = 0
        self.writes = 0

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str) -> None:
        if self.fail_set:
            self.fail_set -= 1
            raise RuntimeError("variable write refused")
        self.writes += 1
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


@contextmanager
def memory_variables() -> Iterator[MemoryVariables]:
    """Airflow's ``Variable`` backed by a :class:`MemoryVariables` while the block runs."""
    from airflow.sdk import Variable
    from airflow.sdk.definitions._internal.types import NOTSET

    memory = MemoryVariables()

    def get(cls: Any, key: str, default: Any = NOTSET, deserialize_json: bool = False) -> Any:
        if key in memory.data:
            return memory.data[key]
        if default is NOTSET:
            raise KeyError(key)
        return default

    def set_(
        cls: Any, key: str, value: Any, description: str | None = None, serialize_json: bool = False
    ) -> None:
        memory.set(key, value)

    def delete(cls: Any, key: str) -> None:
        memory.delete(key)

    originals = {name: Variable.__dict__[name] for name in ("get", "set", "delete")}
    Variable.get, Variable.set, Variable.delete = classmethod(get), classmethod(set_), classmethod(delete)  # type: ignore[method-assign,assignment]
    try:
        yield memory
    finally:
        for name, original in originals.items():
            setattr(Variable, name, original)
