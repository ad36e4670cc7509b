"""Provider discovery: the metadata is valid for the installed Airflow, which finds the hook and form."""

from __future__ import annotations

import json
from pathlib import Path

import airflow
import jsonschema
import pytest
from packaging.version import Version

from airflow_toggl import get_provider_info

AIRFLOW_DIR = Path(airflow.__file__).parent
READS_CONN_FIELDS = Version(airflow.__version__) >= Version("3.2.0")


def _schema(name: str) -> dict:
    return json.loads((AIRFLOW_DIR / name).read_text())


def test_provider_info_matches_airflow_schema() -> None:
    jsonschema.validate(get_provider_info(), _schema("provider_info.schema.json"))


def test_connection_type_matches_provider_yaml_definition() -> None:
    # provider_info.schema.json lets unknown keys through; provider.yaml's definition is strict.
    definition = _schema("provider.yaml.schema.json")["properties"]["connection-types"]
    jsonschema.validate(get_provider_info()["connection-types"], definition)


def test_ui_field_behaviour_matches_customized_form_schema() -> None:
    behaviour = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    converted = {key.replace("-", "_"): value for key, value in behaviour.items()}
    jsonschema.validate(converted, _schema("customized_form_field_behaviours.schema.json"))


def test_every_conn_field_is_a_known_extra() -> None:
    from airflow_toggl import CONNECTION_EXTRAS as KNOWN_EXTRAS

    fields = get_provider_info()["connection-types"][0]["conn-fields"]
    assert set(fields) == set(KNOWN_EXTRAS)


@pytest.fixture(scope="module")
def providers_manager():
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


def _task_runtime_hooks(providers_manager):
    """Where tasks look hooks up: the Task SDK's manager on Airflow versions that have one."""
    try:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
    except ImportError:  # older Airflow: the core manager serves both
        return providers_manager.hooks
    return ProvidersManagerTaskRuntime().hooks


def test_providers_manager_lists_the_hook(providers_manager) -> None:
    assert "airflow-toggl" in providers_manager.providers
    hook = _task_runtime_hooks(providers_manager)["toggl"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_toggl.hooks.toggl.TogglHook"
    assert hook.connection_id_attribute_name == "toggl_conn_id"
    assert hook.hook_name == "Toggl Track"


@pytest.mark.skipif(not READS_CONN_FIELDS, reason="Airflow < 3.2 ignores conn-fields (generic form)")
def test_connection_form_fields(providers_manager) -> None:
    widgets = providers_manager.connection_form_widgets
    assert widgets["extra__toggl__api_token"].is_sensitive is True
    assert widgets["extra__toggl__auth_mode"].field["schema"]["enum"][1:] == ["api_token", "basic", "session"]
    assert widgets["extra__toggl__timeout"].is_sensitive is False
    behaviour = providers_manager.field_behaviours["toggl"]
    assert behaviour["relabeling"] == {"login": "Email", "password": "Password"}
    assert "host" in behaviour["hidden_fields"]
