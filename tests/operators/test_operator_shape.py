"""Airflow's conventions for provider operators, read from the source of every operator module.

``__init__`` only calls ``super().__init__`` and assigns each argument unchanged (template fields
exactly as given, so Jinja renders what the DAG author wrote; checks happen in ``execute``), and
the work stays short: an ``execute`` that grows past 20 lines belongs in the hook or the session
layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

OPERATORS = Path(__file__).resolve().parents[2] / "airflow_toggl" / "operators"
MAX_EXECUTE_LINES = 20


def _methods(name: str) -> list[tuple[str, ast.FunctionDef]]:
    """``(module.Class, method)`` for every operator class that defines ``name``."""
    found = []
    for module in sorted(OPERATORS.glob("*.py")):
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, ast.ClassDef):
                found += [
                    (f"{module.stem}.{node.name}", item)
                    for item in node.body
                    if isinstance(item, ast.FunctionDef) and item.name == name
                ]
    return found


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _is_super_init(statement: ast.stmt) -> bool:
    call = statement.value if isinstance(statement, ast.Expr) else None
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "__init__"
        and isinstance(call.func.value, ast.Call)
        and getattr(call.func.value.func, "id", None) == "super"
    )


def _assigns_an_argument_unchanged(statement: ast.stmt, arguments: set[str]) -> bool:
    if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
        return False
    target, value = statement.targets[0], statement.value
    return (
        isinstance(target, ast.Attribute)
        and getattr(target.value, "id", None) == "self"
        and isinstance(value, ast.Name)
        and value.id == target.attr
        and value.id in arguments
    )


def _params(*names: str) -> list[object]:
    return [pytest.param(q, m, id=f"{q}.{m.name}") for name in names for q, m in _methods(name)]


def test_every_operator_module_is_read() -> None:
    assert {qualname.split(".")[0] for qualname, _ in _methods("__init__")} >= {"toggl", "api"}


@pytest.mark.parametrize(("qualname", "init"), _params("__init__"))
def test_init_only_assigns_its_arguments(qualname: str, init: ast.FunctionDef) -> None:
    arguments = {arg.arg for arg in init.args.kwonlyargs + init.args.args}
    body = [statement for statement in init.body if not _is_docstring(statement)]
    odd = [
        ast.unparse(statement)
        for statement in body
        if not _is_super_init(statement) and not _assigns_an_argument_unchanged(statement, arguments)
    ]
    assert odd == [], f"{qualname}.__init__ does more than assign its arguments"


@pytest.mark.parametrize(("qualname", "method"), _params("execute", "execute_toggl"))
def test_execute_is_short(qualname: str, method: ast.FunctionDef) -> None:
    lines = (method.end_lineno or method.lineno) - method.lineno + 1
    assert lines <= MAX_EXECUTE_LINES, f"{qualname}.{method.name} is {lines} lines"


def test_importing_the_operators_leaves_requests_unloaded() -> None:
    """The measured reason the hook is imported where it is built: requests costs a DAG file's parse
    about 0.2 s, and a DAG file that only names operators needs none of it."""
    import subprocess
    import sys

    sdk_only = "import sys, airflow.sdk; print('requests' in sys.modules)"
    baseline = subprocess.run([sys.executable, "-c", sdk_only], capture_output=True, text=True, check=True)
    if baseline.stdout.strip() == "True":
        pytest.skip("this Airflow's SDK loads requests itself (Airflow 3.1)")
    code = (
        "import sys, airflow.sdk, airflow_toggl.operators.toggl, airflow_toggl.operators.api; "
        "print('requests' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
