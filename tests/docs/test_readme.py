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


def test_readme_links_work_wherever_the_repository_is_read() -> None:
    """Links into the repository are relative and name files that exist; the rest are https pages."""
    links = re.findall(r"\]\(([^)]+)\)", README)
    assert any(not link.startswith("https://") for link in links)
    for link in links:
        if link.startswith("https://"):
            continue
        assert "://" not in link, link
        assert (ROOT / link.split("#")[0]).exists(), link


@pytest.mark.parametrize("name", ["pyproject.toml", "mkdocs.yml", "README.md", "CHANGELOG.md", "docs"])
def test_no_made_up_home_is_named(name: str) -> None:
    """The project has no public home yet: no file names one (package metadata, docs, README)."""
    path = ROOT / name
    texts = [p.read_text() for p in sorted(path.rglob("*.md"))] if path.is_dir() else [path.read_text()]
    assert not [text for text in texts if "github.com/airflow-toggl" in text]
    if name == "pyproject.toml":
        assert "[project.urls]" not in texts[0]
