"""The tooling that the scripts and the tests share: scripted servers, the fault matrix, the load
test, Airflow helpers and test doubles.

It lives beside the scripts, which import it directly (Python searches a script's own folder); the
tests import it through pytest's ``pythonpath`` setting. Nothing here imports pytest.
"""
