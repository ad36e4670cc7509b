"""The connection form the Airflow UI receives for ``toggl`` (what ``/ui/connections/hook_meta`` serves)."""

from __future__ import annotations

import airflow
import pytest
from packaging.version import Version

pytestmark = pytest.mark.skipif(
    Version(airflow.__version__) < Version("3.2.0"), reason="Airflow < 3.2 shows the generic form"
)


@pytest.fixture(scope="module")
def form():
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "toggl"]
    return meta.model_dump()


def test_standard_fields_are_email_and_password_only(form) -> None:
    fields = form["standard_fields"]
    assert form["hook_name"] == "Toggl Track"
    assert fields["login"]["title"] == "Email"
    assert fields["password"]["title"] == "Password"
    assert not fields["login"]["hidden"]
    assert not fields["password"]["hidden"]
    for hidden in ("host", "port", "url_schema"):
        assert fields[hidden]["hidden"] is True


def test_api_token_is_a_password_field_and_options_have_defaults(form) -> None:
    extra = form["extra_fields"]
    assert extra["api_token"]["schema"]["format"] == "password"
    assert extra["api_token"]["schema"]["title"] == "API token"
    assert extra["auth_mode"]["schema"]["enum"] == ["api_token", "basic", "session", None]
    assert extra["track_api_url"]["value"] == "https://api.track.toggl.com"
    assert extra["accounts_api_url"]["value"] == "https://accounts.toggl.com"
    assert extra["timeout"]["value"] == 30
    assert extra["requests_per_second"]["value"] == 1
    assert set(extra) >= {"max_retries", "max_quota_wait", "verify", "session_key"}
