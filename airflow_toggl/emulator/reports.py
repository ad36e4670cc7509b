"""Reports API v3 over the workspace's time entries: detailed search, summary and weekly.

The detailed search pages by row: ``page_size`` (default 50) rows from ``first_row_number``,
oldest first (``order_dir`` ``DESC`` turns that round), and ``X-Next-ID``, ``X-Next-Row-Number``
and ``X-Next-Timestamp`` name the next page's first row while rows remain; the last page has
none of them. Every method expects the caller to hold ``state.lock``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timezone
from typing import Any

from airflow_toggl.emulator.api import Failure, Params, Route, body_of
from airflow_toggl.emulator.request import Request
from airflow_toggl.emulator.resources import BadInput, iso
from airflow_toggl.emulator.responses import Response, json_response
from airflow_toggl.emulator.state import User
from airflow_toggl.emulator.store import Store

REPORTS_PREFIX = "/reports/api/v3/"
REPORT_PAGE_SIZE = 50
MAX_REPORT_PAGE_SIZE = 1000
NO_WORKSPACE = "Workspace not found/accessible"
GROUPINGS = ("projects", "users", "clients")
SUB_GROUPINGS = ("time_entries", "tasks", "projects", "users", "clients")
_GROUP_FIELD = {"projects": "project_id", "users": "user_id", "clients": "client_id", "tasks": "task_id"}
DAY = 86400


class Reports:
    """The three Reports v3 endpoints of a workspace."""

    def __init__(self, store: Store) -> None:
        """Report on the records of ``store``."""
        self.store = store

    def _entries(
        self, user: User, workspace_id: int, body: dict[str, Any], *, days: int | None = None
    ) -> tuple[list[dict[str, Any]], float, float]:
        """The workspace's undeleted, stopped entries starting within the body's dates, oldest first, and the range.

        ``end_date`` defaults to today (or ``start_date`` when that is later); a running entry is
        left out until it stops (the emulator's choice: Toggl's docs do not say).
        """
        if not self.store.is_member(user, workspace_id):
            raise Failure(403, NO_WORKSPACE)
        low = _day(body.get("start_date"), "start_date")
        if days is not None and body.get("end_date") is None:
            high = low + days * DAY
        elif body.get("end_date") is None:
            high = max(low, self.store.state.now() // DAY * DAY) + DAY
        else:
            high = _day(body.get("end_date"), "end_date") + DAY  # the whole end day
        if high - DAY < low:
            raise BadInput("'end_date' must be after 'start_date'")
        if days is not None and high - low > days * DAY:
            raise BadInput(f"The report period is limited to {days} days")
        entries = [
            {**record, "seconds": int(record["duration"])}
            for record in self.store.records("time_entries", workspace_id)
            if low <= record["start"] < high and record["stop"] is not None
        ]
        entries.sort(key=lambda record: (record["start"], record["id"]))
        return entries, low, high

    def search(self, request: Request, user: User, params: Params) -> Response:
        """``POST .../search/time_entries``: one row per entry, paged by row number."""
        body = body_of(request)
        entries, low, high = self._entries(user, params["workspace_id"], body)
        size = _body_int(body, "page_size", REPORT_PAGE_SIZE, minimum=1, maximum=MAX_REPORT_PAGE_SIZE)
        first = _body_int(body, "first_row_number", 1, minimum=1)
        order = str(body.get("order_dir") or "ASC").upper()
        if order not in ("ASC", "DESC"):
            raise BadInput("Invalid 'order_dir' value, allowed values are: 'ASC', 'DESC'")
        if order == "DESC":
            entries.reverse()
        users = self.store.state.users
        chosen = entries[first - 1 : first - 1 + size]
        rows = [_row(entry, users[entry["user_id"]].fullname, first + i) for i, entry in enumerate(chosen)]
        headers = _range_headers(low, high)
        following = first - 1 + size
        if following < len(entries):
            after = entries[following]
            headers += [
                ("X-Next-ID", str(after["id"])),
                ("X-Next-Row-Number", str(following + 1)),
                ("X-Next-Timestamp", str(int(after["start"]))),
            ]
        return json_response(200, rows, headers)

    def summary(self, request: Request, user: User, params: Params) -> Response:
        """``POST .../summary/time_entries``: seconds by group and sub-group."""
        body = body_of(request)
        grouping = _choice(body, "grouping", GROUPINGS)
        sub_grouping = _choice(body, "sub_grouping", SUB_GROUPINGS)
        entries, low, high = self._entries(user, params["workspace_id"], body)
        projects = self.store.tables["projects"]
        groups: dict[Any, dict[Any, dict[str, Any]]] = defaultdict(dict)
        for entry in entries:
            client = projects[entry["project_id"]]["client_id"] if entry["project_id"] in projects else None
            values = {**entry, "client_id": client}
            key = values[_GROUP_FIELD[grouping]]
            sub_key = (
                entry["description"] if sub_grouping == "time_entries" else values[_GROUP_FIELD[sub_grouping]]
            )
            sub = groups[key].setdefault(sub_key, {"id": None, "title": None, "seconds": 0, "ids": []})
            if sub_grouping == "time_entries":
                sub["title"] = entry["description"]
            else:
                sub["id"] = sub_key
            sub["seconds"] += entry["seconds"]
            sub["ids"].append(entry["id"])
        shown = [{"id": key, "sub_groups": list(subs.values())} for key, subs in groups.items()]
        headers = [("X-Grouping", grouping), ("X-Sub-Grouping", sub_grouping), *_range_headers(low, high)]
        return json_response(200, {"groups": shown}, headers)

    def weekly(self, request: Request, user: User, params: Params) -> Response:
        """``POST .../weekly/time_entries``: seconds per day of the week, by user and project."""
        body = body_of(request)
        entries, low, _ = self._entries(user, params["workspace_id"], body, days=7)
        rows: dict[tuple[int, int | None], dict[str, Any]] = {}
        for entry in entries:
            key = (entry["user_id"], entry["project_id"])
            row = rows.setdefault(
                key,
                {
                    "user_id": key[0],
                    "project_id": key[1],
                    "planned_task_id": None,
                    "seconds": [0] * 7,
                    "billable_amounts_in_cents": [0] * 7,
                    "hourly_rate_in_cents": None,
                    "currency": "USD",
                },
            )
            row["seconds"][int((entry["start"] - low) // DAY)] += entry["seconds"]
        return json_response(200, list(rows.values()))

    def routes(self) -> list[Route]:
        """The Reports routes."""
        base = "/reports/api/v3/workspace/{workspace_id}"
        return [
            Route(f"{base}/search/time_entries", {"POST": self.search}),
            Route(f"{base}/summary/time_entries", {"POST": self.summary}),
            Route(f"{base}/weekly/time_entries", {"POST": self.weekly}),
        ]


def _row(entry: dict[str, Any], username: str, row_number: int) -> dict[str, Any]:
    """The detailed-report row holding this one entry."""
    return {
        "user_id": entry["user_id"],
        "username": username,
        "project_id": entry["project_id"],
        "task_id": entry["task_id"],
        "billable": entry["billable"],
        "description": entry["description"],
        "tag_ids": list(entry["tag_ids"]),
        "billable_amount_in_cents": None,
        "hourly_rate_in_cents": None,
        "currency": "USD",
        "time_entries": [
            {
                "id": entry["id"],
                "seconds": entry["seconds"],
                "start": iso(entry["start"]),
                "stop": iso(entry["stop"]),
                "at": iso(entry["at"]),
                "at_tz": iso(entry["at"]),  # the user's time zone: UTC here
            }
        ],
        "row_number": row_number,
    }


def _range_headers(low: float, high: float) -> list[tuple[str, str]]:
    return [("X-Range-Start", _date(low)), ("X-Range-End", _date(high - DAY))]


def _date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).date().isoformat()


def _day(value: Any, name: str) -> float:
    """A ``YYYY-MM-DD`` date as the epoch of its midnight (UTC)."""
    if not isinstance(value, str):
        raise BadInput(f"Invalid '{name}' value: a date (YYYY-MM-DD) is required")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"Invalid '{name}' value: a date (YYYY-MM-DD) is required") from None
    return datetime.combine(day, time(), tzinfo=timezone.utc).timestamp()


def _choice(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = body.get(name) or allowed[0]
    if value not in allowed:
        raise BadInput(f"Invalid '{name}' value, allowed values are: '{', '.join(allowed)}'")
    return str(value)


def _body_int(
    body: dict[str, Any], name: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadInput(f"Invalid '{name}' value: an integer >= {minimum} is required")
    if maximum is not None and value > maximum:
        raise BadInput(f"Invalid '{name}' value: at most {maximum}")
    return value


__all__ = ["REPORTS_PREFIX", "Reports"]
