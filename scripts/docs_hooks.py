"""MkDocs hook: every code sample on the site comes from the tested example DAG it names.

A sample is a fenced block after ``<!-- snippet: dags/<file>.py <name> -->`` (see
``scripts/sync_docs.py``); at build time its body is replaced by the current lines between
``# [START <name>]`` and ``# [END <name>]`` of that file, so the site cannot show a stale copy.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

_spec = importlib.util.spec_from_file_location("sync_docs", Path(__file__).with_name("sync_docs.py"))
assert _spec is not None
assert _spec.loader is not None
sync_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_docs)


_REPOSITORY_LINK = re.compile(r"\[([^\]]+)\]\((?![a-z]+://|#)([^)]+)\)")


def site_links(markdown: str) -> str:
    """The README's links, relative to the repository, as the site serves them.

    A page of ``docs/`` is linked by its name on the site; another file of the repository is not on
    the site, so its link becomes its text.
    """

    def link(match: re.Match[str]) -> str:
        label, target = match.groups()
        if target.startswith("docs/"):
            return f"[{label}]({target.removeprefix('docs/')})"
        return label

    return _REPOSITORY_LINK.sub(link, markdown)


_README_INCLUDE = '--8<-- "README.md"'


def on_page_markdown(markdown: str, page: Any = None, **kwargs: Any) -> str:
    """The page with each snippet block cut afresh from its DAG file; the index, which includes the
    README, with the README's repository links made site links."""
    if _README_INCLUDE in markdown and page is not None and page.file.src_uri == "index.md":
        readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
        markdown = markdown.replace(_README_INCLUDE, site_links(readme))
    return sync_docs.synced(markdown)


def on_config(config: Any, **kwargs: Any) -> Any:
    """Pages of docs/ that ``nav`` in mkdocs.yml does not list are appended, titled by their heading."""
    docs = Path(config["docs_dir"])
    listed = {next(iter(entry.values())) for entry in config["nav"] if isinstance(entry, dict)}
    for page in sorted(docs.glob("*.md")):
        if page.name not in listed:
            title = next(
                (line[2:].strip() for line in page.read_text().splitlines() if line.startswith("# ")),
                page.stem,
            )
            config["nav"].append({title: page.name})
    return config
