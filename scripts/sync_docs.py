"""Keep the code samples in docs/ identical to the tested example DAGs they are cut from.

A sample in a Markdown page is a fenced block preceded by a marker naming its source::

    <!-- snippet: dags/toggl_session_rotation.py howto_operator_toggl_rotate_session -->

The block holds the lines between ``# [START name]`` and ``# [END name]`` of that file, dedented.
``python scripts/sync_docs.py`` rewrites the blocks; ``--check`` only reports stale ones (exit 1).
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(
    r"(<!-- snippet: (?P<path>\S+) (?P<name>\S+) -->\n```python\n)(?P<body>.*?)(```)", re.DOTALL
)


def cut(path: Path, name: str) -> str:
    """The dedented lines between the START and END markers called ``name`` in ``path``."""
    lines = path.read_text().splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == f"# [START {name}]")
        end = next(i for i, line in enumerate(lines) if line.strip() == f"# [END {name}]")
    except StopIteration:
        raise SystemExit(f"{path}: no [START {name}] / [END {name}] pair") from None
    return textwrap.dedent("\n".join(lines[start + 1 : end])).strip("\n") + "\n"


def synced(text: str) -> str:
    """``text`` with every snippet block replaced by the current lines of its source."""
    return MARKER.sub(lambda m: m.group(1) + cut(ROOT / m.group("path"), m.group("name")) + m.group(5), text)


def stale_pages(pages: list[Path]) -> list[Path]:
    """The pages whose snippets differ from their sources."""
    return [page for page in pages if synced(page.read_text()) != page.read_text()]


def main(argv: list[str]) -> int:
    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    if "--check" in argv:
        stale = stale_pages(pages)
        for page in stale:
            print(f"stale snippets in {page.relative_to(ROOT)}: run python scripts/sync_docs.py")
        return 1 if stale else 0
    for page in pages:
        text = page.read_text()
        new = synced(text)
        if new != text:
            page.write_text(new)
            print(f"updated {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
