"""docs/architecture.md draws the package's imports as they are, and no forbidden import exists.

The page holds a ``text`` block titled ``dependencies``, one line per room (``room -> other,
other``); this test reads every module's imports (``TYPE_CHECKING`` ones included) and compares.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "airflow_toggl"
PAGE = ROOT / "docs" / "architecture.md"

FORBIDDEN = {
    "client": {"airflow", "hooks", "sessions", "operators", "triggers", "links", "emulator"},
    "emulator": {"airflow", "client", "hooks", "sessions", "operators", "triggers", "links", "package"},
}
"""Rooms that must never import these: the client works without Airflow; the emulator stands alone."""


def room_of(module: str) -> str | None:
    """The room of a dotted module name: ``airflow``, a sub-package or module of ours, or None."""
    parts = module.split(".")
    if parts[0] == "airflow":
        return "airflow"
    if parts[0] != "airflow_toggl":
        return None
    if len(parts) == 1:
        return "package"
    return parts[1].removeprefix("_").removesuffix("_dags") if parts[1] != "__init__" else "package"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def actual_edges() -> dict[str, set[str]]:
    """room -> the other rooms its modules import."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        source = room_of(module_name(path))
        assert source is not None
        edges[source]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            else:
                continue
            for target in targets:
                room = room_of(target)
                if room is not None and room != source:
                    edges[source].add(room)
    return dict(edges)


def documented_edges() -> dict[str, set[str]]:
    block = re.search(r'```text title="dependencies"\n(.*?)```', PAGE.read_text(), re.S)
    assert block, 'docs/architecture.md has no ```text title="dependencies" block'
    edges: dict[str, set[str]] = {}
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        source, _, targets = line.partition("->")
        edges[source.strip()] = {
            t.strip() for t in targets.split(",") if t.strip() and t.strip() != "(nothing)"
        }
    return edges


def test_the_page_draws_every_import_and_only_those() -> None:
    assert documented_edges() == actual_edges()


def test_no_forbidden_import_exists() -> None:
    edges = actual_edges()
    for room, forbidden in FORBIDDEN.items():
        assert not edges.get(room, set()) & forbidden, f"{room} imports {edges[room] & forbidden}"


def test_the_page_names_every_room_of_the_client() -> None:
    """Every module of the client has its row in the page's module table, and no row names a ghost."""
    listed = set(re.findall(r"^\| `airflow_toggl/client/([a-z_]+\.py)` \|", PAGE.read_text(), re.M))
    modules = {path.name for path in (PACKAGE / "client").glob("*.py")} - {"__init__.py"}
    assert listed == modules
