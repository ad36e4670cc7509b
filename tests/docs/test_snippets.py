"""Every code sample in the docs is cut from a tested example DAG and is current."""

from __future__ import annotations

from pathlib import Path

from tests.support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


def _sync_docs():
    return load_script("sync_docs")


def test_docs_snippets_match_the_example_dags() -> None:
    sync_docs = _sync_docs()
    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    assert sync_docs.stale_pages(pages) == []


def test_the_guides_have_samples_for_every_marker() -> None:
    text = "".join(page.read_text() for page in sorted((ROOT / "docs").glob("*.md")))
    for dag in (ROOT / "dags").glob("*.py"):
        for line in dag.read_text().splitlines():
            if line.strip().startswith("# [START "):
                name = line.strip()[len("# [START ") : -1]
                assert f"<!-- snippet: dags/{dag.name} {name} -->" in text, name


def test_a_stale_sample_is_detected(tmp_path: Path) -> None:
    sync_docs = _sync_docs()
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- snippet: dags/toggl_session_rotation.py howto_operator_toggl_rotate_session -->\n"
        "```python\nold = True\n```\n"
    )
    assert sync_docs.stale_pages([page]) == [page]


def test_the_site_navigation_lists_the_docs_pages() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    nav = config.split("\nnav:\n", 1)[1].split("\n\n", 1)[0].split("\nplugins:", 1)[0]
    listed = {line.rsplit(":", 1)[1].strip() for line in nav.splitlines() if line.strip().startswith("- ")}
    pages = {page.name for page in (ROOT / "docs").glob("*.md")}
    assert listed == pages, "give each page of docs/ its place in nav in mkdocs.yml"


def test_the_site_takes_each_sample_from_its_dag_file() -> None:
    module = load_script("docs_hooks")
    page = (
        "<!-- snippet: dags/toggl_session_rotation.py howto_operator_toggl_rotate_session -->\n"
        "```python\nold = True\n```\n"
    )
    rendered = module.on_page_markdown(page)
    assert "old = True" not in rendered
    assert "TogglRotateSessionOperator(" in rendered


def test_the_site_index_links_the_readme_to_pages_of_the_site() -> None:
    """The README links relative to the repository; on the site, docs/ pages are linked by name and
    other repository files (not on the site) are shown as text."""
    module = load_script("docs_hooks")
    text = "[docs/api.md](docs/api.md), [`dags/`](dags/), [Airflow](https://airflow.apache.org/), [x](#y)"
    assert (
        module.site_links(text)
        == "[docs/api.md](api.md), `dags/`, [Airflow](https://airflow.apache.org/), [x](#y)"
    )
