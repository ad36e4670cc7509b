"""Small stand-ins for Airflow pieces that need a task context (shared by several test folders)."""

from __future__ import annotations


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
