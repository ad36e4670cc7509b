"""Airflow names that moved into the Task SDK after the oldest supported release (3.1.1).

Each is taken from ``airflow.sdk`` where the installed Airflow has it there, else from the location
Airflow 3.1 uses. Everything else the package needs is in ``airflow.sdk`` from 3.1.1 on and is
imported from there directly.

* ``conf``: ``airflow.sdk`` from 3.2, ``airflow.configuration`` before.
* ``AirflowFailException`` (fails a task without retries): ``airflow.sdk.exceptions`` from 3.2,
  ``airflow.exceptions`` before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import conf
    from airflow.sdk.exceptions import AirflowFailException
else:
    try:
        from airflow.sdk import conf
    except ImportError:
        from airflow.configuration import conf

    try:
        from airflow.sdk.exceptions import AirflowFailException
    except ImportError:
        from airflow.exceptions import AirflowFailException

__all__ = ["AirflowFailException", "conf"]
