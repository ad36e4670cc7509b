"""The filter that hides reset codes from urllib3's log lines comes with a client, not with an import.

Importing the client changes no logger; building a client installs the filter on urllib3's two
loggers, and building more installs no second one. Run in a fresh interpreter, so no other test's
client has installed it already.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, logging
from airflow_toggl.client import ClientConfig, TogglClient
from airflow_toggl.client.secrets import URLLIB3_LOGGERS, ResetCodeFilter

def count():
    return [sum(isinstance(f, ResetCodeFilter) for f in logging.getLogger(n).filters) for n in URLLIB3_LOGGERS]

seen = {"imported": count()}
TogglClient(ClientConfig()).close()
seen["one client"] = count()
TogglClient(ClientConfig()).close()
seen["two clients"] = count()
print(json.dumps(seen))
"""


def test_the_filter_is_installed_once_when_a_client_is_built() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == {"imported": [0, 0], "one client": [1, 1], "two clients": [1, 1]}
