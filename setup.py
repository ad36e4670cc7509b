"""What pyproject.toml cannot say: the example DAGs ship inside the package.

``dags/`` is installed as ``airflow_toggl.example_dags`` (the place Airflow's own providers use), so
a wheel user gets the same files the tests run, with no second copy to keep in sync. The sessions
page's files (``ui/static``, data without code) are named as a package of their own too, so the
build neither warns about them nor depends on how it discovers folders.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["airflow_toggl", "airflow_toggl.*"]),
        "airflow_toggl.ui.static",
        "airflow_toggl.example_dags",
    ],
    package_dir={"airflow_toggl.example_dags": "dags"},
)
