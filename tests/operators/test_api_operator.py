"""TogglApiOperator with the real hook against the emulator: XCom answers, JSON Lines exports, deferral."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_toggl.exceptions import TogglConfigError, TogglQuotaExceededError
from airflow_toggl.operators.api import TogglApiOperator
from airflow_toggl.operators.export import ExportPartsMissingError
from airflow_toggl.sessions.store import SessionStore, default_session_key
from devkit.airflow import toggl_connection
from devkit.deferral import TaskDeferred
from tests.support.final import fails_for_good

pytestmark = pytest.mark.timeout(60)
WEEK = {"start_date": "2026-11-23", "end_date": "2026-11-29"}


@pytest.fixture
def seeded(toggl_conn_env, variables, toggl_emulator, toggl_user) -> dict[str, Any]:
    """The emulator's user as ``toggl_default``, with a week of hourly time entries."""
    toggl_emulator.add_time_entries(toggl_user["email"], start="2026-11-23T00:00:00Z", count=7 * 24)
    return toggl_user


def _search_path(user: dict[str, Any]) -> str:
    return f"/reports/api/v3/workspace/{user['default_workspace_id']}/search/time_entries"


def _week_export(user: dict[str, Any], target: Path, **options: Any) -> TogglApiOperator:
    """The week's detailed report, 50 rows a page, written to ``target``."""
    return TogglApiOperator(
        task_id="export",
        path=_search_path(user),
        json=WEEK,
        paginate="rows",
        page_size=50,
        output_path=f"file://{target}",
        **options,
    )


@pytest.fixture
def two_pages_of_quota(variables, toggl_emulator, toggl_user, monkeypatch) -> dict[str, Any]:
    """120 entries (three pages of 50) but a quota of two requests, never waited for in the task."""
    connection = toggl_connection(toggl_emulator, toggl_user, max_quota_wait=0)
    monkeypatch.setenv("AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(connection))
    toggl_emulator.add_time_entries(toggl_user["email"], start="2026-11-23T00:00:00Z", count=120)
    toggl_emulator.configure(quota_limit=2, quota_window=600)
    return toggl_user


def _with_auth_mode(auth_mode: str, user: dict[str, Any]) -> None:
    if auth_mode == "session":
        from airflow_toggl.hooks.toggl import TogglHook

        session = TogglHook(auth_mode="basic").create_session()
        SessionStore(default_session_key("toggl_default")).save(session, user_id=user["id"])


@pytest.mark.parametrize("auth_mode", ["api_token", "basic", "session"])
def test_one_request_to_xcom(seeded, toggl_emulator, auth_mode: str) -> None:
    _with_auth_mode(auth_mode, seeded)
    operator = TogglApiOperator(task_id="workspaces", path="/api/v9/me/workspaces", auth_mode=auth_mode)
    result = operator.execute({})
    assert [w["id"] for w in result] == [seeded["default_workspace_id"]]
    kind = {"api_token": "token", "basic": "basic", "session": "session"}[auth_mode]
    assert (
        toggl_emulator.counters()["requests_by_credential"][
            f"{kind}:{seeded['email']} GET /api/v9/me/workspaces"
        ]
        == 1
    )


@pytest.mark.parametrize("auth_mode", ["api_token", "basic", "session"])
def test_paginated_export_to_json_lines(seeded, tmp_path: Path, auth_mode: str) -> None:
    _with_auth_mode(auth_mode, seeded)
    target = tmp_path / "exports" / "week.jsonl"
    result = _week_export(seeded, target, auth_mode=auth_mode).execute({})
    assert result == {"path": f"file://{target}", "rows": 7 * 24}
    lines = target.read_text().splitlines()
    assert [json.loads(line)["row_number"] for line in lines] == list(range(1, 7 * 24 + 1))


def test_an_object_storage_path_is_accepted(seeded, tmp_path: Path) -> None:
    from airflow.sdk import ObjectStoragePath

    target = ObjectStoragePath(f"file://{tmp_path}/projects.jsonl")
    path = f"/api/v9/workspaces/{seeded['default_workspace_id']}/projects"
    result = TogglApiOperator(
        task_id="p", path=path, paginate="page", page_size=2, output_path=target
    ).execute({})
    assert result["rows"] == 3
    assert (tmp_path / "projects.jsonl").read_text().count("\n") == 3


def test_a_paged_listing_to_xcom_is_bounded(seeded, toggl_emulator) -> None:
    path = _search_path(seeded)
    small = TogglApiOperator(task_id="s", path=path, json={**WEEK, "end_date": "2026-11-23"}, paginate="rows")
    assert len(small.execute({})) == 24
    toggl_emulator.reset_counters()
    big = TogglApiOperator(
        task_id="b", path=path, json=WEEK, paginate="rows", page_size=20, max_xcom_items=30
    )
    with fails_for_good(TogglConfigError) as info:
        big.execute({})
    assert info.value.field == "max_xcom_items"
    assert toggl_emulator.counters()["requests"][f"POST {path}"] == 2  # stopped as soon as it was too many


def test_secrets_never_reach_xcom_or_the_export(seeded, tmp_path: Path) -> None:
    me = TogglApiOperator(task_id="me", path="/api/v9/me").execute({})
    assert me["api_token"] == "***"
    assert me["intercom_hash"] == "***"
    target = tmp_path / "me.jsonl"
    TogglApiOperator(task_id="me", path="/api/v9/me", output_path=f"file://{target}").execute({})
    written = target.read_text()
    assert seeded["api_token"] not in written
    assert json.loads(written)["email"] == seeded["email"]


def test_init_only_assigns_and_execute_names_the_bad_field(seeded, toggl_emulator, tmp_path: Path) -> None:
    cases = [
        ({"path": "https://elsewhere.example/x"}, "path"),
        ({"path": "/api/v9/me", "method": "FETCH"}, "method"),
        ({"path": "/api/v9/me", "service": "reports"}, "service"),
        ({"path": "/api/v9/me", "paginate": "cursor"}, "style"),
        ({"path": "/api/v9/me", "output_path": "relative/file.jsonl"}, "output_path"),
        ({"path": "/api/v9/me", "max_xcom_items": -1}, "max_xcom_items"),
        ({"path": "/api/v9/me", "auth_mode": "oauth"}, "auth_mode"),
    ]
    toggl_emulator.reset_counters()
    for arguments, field in cases:
        operator = TogglApiOperator(task_id="bad", **arguments)  # parsing a DAG never fails here
        with fails_for_good(TogglConfigError) as info:
            operator.execute({})
        assert info.value.field == field, arguments
    assert toggl_emulator.counters()["requests"] == {}


def test_an_output_path_naming_a_folder_fails_before_any_request(seeded, toggl_emulator, tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    toggl_emulator.reset_counters()
    operator = TogglApiOperator(task_id="e", path="/api/v9/me/workspaces", output_path=f"file://{tmp_path}/exports")
    with fails_for_good(TogglConfigError, match="names a folder") as info:
        operator.execute({})
    assert info.value.field == "output_path"
    assert toggl_emulator.counters()["requests"] == {}
    assert list((tmp_path / "exports").iterdir()) == []


def _rows_of(target: Path) -> list[int]:
    return [json.loads(line)["row_number"] for line in target.read_text().splitlines()]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_failed_export_leaves_no_partial_file_and_a_retry_goes_on(
    two_pages_of_quota, toggl_emulator, tmp_path
) -> None:
    target = tmp_path / "week.jsonl"
    search = f"POST {_search_path(two_pages_of_quota)}"
    with pytest.raises(TogglQuotaExceededError):
        _week_export(two_pages_of_quota, target).execute({})
    assert toggl_emulator.counters()["responses"][f"{search} 200"] == 2
    assert not target.exists()
    assert len(_leftovers(tmp_path)) == 1  # the two pages written, waiting for a retry

    toggl_emulator.configure(quota_limit=None)
    retried = _week_export(two_pages_of_quota, target).execute({})  # a new try: a new operator object
    assert retried == {"path": f"file://{target}", "rows": 120}
    assert _rows_of(target) == list(range(1, 121))  # every row once
    counters = toggl_emulator.counters()
    assert counters["responses"][f"{search} 200"] == 3  # pages 1 and 2 were not read again
    assert counters["requests"][search] == 4  # N + k: three pages and one refusal
    assert _leftovers(tmp_path) == []


def test_a_retry_after_every_page_was_written_only_moves_the_file(
    two_pages_of_quota, toggl_emulator, tmp_path
) -> None:
    """A try that stops between the last page and the move (here the join cannot be written) costs its retry no request."""
    from airflow.sdk import ObjectStoragePath

    from airflow_toggl.operators.export import PagedExport

    toggl_emulator.configure(quota_limit=None)
    target = tmp_path / "week.jsonl"
    search = f"POST {_search_path(two_pages_of_quota)}"
    operator = _week_export(two_pages_of_quota, target)
    folder = Path(PagedExport(ObjectStoragePath(f"file://{target}"), operator._export_id({})).folder.path)
    (folder / "joined.jsonl").mkdir(parents=True)  # the join fails: a directory stands where it goes
    with pytest.raises(IsADirectoryError):
        operator.execute({})
    assert not target.exists()
    assert toggl_emulator.counters()["responses"][f"{search} 200"] == 3

    (folder / "joined.jsonl").rmdir()
    toggl_emulator.reset_counters()
    retried = _week_export(two_pages_of_quota, target).execute({})  # a new try: a new operator object
    assert retried == {"path": f"file://{target}", "rows": 120}
    assert _rows_of(target) == list(range(1, 121))
    assert toggl_emulator.counters()["requests"] == {}  # no page read again
    assert _leftovers(tmp_path) == []


def test_a_used_up_quota_defers_the_export_and_it_goes_on_from_its_cursor(
    two_pages_of_quota, toggl_emulator, tmp_path
) -> None:
    target = tmp_path / "week.jsonl"
    operator = _week_export(two_pages_of_quota, target, deferrable=True)
    with pytest.raises(TaskDeferred) as info:
        operator.execute({})
    assert info.value.method_name == "execute_complete"
    trigger = info.value.trigger
    assert trigger.resume_at is not None
    assert trigger.resume["rows"] == 100
    assert trigger.resume["cursor"]["pages"] == 2
    assert trigger.resume["cursor"]["first_row_number"] == 101
    assert set(trigger.resume["cursor"]) <= {"pages", "first_row_number", "first_id", "first_timestamp"}
    assert not target.exists()

    toggl_emulator.configure(quota_limit=None)
    resumed = _week_export(two_pages_of_quota, target, deferrable=True)  # the resumed task's own object
    event = {"status": "quota_reset", "resume_at": trigger.resume_at.isoformat(), "resume": trigger.resume}
    assert resumed.execute_complete({}, event) == {"path": f"file://{target}", "rows": 120}
    assert _rows_of(target) == list(range(1, 121))
    assert toggl_emulator.counters()["requests"][f"POST {_search_path(two_pages_of_quota)}"] == 4


def test_a_resumed_export_missing_its_earlier_parts_fails_naming_output_path(
    two_pages_of_quota, toggl_emulator, tmp_path
) -> None:
    """As when the task goes on on another worker than the one with the parts on its local disk."""
    import shutil

    target = tmp_path / "week.jsonl"
    with pytest.raises(TaskDeferred) as info:
        _week_export(two_pages_of_quota, target, deferrable=True).execute({})
    (parts,) = [tmp_path / name for name in _leftovers(tmp_path)]
    shutil.rmtree(parts)
    toggl_emulator.configure(quota_limit=None)
    event = {"status": "quota_reset", "resume_at": "2026-01-01T00:00:00+00:00", "resume": info.value.trigger.resume}
    with pytest.raises(ExportPartsMissingError, match="output_path lacks part 1"):  # retried: not final
        _week_export(two_pages_of_quota, target, deferrable=True).execute_complete({}, event)
    assert not target.exists()
    assert _leftovers(tmp_path) == []  # so the task's retry starts afresh
    assert _week_export(two_pages_of_quota, target).execute({})["rows"] == 120


def test_a_listing_to_xcom_goes_on_after_a_deferral(two_pages_of_quota, toggl_emulator) -> None:
    listing = TogglApiOperator(
        task_id="l", path=_search_path(two_pages_of_quota), json=WEEK, paginate="rows", page_size=50,
        deferrable=True,
    )
    with pytest.raises(TaskDeferred) as info:
        listing.execute({})
    resume = info.value.trigger.resume
    assert len(resume["items"]) == 100
    toggl_emulator.configure(quota_limit=None)
    event = {"status": "quota_reset", "resume_at": "2026-01-01T00:00:00+00:00", "resume": resume}
    rows = listing.execute_complete({}, event)
    assert [row["row_number"] for row in rows] == list(range(1, 121))
    assert toggl_emulator.counters()["requests"][f"POST {_search_path(two_pages_of_quota)}"] == 4


def test_the_operator_is_listed_by_the_provider() -> None:
    from airflow_toggl import get_provider_info

    modules = [m for entry in get_provider_info()["operators"] for m in entry["python-modules"]]
    assert "airflow_toggl.operators.api" in modules
