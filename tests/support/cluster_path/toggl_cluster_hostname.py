"""The hostname a test worker reports to Airflow (``[core] hostname_callable``).

Both test workers run on one machine; each gets its own name, as if on its own host, so task
instances show which worker ran them.
"""

from __future__ import annotations

import os


def worker_hostname() -> str:
    """The worker's name from ``TOGGL_CLUSTER_WORKER``."""
    return os.environ["TOGGL_CLUSTER_WORKER"]
