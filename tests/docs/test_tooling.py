"""The scripts and the tests share their tooling through ``scripts/devkit``, never through the test tree.

A script imports ``devkit`` from its own folder (which Python puts on ``sys.path`` when it runs the
script); the tests import it through pytest's ``pythonpath`` setting. No script edits the module search path.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "scripts").rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_scripts_and_their_tooling_leave_the_test_tree_and_sys_path_alone(path: Path) -> None:
    assert not [name for name in _imports(path) if name == "tests" or name.startswith("tests.")]
    assert "sys.path" not in path.read_text()


def test_the_shared_tooling_imports_nothing_from_the_tests() -> None:
    assert (ROOT / "scripts" / "devkit" / "__init__.py").exists()
    assert not (ROOT / "tests" / "support" / "fault_matrix").exists()
