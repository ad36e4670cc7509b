"""The emulator answers every endpoint of the contract table as Toggl's specs say, and serves no other.

``toggl_contract.json`` (beside this file) is derived from Toggl's published specifications and
documentation (its ``sources`` name them): per endpoint the method, path, success status, the
kind of body, the fields every answer carries with their JSON types, and the headers it carries.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_toggl.emulator import TogglEmulator

CONTRACT = json.loads((Path(__file__).parent / "toggl_contract.json").read_text(encoding="utf-8"))
ENDPOINTS = CONTRACT["endpoints"]
SERIAL = itertools.count(1)  # distinct names: Toggl refuses a duplicate one
EMAIL = "contract@example.com"
AUTH = (EMAIL, "contract-pw")  # email and password: the reset_token endpoint changes the API token
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def _template(path: str) -> str:
    """A path with every ``{placeholder}`` made the same, so the spec's names and ours compare."""
    return re.sub(r"\{\w+\}", "{}", path)


def _is(value: Any, kinds: str) -> bool:
    """Whether ``value`` has one of the ``|``-joined JSON types (a bool is no integer)."""
    for kind in kinds.split("|"):
        if kind in ("integer", "number") and isinstance(value, bool):
            continue
        if isinstance(value, JSON_TYPES[kind]):
            return True
    return False


def _check_fields(item: Any, fields: dict[str, str], where: str) -> None:
    assert isinstance(item, dict), f"{where}: expected an object, got {item!r}"
    for name, kinds in fields.items():
        assert name in item, f"{where}: no field {name}"
        assert _is(item[name], kinds), f"{where}: {name}={item[name]!r} is not {kinds}"


@pytest.fixture(scope="module")
def world() -> Any:
    """An emulator with one account: a client, a tag, a task and November's time entries."""
    with TogglEmulator(quota_limit=10_000) as em:  # quotas on (headers on every answer), never used up
        user = em.add_user(*AUTH)
        em.add_time_entries(EMAIL, start="2026-11-02T09:00:00Z", count=5, every=86400)
        project = em.add_record(EMAIL, "projects", name="Seeded project")
        em.add_record(EMAIL, "clients", name="Seeded client")
        em.add_record(EMAIL, "tags", name="seeded-tag")
        em.add_record(EMAIL, "tasks", name="Seeded task", project_id=project["id"])
        yield em, user


def _ids(em: TogglEmulator, user: dict[str, Any], endpoint: dict[str, Any]) -> dict[str, int]:
    """Fresh records for the ids a path names (so a DELETE or a stop never depends on another test)."""
    path = endpoint["path"]
    ids = {"workspace_id": user["default_workspace_id"], "organization_id": user["organization_id"]}
    for name, resource in (("project_id", "projects"), ("client_id", "clients"), ("tag_id", "tags")):
        if "{" + name + "}" in path:
            ids[name] = em.add_record(EMAIL, resource, name=f"{resource} {next(SERIAL)}")["id"]
    if "{task_id}" in path or (path.endswith("/tasks") and "{project_id}" in path):
        ids["task_id"] = em.add_record(EMAIL, "tasks", name=f"task {next(SERIAL)}", project_id=ids["project_id"])["id"]
    if "{time_entry_id}" in path or "{time_entry_ids}" in path:
        duration = -1 if path.endswith("/stop") else 600
        entry = em.add_record(EMAIL, "time_entries", start="2026-11-20T08:00:00Z", duration=duration)
        ids["time_entry_id"] = ids["time_entry_ids"] = entry["id"]
    return ids


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e['method']} {e['path']}" for e in ENDPOINTS])
def test_endpoint_answers_as_the_contract_says(world: Any, endpoint: dict[str, Any]) -> None:
    em, user = world
    url = em.url + endpoint["path"].format(**_ids(em, user, endpoint))
    body = endpoint.get("request")
    response = requests.request(endpoint["method"], url, auth=AUTH, json=body, timeout=10)
    assert response.status_code == endpoint["status"], response.text
    for header in [*endpoint["headers"], *CONTRACT["quota_headers"]]:
        assert header in response.headers, header
    kinds = endpoint["body"]
    if kinds == "empty":
        assert response.content == b""
        return
    payload = response.json()
    assert _is(payload, kinds), f"body {payload!r} is not {kinds}"
    fields = endpoint.get("fields")
    if isinstance(fields, str):
        fields = CONTRACT["schemas"][fields]
    items = payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else []
    if isinstance(payload, list):
        assert payload, "an empty list proves nothing: the world above gives every listing a record"
    for index, item in enumerate(items):
        _check_fields(item, fields or {}, f"{endpoint['method']} {endpoint['path']} [{index}]")
    for dotted, schema in endpoint.get("nested", {}).items():
        inner = _reach(items, dotted.split("."))
        assert inner, f"nothing inside {dotted} to check"
        for item in inner:
            _check_fields(item, CONTRACT["schemas"][schema], f"{endpoint['path']} {dotted}")


def _reach(items: list[Any], names: list[str]) -> list[Any]:
    """The objects inside the list field ``names[0]`` of each item, then inside ``names[1]``..."""
    for name in names:
        items = [inner for item in items for inner in item[name]]
    return items


def test_quota_headers_on_every_answer(toggl_emulator_factory: Any) -> None:
    em = toggl_emulator_factory(plan_quotas=True)
    user = em.add_user(EMAIL, "contract-pw")
    for endpoint in ENDPOINTS:
        if endpoint["method"] != "GET" or "{" in endpoint["path"].replace("{workspace_id}", ""):
            continue
        url = em.url + endpoint["path"].format(workspace_id=user["default_workspace_id"])
        response = requests.get(url, auth=AUTH, timeout=10)
        for header in CONTRACT["quota_headers"]:
            assert header in response.headers, (endpoint["path"], header)


def test_last_report_page_has_no_next_headers(world: Any) -> None:
    em, user = world
    search = next(e for e in ENDPOINTS if e["path"].endswith("/search/time_entries"))
    url = em.url + search["path"].format(workspace_id=user["default_workspace_id"])
    first = requests.post(url, auth=AUTH, json=search["request"], timeout=10)
    following = int(first.headers["X-Next-Row-Number"])
    rows = []
    while True:
        page = requests.post(
            url, auth=AUTH, json={**search["request"], "first_row_number": following}, timeout=10
        )
        rows += page.json()
        if "X-Next-Row-Number" not in page.headers:
            break
        following = int(page.headers["X-Next-Row-Number"])
    for header in search["absent_on_last_page"]:
        assert header not in page.headers
    assert len(first.json()) + len(rows) >= 5


def test_the_emulator_serves_exactly_the_table() -> None:
    """A path served but missing from the table (or the reverse) fails here, so the two cannot drift."""
    em = TogglEmulator()
    served = {(method, _template(path)) for method, path in em.app.router.served()}
    table = {(e["method"], _template(e["path"])) for e in ENDPOINTS}
    assert served - table == set(), "served by the emulator but not in the contract table"
    assert table - served == set(), "in the contract table but not served by the emulator"


def test_the_table_names_its_sources() -> None:
    assert CONTRACT["sources"]
    assert all(source.get("url") for source in CONTRACT["sources"])
    assert any("v9" in source["name"] for source in CONTRACT["sources"])
    assert any("Reports API v3" in source["name"] for source in CONTRACT["sources"])


def test_the_emulator_starts_fast_and_stays_small() -> None:
    started = time.perf_counter()
    with TogglEmulator() as em:
        assert requests.get(f"{em.url}/_emulator/health", timeout=5).status_code == 200
        elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"started and answered in {elapsed:.2f} s"
    package = Path(__file__).resolve().parents[2] / "airflow_toggl" / "emulator"
    sizes = {module.name: len(module.read_text().splitlines()) for module in package.glob("*.py")}
    assert max(sizes.values()) <= 500, sizes
