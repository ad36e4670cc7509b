"""Seeded workspace data and the endpoints that read it: workspaces, projects, time entries, reports.

Each account gets its default workspace and three projects the first time its data is read; time
entries are added by :meth:`WorkspaceData.add_time_entries` (tests, the demo). The shapes and the
parameter names follow Toggl's public documentation:

- ``GET /api/v9/me/workspaces`` (``since``);
- ``GET /api/v9/workspaces/{workspace_id}/projects`` (``page``, ``per_page`` up to 200, ``since``);
- ``GET /api/v9/me/time_entries`` (``start_date``/``end_date``, ``since``, ``before``), newest first;
- ``POST /reports/api/v3/workspace/{workspace_id}/search/time_entries``: body ``start_date``,
  ``end_date``, ``page_size``, ``first_row_number``; one row per entry, and the ``X-Next-ID``,
  ``X-Next-Row-Number`` and ``X-Next-Timestamp`` headers while rows remain.

Every method expects the caller to hold ``state.lock``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING, Any

from airflow_toggl.emulator.request import Request
from airflow_toggl.emulator.responses import Response, error, json_response
from airflow_toggl.emulator.state import EmulatorState, User, iso_timestamp

if TYPE_CHECKING:
    from airflow_toggl.emulator.app import Credential

REPORTS_PREFIX = "/reports/api/v3/"
PROJECTS_PER_PAGE = 151  # Toggl's default per_page for workspace projects
MAX_PER_PAGE = 200
REPORT_PAGE_SIZE = 50
MAX_REPORT_PAGE_SIZE = 1000
PROJECT_NAMES = ("Research", "Development", "Operations")

_PROJECTS_PATH = re.compile(r"/api/v9/workspaces/(\d+)/projects")
_REPORT_SEARCH_PATH = re.compile(r"/reports/api/v3/workspace/(\d+)/search/time_entries")

DataHandler = Callable[[Request, "Credential"], Response]


class BadInput(ValueError):
    """A query or body value the endpoint refuses (answered with 400)."""


@dataclass
class Project:
    """A project of a workspace."""

    id: int
    workspace_id: int
    name: str
    created_at: float

    def json(self) -> dict[str, Any]:
        """The v9 shape (the fields a client reads)."""
        stamp = iso_timestamp(self.created_at)
        return {
            "id": self.id,
            "workspace_id": self.workspace_id,
            "wid": self.workspace_id,
            "name": self.name,
            "active": True,
            "billable": False,
            "client_id": None,
            "color": "#06aaf5",
            "created_at": stamp,
            "at": stamp,
        }


@dataclass
class TimeEntry:
    """A stopped time entry."""

    id: int
    workspace_id: int
    project_id: int | None
    user_id: int
    description: str
    start: float
    seconds: int
    at: float

    def json(self) -> dict[str, Any]:
        """The v9 shape."""
        return {
            "id": self.id,
            "workspace_id": self.workspace_id,
            "wid": self.workspace_id,
            "project_id": self.project_id,
            "pid": self.project_id,
            "task_id": None,
            "user_id": self.user_id,
            "uid": self.user_id,
            "billable": False,
            "description": self.description,
            "start": _iso_seconds(self.start),
            "stop": _iso_seconds(self.start + self.seconds),
            "duration": self.seconds,
            "tags": [],
            "tag_ids": [],
            "at": _iso_seconds(self.at),
            "server_deleted_at": None,
        }

    def report_row(self, username: str, row_number: int) -> dict[str, Any]:
        """The Reports API v3 detailed-search row holding this one entry."""
        return {
            "user_id": self.user_id,
            "username": username,
            "project_id": self.project_id,
            "task_id": None,
            "billable": False,
            "description": self.description,
            "tag_ids": [],
            "billable_amount_in_cents": None,
            "hourly_rate_in_cents": None,
            "currency": "USD",
            "time_entries": [
                {
                    "id": self.id,
                    "seconds": self.seconds,
                    "start": _iso_seconds(self.start),
                    "stop": _iso_seconds(self.start + self.seconds),
                    "at": _iso_seconds(self.at),
                }
            ],
            "row_number": row_number,
        }


@dataclass
class AccountData:
    """One account's workspace, projects and time entries (entries kept sorted by start)."""

    workspace: dict[str, Any]
    projects: list[Project]
    entries: list[TimeEntry] = field(default_factory=list)


class WorkspaceData:
    """The data endpoints and their seeded content, alongside :class:`TogglApp`'s own routes."""

    def __init__(self, state: EmulatorState) -> None:
        """Serve the accounts of ``state``."""
        self.state = state
        self.accounts: dict[int, AccountData] = {}
        self._next_id = 4_000_000_000

    def handlers(self, path: str) -> dict[str, DataHandler] | None:
        """The handlers of a data path, or ``None`` when the path is not one of them."""
        if path == "/api/v9/me/workspaces":
            return {"GET": self.workspaces}
        if path == "/api/v9/me/time_entries":
            return {"GET": self.time_entries}
        if _PROJECTS_PATH.fullmatch(path):
            return {"GET": self.projects}
        if _REPORT_SEARCH_PATH.fullmatch(path):
            return {"POST": self.search_time_entries}
        return None

    # Seeding -----------------------------------------------------------------------------

    def of(self, user: User) -> AccountData:
        """The account's data, seeded with its workspace and three projects on first use."""
        data = self.accounts.get(user.id)
        if data is None:
            workspace = {
                "id": user.default_workspace_id,
                "organization_id": user.organization_id,
                "name": f"{user.fullname}'s workspace",
                "premium": False,
                "admin": True,
                "role": "admin",
                "at": iso_timestamp(user.created_at),
            }
            projects = [
                Project(self._new_id(), user.default_workspace_id, name, user.created_at)
                for name in PROJECT_NAMES
            ]
            data = self.accounts[user.id] = AccountData(workspace, projects)
        return data

    def add_time_entries(
        self, user: User, *, start: float, count: int, every: float = 3600.0, seconds: int = 1800
    ) -> int:
        """Add ``count`` entries starting at ``start`` (epoch seconds), ``every`` seconds apart."""
        if count < 0 or every <= 0 or seconds < 0:
            raise ValueError("count and seconds must be >= 0 and every > 0")
        data = self.of(user)
        now = self.state.now()
        for index in range(count):
            project = data.projects[index % len(data.projects)]
            begin = start + index * every
            data.entries.append(
                TimeEntry(
                    id=self._new_id(),
                    workspace_id=data.workspace["id"],
                    project_id=project.id,
                    user_id=user.id,
                    description=f"{project.name} #{index + 1}",
                    start=begin,
                    seconds=seconds,
                    at=now,
                )
            )
        data.entries.sort(key=lambda entry: (entry.start, entry.id))
        return count

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # Endpoints ---------------------------------------------------------------------------

    def workspaces(self, request: Request, credential: Credential) -> Response:
        """``GET /api/v9/me/workspaces``."""
        data = self.of(_user(credential))
        try:
            since = _optional_int(request.query_value("since"), "since")
        except BadInput as problem:
            return error(400, str(problem))
        modified = since is None or _epoch(data.workspace["at"]) >= since
        return json_response(200, [data.workspace] if modified else [])

    def projects(self, request: Request, credential: Credential) -> Response:
        """``GET /api/v9/workspaces/{workspace_id}/projects``, paged by ``page``/``per_page``."""
        data = self.of(_user(credential))
        match = _PROJECTS_PATH.fullmatch(request.path)
        assert match is not None
        if int(match.group(1)) != data.workspace["id"]:
            return error(403, "not a member of this workspace")
        try:
            page = _optional_int(request.query_value("page"), "page", minimum=1) or 1
            per_page = _optional_int(request.query_value("per_page"), "per_page", minimum=1)
            since = _optional_int(request.query_value("since"), "since")
        except BadInput as problem:
            return error(400, str(problem))
        per_page = min(per_page or PROJECTS_PER_PAGE, MAX_PER_PAGE)
        projects = [p for p in data.projects if since is None or p.created_at >= since]
        chosen = projects[(page - 1) * per_page : page * per_page]
        return json_response(200, [project.json() for project in chosen])

    def time_entries(self, request: Request, credential: Credential) -> Response:
        """``GET /api/v9/me/time_entries``: by start (``start_date``/``end_date``, ``before``) or ``since``."""
        data = self.of(_user(credential))
        try:
            since = _optional_int(request.query_value("since"), "since")
            start_date = request.query_value("start_date")
            end_date = request.query_value("end_date")
            before = request.query_value("before")
            if (start_date is None) != (end_date is None):
                raise BadInput("start_date and end_date go together")
            low = _moment(start_date, "start_date") if start_date else None
            high = _moment(end_date, "end_date") if end_date else None
            if before is not None:
                high = min(high, _moment(before, "before")) if high is not None else _moment(before, "before")
        except BadInput as problem:
            return error(400, str(problem))
        if low is not None and high is not None and high < low:
            return error(400, "end_date must not be before start_date")
        entries = _between(data.entries, low, high)
        if since is not None:
            entries = [entry for entry in entries if entry.at >= since]
        return json_response(200, [entry.json() for entry in reversed(entries)])

    def search_time_entries(self, request: Request, credential: Credential) -> Response:
        """The Reports API v3 detailed search: one row per entry, paged by row number."""
        user = _user(credential)
        data = self.of(user)
        match = _REPORT_SEARCH_PATH.fullmatch(request.path)
        assert match is not None
        if int(match.group(1)) != data.workspace["id"]:
            return error(403, "not a member of this workspace")
        body = request.json_object()
        if body is None:
            return error(400, "body must be a JSON object")
        try:
            low = _day(body.get("start_date"), "start_date")
            high = _day(body.get("end_date"), "end_date") + 86400  # the whole end day
            size = _body_int(body, "page_size", REPORT_PAGE_SIZE, minimum=1, maximum=MAX_REPORT_PAGE_SIZE)
            first = _body_int(body, "first_row_number", 1, minimum=1)
        except BadInput as problem:
            return error(400, str(problem))
        if high - 86400 < low:
            return error(400, "end_date must not be before start_date")
        entries = _between(data.entries, low, high)
        chosen = entries[first - 1 : first - 1 + size]
        rows = [entry.report_row(user.fullname, first + i) for i, entry in enumerate(chosen)]
        headers: list[tuple[str, str]] = []
        following = first - 1 + size
        if following < len(entries):
            after = entries[following]
            headers = [
                ("X-Next-ID", str(after.id)),
                ("X-Next-Row-Number", str(following + 1)),
                ("X-Next-Timestamp", str(int(after.start))),
            ]
        return json_response(200, rows, headers)


def _user(credential: Credential) -> User:
    assert credential.user is not None  # data endpoints are only reached authenticated
    return credential.user


def _between(entries: list[TimeEntry], low: float | None, high: float | None) -> list[TimeEntry]:
    """Entries with ``low <= start < high`` (either bound optional), oldest first."""
    first = 0 if low is None else bisect_left(entries, low, key=_start)
    last = len(entries) if high is None else bisect_left(entries, high, key=_start)
    return entries[first:last]


def _start(entry: TimeEntry) -> float:
    return entry.start


def _iso_seconds(epoch: float) -> str:
    """``2026-11-23T09:00:00+00:00``, the form Toggl's time entries use."""
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).isoformat()


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _day(value: Any, name: str) -> float:
    """A ``YYYY-MM-DD`` date as the epoch of its midnight (UTC)."""
    if not isinstance(value, str):
        raise BadInput(f"{name} is required (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{name} must be a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time(), tzinfo=timezone.utc).timestamp()


def _moment(value: str, name: str) -> float:
    """A ``YYYY-MM-DD`` date (its midnight, UTC) or an RFC 3339 time, as epoch seconds."""
    if len(value) == 10:
        return _day(value, name)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{name} must be YYYY-MM-DD or an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise BadInput(f"{name} must carry a time zone offset")
    return moment.timestamp()


def _optional_int(value: str | None, name: str, *, minimum: int = 0) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise BadInput(f"{name} must be an integer") from None
    if number < minimum:
        raise BadInput(f"{name} must be >= {minimum}")
    return number


def _body_int(
    body: dict[str, Any], name: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadInput(f"{name} must be an integer >= {minimum}")
    if maximum is not None and value > maximum:
        raise BadInput(f"{name} must be <= {maximum}")
    return value


__all__ = ["REPORTS_PREFIX", "WorkspaceData"]
