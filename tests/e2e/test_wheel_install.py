"""The README's install steps, followed from a fresh virtualenv outside the repository.

The wheel and sdist are built from this checkout, the wheel is installed next to Airflow in a new
virtualenv, and, from a directory outside the repository, Airflow lists the provider, the example
DAGs shipped in the wheel load without import errors, and the wheel carries the LICENSE (and no
project URL: the project has no public home yet).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.airflow]

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_VERSION = os.environ.get("AIRFLOW_VERSION", "3.3.2")
EXAMPLE_FILES = sorted(path.name for path in (ROOT / "dags").glob("toggl_*.py"))
EXAMPLE_DAG_IDS = sorted(
    re.findall(r'dag_id="([a-z_]+)"', "".join((ROOT / "dags" / name).read_text() for name in EXAMPLE_FILES))
)
LIST_DAGS = """
import json, pathlib, sys
import airflow_toggl.example_dags as examples
from airflow.dag_processing.dagbag import DagBag

folder = pathlib.Path(next(iter(examples.__path__)))
bag = DagBag(dag_folder=str(folder))
print(json.dumps({"folder": str(folder), "dags": sorted(bag.dag_ids), "errors": bag.import_errors}))
"""


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` of this checkout: the wheel and the sdist, in a folder outside the repo."""
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], cwd=dist)
    return dist


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("airflow_toggl-*.whl")
    return wheel


def test_the_wheel_carries_license_example_dags_and_the_sessions_page(built: Path) -> None:
    with zipfile.ZipFile(_wheel(built)) as wheel:
        names = wheel.namelist()
        metadata = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "License-Expression: Apache-2.0" in metadata
    assert "Project-URL" not in metadata  # no public home yet: no URL is made up
    for name in EXAMPLE_FILES:
        assert f"airflow_toggl/example_dags/{name}" in names
    page = sorted(path.name for path in (ROOT / "airflow_toggl" / "ui" / "static").iterdir() if path.is_file())
    assert page
    assert all(f"airflow_toggl/ui/static/{name}" in names for name in page)
    assert "airflow_toggl/py.typed" in names
    assert not any(name.startswith(("dags/", "tests/")) for name in names)
    (sdist,) = built.glob("airflow_toggl-*.tar.gz")
    assert sdist.stat().st_size > 0


@pytest.mark.timeout(1200)
def test_a_fresh_virtualenv_gets_the_provider_and_the_example_dags(
    built: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("user")
    venv = outside / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=outside)
    python = str(venv / "bin" / "python")
    _run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"apache-airflow=={AIRFLOW_VERSION}", str(_wheel(built))],
        cwd=outside,
        timeout=1100,
    )  # fmt: skip
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(outside / "home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    env.pop("PYTHONPATH", None)

    providers = _run([str(venv / "bin" / "airflow"), "providers", "list"], cwd=outside, env=env)
    assert "airflow-toggl" in providers

    listed = json.loads(_run([python, "-c", LIST_DAGS], cwd=outside, env=env).splitlines()[-1])
    assert listed["folder"].startswith(str(venv)), listed["folder"]
    assert listed["errors"] == {}
    assert listed["dags"] == EXAMPLE_DAG_IDS
