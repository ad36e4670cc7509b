"""Headless Debian chromium driven by Playwright, for the tests of Airflow UI pages.

``scripts/install_browser`` installs chromium; Playwright (a test dependency) never downloads a
browser of its own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
"""Where screenshots of failed browser checks go (not committed)."""
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_or_skip() -> Any:
    """Playwright's ``sync_playwright``, or a skip (a failure under CI, where both must be installed)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("the browser test needs playwright and chromium: run scripts/install_browser")
        pytest.skip("chromium or playwright missing: run scripts/install_browser")
    return sync_playwright


@contextmanager
def screenshot_on_failure(page: Any, name: str) -> Iterator[None]:
    """Save a full-page screenshot to ``test-artifacts/<name>`` if the block raises."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        raise
