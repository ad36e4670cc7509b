"""MkDocs hook: every code sample on the site comes from the tested example DAG it names.

A sample is a fenced block after ``<!-- snippet: dags/<file>.py <name> -->`` (see
``scripts/sync_docs.py``); at build time its body is replaced by the current lines between
``# [START <name>]`` and ``# [END <name>]`` of that file, so the site cannot show a stale copy.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

_spec = importlib.util.spec_from_file_location("sync_docs", Path(__file__).with_name("sync_docs.py"))
assert _spec is not None
assert _spec.loader is not None
sync_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_docs)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """The page with each snippet block cut afresh from its DAG file."""
    return sync_docs.synced(markdown)
