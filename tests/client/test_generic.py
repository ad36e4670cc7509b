"""The generic ``request`` and ``paginate`` of the client, against the emulator's data endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_toggl.client import ApiTokenAuth, EmailPasswordAuth, TogglClient
from airflow_toggl.client.endpoint import generic_call, validate_path
from airflow_toggl.client.paging import PageRequest, pager
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglConfigError,
    TogglConnectionError,
    TogglResponseError,
)

WEEK = {"start_date": "2026-11-23", "end_date": "2026-11-29"}


def _search_path(user: dict[str, Any]) -> str:
    return f"/reports/api/v3/workspace/{user['default_workspace_id']}/search/time_entries"


def test_request_returns_parsed_json_or_none(token_client: TogglClient, toggl_user) -> None:
    workspaces = token_client.request("GET", "/api/v9/me/workspaces")
    assert [w["id"] for w in workspaces] == [toggl_user["default_workspace_id"]]
    assert token_client.request("get", "/api/v9/me/logged") is None  # empty body


def test_request_on_the_accounts_service(make_client, toggl_emulator, toggl_user) -> None:
    client = make_client()
    body = {"email": toggl_user["email"], "password": toggl_user["password"]}
    assert client.request("POST", "/api/sessions", service="accounts", json=body) == {}
    assert len(toggl_emulator.live_sessions(toggl_user["email"])) == 1


def test_request_query_parameters(token_client: TogglClient, toggl_emulator, toggl_user) -> None:
    toggl_emulator.add_time_entries(toggl_user["email"], start="2026-11-23T08:00:00Z", count=30, every=86400)
    week = token_client.request(
        "GET", "/api/v9/me/time_entries", params={"start_date": "2026-11-23", "end_date": "2026-11-30"}
    )
    assert [entry["start"][:10] for entry in week][::-1] == [f"2026-11-{day}" for day in range(23, 30)]


def test_head_returns_none_and_is_resent_after_a_drop(
    token_client: TogglClient, toggl_emulator, toggl_user
) -> None:
    toggl_emulator.reset_counters()
    assert token_client.request("HEAD", "/api/v9/me/workspaces") is None  # a HEAD answer has no body
    toggl_emulator.inject_fault("/api/v9/me/workspaces", method="HEAD", action="drop", count=1)
    assert token_client.request("head", "/api/v9/me/workspaces") is None  # idempotent: sent again
    counters = toggl_emulator.counters()
    assert counters["requests"] == {"HEAD /api/v9/me/workspaces": 3}
    assert counters["responses"] == {"HEAD /api/v9/me/workspaces 200": 2}
    with pytest.raises(TogglAPIError) as info:
        token_client.request("HEAD", "/api/v9/no/such/thing")
    assert info.value.status_code == 404


def test_request_errors_are_typed(token_client: TogglClient, make_client, toggl_user) -> None:
    with pytest.raises(TogglAPIError) as info:
        token_client.request("GET", "/api/v9/no/such/thing")
    assert info.value.status_code == 404
    assert "GET /api/v9/no/such/thing" in str(info.value)
    with pytest.raises(TogglAuthError):
        make_client(ApiTokenAuth("f" * 32)).request("GET", "/api/v9/me/workspaces")


@pytest.mark.parametrize(
    ("method", "idempotent", "expected"),
    [
        ("GET", None, True),
        ("HEAD", None, True),
        ("PUT", None, True),
        ("DELETE", None, True),
        ("POST", None, False),
        ("PATCH", None, False),
        ("POST", True, True),
        ("GET", False, False),
    ],
)
def test_idempotent_by_method_unless_told(method: str, idempotent: bool | None, expected: bool) -> None:
    assert generic_call(method, "/api/v9/x", "track", idempotent).idempotent is expected


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("TRACE", "/api/v9/me"), "method"),
        ((None, "/api/v9/me"), "method"),
        (("GET", "/api/v9/me", "reports"), "service"),
        (("GET", "/api/v9/me", "track", "yes"), "idempotent"),
        (("GET", "api/v9/me"), "path"),
        (("GET", ""), "path"),
        (("GET", "https://evil.example/api"), "path"),
        (("GET", "//evil.example/api"), "path"),
        (("GET", "/api/v9/../../etc"), "path"),
        (("GET", "/api/v9/%2e%2e/me"), "path"),
        (("GET", "/api/v9/me?x=1"), "path"),
        (("GET", "/api/v9/me#x"), "path"),
        (("GET", "/api/v9/ me"), "path"),
        (("GET", "/api\\v9"), "path"),
        (("GET", "/api/v9/me\r\nX: y"), "path"),
    ],
)
def test_bad_calls_name_the_field_before_any_request(
    token_client: TogglClient, toggl_emulator, arguments: tuple[Any, ...], field: str
) -> None:
    method, path, *rest = arguments
    options = dict(zip(("service", "idempotent"), rest, strict=False))
    toggl_emulator.reset_counters()
    with pytest.raises(TogglConfigError) as info:
        token_client.request(method, path, **options)
    assert info.value.field == field
    if method is not None:  # paginate reads a missing method as GET
        with pytest.raises(TogglConfigError):
            token_client.paginate(path, method=method, **options)  # checked eagerly, not on first next()
    assert toggl_emulator.counters()["requests"] == {}


def test_a_valid_path_is_kept_as_given() -> None:
    assert validate_path("/api/v9/workspaces/1/projects") == "/api/v9/workspaces/1/projects"


def test_secrets_in_answers_are_registered(make_client, toggl_user) -> None:
    seen: list[str] = []
    client = make_client(ApiTokenAuth(toggl_user["api_token"]), on_secret=seen.append)
    me = client.request("GET", "/api/v9/me")
    assert me["intercom_hash"] in seen
    assert toggl_user["api_token"] in seen
    scrubbed = client.scrub({"me": me, "note": f"token {toggl_user['api_token']}"})
    assert scrubbed["me"]["api_token"] == "***"
    assert scrubbed["me"]["intercom_hash"] == "***"
    assert scrubbed["note"] == "token ***"
    assert scrubbed["me"]["email"] == toggl_user["email"]


def test_a_token_reset_through_request_registers_the_new_token(
    make_client, toggl_emulator, toggl_user
) -> None:
    seen: list[str] = []
    client = make_client(
        EmailPasswordAuth(toggl_user["email"], toggl_user["password"]), on_secret=seen.append
    )
    token = client.request("POST", "/api/v9/me/reset_token")
    assert token == toggl_emulator.user(toggl_user["email"])["api_token"]
    assert token in seen


def test_session_cookies_and_reset_codes_are_registered(make_client, toggl_emulator, toggl_user) -> None:
    seen: list[str] = []
    client = make_client(on_secret=seen.append)
    body = {"email": toggl_user["email"], "password": toggl_user["password"]}
    client.request("POST", "/api/sessions", service="accounts", json=body)
    (session,) = toggl_emulator.live_sessions(toggl_user["email"], include_cookies=True)
    assert session["cookie"] in seen
    assert toggl_user["password"] in seen
    with pytest.raises(TogglAPIError) as info:
        client.request(
            "POST",
            "/api/me/password_reset/confirm/not-a-code-4711",
            service="accounts",
            json={"password": "x2"},
        )
    assert "not-a-code-4711" in seen
    assert "not-a-code-4711" not in str(info.value)
    assert "/password_reset/confirm/<code>" in str(info.value)


# -- paginate --------------------------------------------------------------------------------------


def test_page_style_walks_every_page(token_client: TogglClient, toggl_emulator, toggl_user) -> None:
    path = f"/api/v9/workspaces/{toggl_user['default_workspace_id']}/projects"
    toggl_emulator.reset_counters()
    names = [p["name"] for p in token_client.paginate(path, page_size=2)]
    assert names == ["Development", "Operations", "Research"]  # sorted by name, as Toggl lists them
    assert toggl_emulator.counters()["requests"][f"GET {path}"] == 2  # the short second page is the last
    toggl_emulator.reset_counters()
    assert [p["name"] for p in token_client.paginate(path)] == names  # without per_page: X-Page-Size says
    assert toggl_emulator.counters()["requests"][f"GET {path}"] == 1  # the first page, of 3 < 151, is the last


def test_page_style_without_page_size_stops_at_a_short_page(
    token_client: TogglClient, toggl_emulator, toggl_user
) -> None:
    path = f"/api/v9/workspaces/{toggl_user['default_workspace_id']}/projects"
    toggl_emulator.reset_counters()
    pages = list(token_client.pages(path, params={"per_page": 2}))  # the page size only the answer tells
    assert [len(page.items) for page in pages] == [2, 1]
    assert toggl_emulator.counters()["requests"][f"GET {path}"] == 2  # no empty third page


def test_rows_style_follows_the_next_row_headers(
    token_client: TogglClient, toggl_emulator, toggl_user
) -> None:
    toggl_emulator.add_time_entries(
        toggl_user["email"], start="2026-11-23T00:00:00Z", count=7 * 24, every=3600
    )
    toggl_emulator.reset_counters()
    rows = token_client.paginate(_search_path(toggl_user), style="rows", json=WEEK, page_size=50)
    numbers = [row["row_number"] for row in rows]
    assert numbers == list(range(1, 7 * 24 + 1))
    counters = toggl_emulator.counters()
    assert counters["requests"][f"POST {_search_path(toggl_user)}"] == 4
    assert counters["connections"] == 1  # every page over the one pooled connection


def test_a_walk_resumes_from_a_page_cursor_without_reading_a_page_twice(
    token_client: TogglClient, toggl_emulator, toggl_user
) -> None:
    toggl_emulator.add_time_entries(toggl_user["email"], start="2026-11-23T00:00:00Z", count=120)
    path = _search_path(toggl_user)
    toggl_emulator.reset_counters()
    first = next(token_client.pages(path, style="rows", json=WEEK, page_size=50))
    assert first.number == 1
    assert first.cursor is not None
    assert set(first.cursor) <= {"pages", "first_row_number", "first_id", "first_timestamp"}
    assert first.cursor["pages"] == 1
    rest = list(token_client.pages(path, style="rows", json=WEEK, page_size=50, resume=first.cursor))
    assert [page.number for page in rest] == [2, 3]
    assert rest[-1].last
    rows = [row["row_number"] for page in [first, *rest] for row in page.items]
    assert rows == list(range(1, 121))
    assert toggl_emulator.counters()["requests"][f"POST {path}"] == 3

    projects = f"/api/v9/workspaces/{toggl_user['default_workspace_id']}/projects"
    names_in_order = [p["name"] for p in token_client.paginate(projects, page_size=200)]
    page_one = next(token_client.pages(projects, page_size=2))
    assert page_one.cursor == {"pages": 1, "page": 2}
    resumed = list(token_client.pages(projects, page_size=2, resume=page_one.cursor))
    assert [p["name"] for page in resumed for p in page.items] == [names_in_order[2]]


def test_max_pages_counts_the_pages_read_before_a_resume(token_client: TogglClient, toggl_user) -> None:
    projects = f"/api/v9/workspaces/{toggl_user['default_workspace_id']}/projects"
    with pytest.raises(TogglConfigError) as info:
        list(token_client.pages(projects, page_size=1, max_pages=2, resume={"pages": 2, "page": 3}))
    assert info.value.field == "max_pages"


def test_a_cursor_already_past_max_pages_sends_nothing(token_client: TogglClient, toggl_emulator, toggl_user) -> None:
    projects = f"/api/v9/workspaces/{toggl_user['default_workspace_id']}/projects"
    with pytest.raises(TogglConfigError) as info:
        list(token_client.pages(projects, page_size=1, max_pages=2, resume={"pages": 3, "page": 4}))
    assert info.value.field == "max_pages"
    assert f"GET {projects}" not in toggl_emulator.counters()["requests"]


@pytest.mark.parametrize(
    ("style", "cursor"),
    [
        ("page", {"pages": 1, "first_row_number": 5}),
        ("rows", {"pages": 1, "page": 2}),
        ("rows", {"pages": -1}),
        ("rows", {"pages": "1"}),
        ("page", {}),
        ("page", [1]),
    ],
)
def test_a_cursor_of_another_style_or_shape_names_resume(style: str, cursor: Any) -> None:
    with pytest.raises(TogglConfigError) as info:
        pager(style).start(None, None, cursor)
    assert info.value.field == "resume"


def test_max_pages_guards_a_runaway_listing(token_client: TogglClient, toggl_emulator, toggl_user) -> None:
    path = f"/api/v9/workspaces/{toggl_user['default_workspace_id']}/projects"
    items = token_client.paginate(path, page_size=1, max_pages=2)
    assert next(items)["name"] == "Development"
    assert next(items)["name"] == "Operations"
    with pytest.raises(TogglConfigError) as info:
        next(items)
    assert info.value.field == "max_pages"


def test_a_page_that_is_not_a_list_is_a_response_error(token_client: TogglClient) -> None:
    with pytest.raises(TogglResponseError):
        list(token_client.paginate("/api/v9/me"))


def test_a_page_fault_is_retried_and_the_walk_goes_on(
    token_client: TogglClient, toggl_emulator, toggl_user
) -> None:
    toggl_emulator.add_time_entries(toggl_user["email"], start="2026-11-23T00:00:00Z", count=120)
    path = _search_path(toggl_user)
    rows = token_client.paginate(path, style="rows", json=WEEK, page_size=50)
    assert next(rows)["row_number"] == 1
    toggl_emulator.inject_fault(path, action="drop", count=1)  # the second page's first attempt
    assert len(list(rows)) == 119


def test_a_dropped_post_is_not_resent_unless_idempotent(make_client, toggl_emulator, toggl_user) -> None:
    client = make_client(ApiTokenAuth(toggl_user["api_token"]))
    path = _search_path(toggl_user)
    toggl_emulator.inject_fault(path, action="drop", count=1)
    with pytest.raises(TogglConnectionError):
        client.request("POST", path, json=WEEK)
    toggl_emulator.inject_fault(path, action="drop", count=1)
    assert client.request("POST", path, json=WEEK, idempotent=True) == []


@pytest.mark.parametrize(
    ("style", "headers", "expected"),
    [
        ("rows", {}, None),
        (
            "rows",
            {"X-Next-Row-Number": "51", "X-Next-ID": "9", "X-Next-Timestamp": "7"},
            {"page_size": 50, "first_row_number": 51, "first_id": 9, "first_timestamp": 7},
        ),
        ("rows", {"X-Next-Row-Number": "51"}, {"page_size": 50, "first_row_number": 51}),
    ],
)
def test_next_row_request_table(style: str, headers: dict[str, str], expected: dict[str, Any] | None) -> None:
    cursor = pager(style, 50)
    first = cursor.start(None, {"first_id": 1})
    following = cursor.next(first, [{}], headers)
    assert (following.json if following else None) == expected


@pytest.mark.parametrize(
    ("page_size", "headers", "items", "expected_page"),
    [
        (2, {}, [1, 2], 2),
        (2, {}, [1], None),
        (None, {}, [1], 2),
        (None, {}, [], None),
        (2, {}, [], None),
        (None, {"X-Page-Size": "3"}, [1, 2], None),
        (5, {"X-Page-Size": "2"}, [1, 2], 2),
    ],
)
def test_next_page_table(
    page_size: int | None, headers: dict[str, str], items: list[int], expected_page: int | None
) -> None:
    cursor = pager("page", page_size)
    following = cursor.next(PageRequest({"page": 1}, None), items, headers)
    assert (following.params["page"] if following else None) == expected_page


def test_a_bad_next_row_header_is_a_response_error() -> None:
    cursor = pager("rows", None)
    with pytest.raises(TogglResponseError):
        cursor.next(cursor.start(None, None), [], {"X-Next-Row-Number": "soon"})


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"style": "cursor"}, "style"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": True}, "page_size"),
        ({"items_key": ""}, "items_key"),
        ({"max_pages": 0}, "max_pages"),
        ({"style": "rows", "json": [1]}, "json"),
        ({"style": "since"}, "style"),  # since is a filter in Toggl, not a way to page
        ({"resume": {"pages": 1, "first_row_number": 3}}, "resume"),
    ],
)
def test_bad_paging_arguments_name_the_field(
    token_client: TogglClient, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(TogglConfigError) as info:
        token_client.paginate("/api/v9/me/time_entries", **options)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"items": [1, 2]}, [1, 2]), ({"items": None}, []), ({}, []), (None, [])],
)
def test_items_under_a_key(body: Any, expected: list[Any]) -> None:
    assert pager("page", None, "items").items(body) == expected


def test_items_that_are_not_a_list_are_a_response_error() -> None:
    with pytest.raises(TogglResponseError):
        pager("page", None, "items").items({"items": {"a": 1}})
    with pytest.raises(TogglResponseError):
        pager("page").items({"items": [1]})  # an object answer needs items_key
