"""The README's connection examples parse as Airflow parses them, and its links work from an index page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from airflow.sdk import Connection

from airflow_toggl.hooks.toggl import settings_from_connection

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
PROJECT_URLS = dict(
    re.findall(
        r'^(\w+) = "(https://[^"]+)"$',
        (ROOT / "pyproject.toml").read_text().split("[project.urls]")[1].split("\n[")[0],
        re.MULTILINE,
    )
)


def _connection_examples() -> tuple[str, str]:
    uri, json_text = None, None
    for block in re.findall(r"```bash\n(.*?)```", README, re.DOTALL):
        match = re.search(r"export AIRFLOW_CONN_TOGGL_DEFAULT='(.*?)'", block, re.DOTALL)
        if match and match.group(1).startswith("toggl://"):
            uri = match.group(1)
        elif match:
            json_text = match.group(1)
    assert uri
    assert json_text
    return uri, json_text


def _settings(connection: Connection):
    return settings_from_connection(
        "toggl_default", login=connection.login, password=connection.password, extras=connection.extra_dejson
    )


def test_the_uri_example_with_urls_parses() -> None:
    uri, _ = _connection_examples()
    connection = Connection.from_uri(uri, conn_id="toggl_default")
    settings = _settings(connection)
    assert settings.email == "ada@example.com"
    assert settings.auth_mode == "api_token"
    assert settings.config.track_api_url == "http://127.0.0.1:8765"
    assert settings.config.accounts_api_url == "http://127.0.0.1:8765"
    assert settings.config.timeout == 20


def test_the_same_uri_unencoded_is_refused_as_the_readme_says() -> None:
    uri, _ = _connection_examples()
    unencoded = uri.replace("%3A", ":").replace("%2F", "/")
    with pytest.raises(Exception, match="Invalid connection string"):
        Connection.from_uri(unencoded, conn_id="toggl_default")


def test_the_json_example_parses() -> None:
    _, json_text = _connection_examples()
    data = json.loads(json_text)
    connection = Connection(conn_id="toggl_default", **{**data, "extra": json.dumps(data["extra"])})
    settings = _settings(connection)
    assert settings.auth_mode == "api_token"
    assert settings.max_quota_wait == 600


def test_readme_links_are_absolute_and_point_at_files_that_exist() -> None:
    repository = PROJECT_URLS["Source"]
    links = re.findall(r"\]\(([^)]+)\)", README)
    assert links
    for link in links:
        assert link.startswith("https://"), f"relative link {link!r} breaks on an index page"
        for prefix in (f"{repository}/blob/main/", f"{repository}/tree/main/"):
            if link.startswith(prefix):
                assert (ROOT / link.removeprefix(prefix)).exists(), link


def test_project_urls_share_the_repository() -> None:
    assert {"Homepage", "Documentation", "Source", "Changelog", "Issues"} <= set(PROJECT_URLS)
    for url in PROJECT_URLS.values():
        assert url.startswith(PROJECT_URLS["Source"])
    assert (ROOT / PROJECT_URLS["Changelog"].split("/blob/main/")[1]).exists()
