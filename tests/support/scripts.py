"""Loading a file of ``scripts/`` as a module, to test its functions."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from devkit.airflow import ROOT


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a fresh module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
