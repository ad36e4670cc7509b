"""The client works where Airflow is not installed: run in a fresh interpreter that cannot import it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

BLOCK_AIRFLOW = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoAirflow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "airflow" or name.startswith("airflow."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, NoAirflow())
    """
)


def run_without_airflow(code: str, *args: str) -> Any:
    """Run ``code`` in a new interpreter with ``airflow`` unimportable; return what it printed as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_AIRFLOW + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_client_talks_to_toggl_with_airflow_blocked(
    toggl_emulator: Any, toggl_user: dict[str, Any]
) -> None:
    seen = run_without_airflow(
        """
        import json, sys
        from airflow_toggl.client import ApiTokenAuth, ClientConfig, TogglClient
        from airflow_toggl.exceptions import TogglAuthError

        config = ClientConfig(track_api_url=sys.argv[1], accounts_api_url=sys.argv[1], requests_per_second=0)
        with TogglClient(config, ApiTokenAuth(sys.argv[2])) as client:
            email = client.get_me()["email"]
            with TogglClient(config, ApiTokenAuth("f" * 32)) as stranger:
                try:
                    stranger.get_me()
                    refused = None
                except TogglAuthError as error:
                    refused = error.status_code
        print(json.dumps({"email": email, "refused": refused, "airflow": "airflow" in sys.modules}))
        """,
        toggl_emulator.url,
        toggl_user["api_token"],
    )
    assert seen == {"email": toggl_user["email"], "refused": 403, "airflow": False}


def test_the_session_value_object_loads_no_http_stack() -> None:
    loaded = run_without_airflow(
        """
        import json, sys
        from airflow_toggl.client import TogglSession

        TogglSession.from_cookie("not-a-jwt")
        print(json.dumps(sorted(m for m in ("requests", "urllib3", "tenacity") if m in sys.modules)))
        """
    )
    assert loaded == []


def test_the_errors_are_plain_exceptions() -> None:
    bases = run_without_airflow(
        """
        import json
        from airflow_toggl.exceptions import TogglError, TogglConfigError

        print(json.dumps([c.__module__ for c in TogglError.__mro__] + [issubclass(TogglConfigError, ValueError)]))
        """
    )
    assert bases == ["airflow_toggl.client.errors", "builtins", "builtins", "builtins", True]
