"""The connection form the Airflow UI receives for ``toggl`` (what ``/ui/connections/hook_meta`` serves)."""

from __future__ import annotations

import airflow
import pytest
from packaging.version import Version

from airflow_toggl import AUTH_MODES, get_provider_info
from airflow_toggl import CONNECTION_EXTRAS as KNOWN_EXTRAS
from airflow_toggl.client.config import ClientConfig

pytestmark = pytest.mark.skipif(
    Version(airflow.__version__) < Version("3.2.0"), reason="Airflow < 3.2 shows the generic form"
)


@pytest.fixture(scope="module")
def form():
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "toggl"]
    return meta.model_dump()


def test_standard_fields_are_email_password_and_extra(form) -> None:
    fields = form["standard_fields"]
    assert form["hook_name"] == "Toggl Track"
    assert fields["login"]["title"] == "Email"
    assert fields["password"]["title"] == "Password"
    assert not fields["login"]["hidden"]
    assert not fields["password"]["hidden"]
    for hidden in ("host", "port", "url_schema"):
        assert fields[hidden]["hidden"] is True
    # Airflow 3.1 ignores conn-fields: the Extra JSON field is where its users put the settings.
    assert not get_provider_info()["connection-types"][0]["ui-field-behaviour"]["hidden-fields"].count("extra")


def test_api_token_is_a_password_field(form) -> None:
    extra = form["extra_fields"]
    assert extra["api_token"]["schema"]["format"] == "password"
    assert extra["api_token"]["schema"]["title"] == "API token"
    assert set(extra) == set(KNOWN_EXTRAS)


def test_auth_mode_offers_automatic_instead_of_null(form) -> None:
    schema = form["extra_fields"]["auth_mode"]["schema"]
    assert schema["enum"] == [None, *AUTH_MODES]
    labels = schema["values_display"]
    assert labels["null"].startswith("Automatic")
    assert all(labels[mode] and labels[mode] != "null" for mode in AUTH_MODES)


DEFAULTS = {
    "track_api_url": ClientConfig.track_api_url,
    "accounts_api_url": ClientConfig.accounts_api_url,
    "timeout": ClientConfig.timeout,
    "max_retries": ClientConfig.max_retries,
    "max_quota_wait": ClientConfig.max_quota_wait,
    "requests_per_second": ClientConfig.requests_per_second,
    "verify": ClientConfig.verify,
    "session_key": "toggl_session_secret__<connection id>",
}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_no_default_is_written_and_each_description_names_it(form, name: str) -> None:
    field = form["extra_fields"][name]
    assert field["value"] is None  # the form starts empty: a saved connection keeps no default
    assert "default" not in field["schema"]
    default = DEFAULTS[name]
    shown = f"{default:g}" if isinstance(default, float) else str(default).lower() if isinstance(default, bool) else default
    assert f"Empty: {shown}" in field["description"]
