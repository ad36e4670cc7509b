"""The client stays in small pieces: no module over 400 lines, no function over 40.

A function's length counts from its ``def`` line to its last line, docstring included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "airflow_toggl" / "client"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40
MODULES = sorted(CLIENT.glob("*.py"))


def test_the_client_package_is_read() -> None:
    assert {path.name for path in MODULES} >= {"client.py", "transport.py", "sender.py", "secrets.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_module_length(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_function_length(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    too_long = {
        node.name: (node.end_lineno or node.lineno) - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES
    }
    assert not too_long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {too_long}"
