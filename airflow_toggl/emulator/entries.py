"""What time entries add to the generic resource layer: running entries, stop, filters, patches.

A running entry has no ``stop`` and a ``duration`` of -1; a user has at most one (starting
another stops it), and ``/me/time_entries/current`` answers it, or ``null``. Every method
expects the caller to hold ``state.lock``.
"""

from __future__ import annotations

from typing import Any

from airflow_toggl.emulator.api import NOT_FOUND, Failure, Params, Route, TrackApi, body_of, flag, number
from airflow_toggl.emulator.request import Request, parse_json
from airflow_toggl.emulator.resources import RESOURCES, BadInput, parse_time
from airflow_toggl.emulator.responses import Response, json_response
from airflow_toggl.emulator.state import User

ENTRIES = RESOURCES["time_entries"]
RUNNING = -1


class TimeEntries:
    """The time entry endpoints, on top of :class:`TrackApi`."""

    def __init__(self, api: TrackApi) -> None:
        """Use ``api``'s store and access checks."""
        self.api = api
        self.store = api.store

    def mine(self, user: User, *, deleted: bool = False) -> list[dict[str, Any]]:
        """The user's own entries, newest first."""
        records = [
            record
            for record in self.store.tables["time_entries"].values()
            if record["user_id"] == user.id and (deleted or record["server_deleted_at"] is None)
        ]
        return sorted(records, key=ENTRIES.sort_key)

    def running(self, user: User) -> dict[str, Any] | None:
        """The user's running entry, if any."""
        return next((r for r in self.mine(user) if r["stop"] is None and r["duration"] < 0), None)

    # Endpoints -----------------------------------------------------------------------------

    def list_mine(self, request: Request, user: User, params: Params) -> Response:
        """``GET /me/time_entries``: ``since`` (modified since, deleted included), ``before``, ``start_date``/``end_date``."""
        since = number(request, "since")
        before = request.query_value("before")
        start_date, end_date = request.query_value("start_date"), request.query_value("end_date")
        flag(request, "meta")
        flag(request, "include_sharing")
        if since is not None and before:
            raise BadInput("'since' and 'before' can not be present simultaneously")
        if bool(start_date) != bool(end_date):
            raise BadInput("'start_date' and 'end_date' must be given together")
        low = parse_time(start_date, "start_date") if start_date else None
        high = parse_time(end_date, "end_date") if end_date else None
        if before:
            limit = parse_time(before, "before")
            high = limit if high is None else min(high, limit)
        if low is not None and high is not None and high < low:
            raise BadInput("'end_date' must be after 'start_date'")
        records = [
            record
            for record in self.mine(user, deleted=since is not None)
            if (low is None or record["start"] >= low)
            and (high is None or record["start"] < high)
            and (since is None or record["at"] >= since)
        ]
        return json_response(200, [ENTRIES.render(r) for r in records])

    def current(self, request: Request, user: User, params: Params) -> Response:
        """``GET /me/time_entries/current``: the running entry or ``null``."""
        record = self.running(user)
        return json_response(200, ENTRIES.render(record) if record is not None else None)

    def get_mine(self, request: Request, user: User, params: Params) -> Response:
        """``GET /me/time_entries/{id}``."""
        record = self.store.tables["time_entries"].get(params["id"])
        if record is None or record["user_id"] != user.id or record["server_deleted_at"] is not None:
            raise Failure(404, NOT_FOUND)
        return json_response(200, ENTRIES.render(record))

    def create(self, request: Request, user: User, params: Params) -> Response:
        """``POST /workspaces/{workspace_id}/time_entries``: a stopped entry, or a running one (a negative or no duration, no stop)."""
        workspace_id = params["workspace_id"]
        self.api.workspace(user, workspace_id)
        body = body_of(request)
        if not isinstance(body.get("created_with"), str) or not body["created_with"]:
            raise BadInput("created_with needs to be provided a valid value")
        named = body.get("workspace_id", body.get("wid"))
        if named is not None and named != workspace_id:
            raise BadInput("Workspace ID in the body does not match the workspace in the path")
        record = ENTRIES.blank()
        ENTRIES.apply(record, body, creating=True)
        if body.get("duration") is None and body.get("stop") is None:
            # Toggl's docs start a running entry with a negative duration; that neither a duration
            # nor a stop does too is the emulator's choice.
            body = {**body, "duration": RUNNING}
            record["duration"] = RUNNING
        self._settle(record, body)
        if record["duration"] < 0:
            self._stop_running(user)
        created = self.store.add(user, "time_entries", {**body, "workspace_id": workspace_id})
        created.update(start=record["start"], stop=record["stop"], duration=record["duration"])
        return json_response(200, ENTRIES.render(created))

    def update(self, request: Request, user: User, params: Params) -> Response:
        """``PUT /workspaces/{workspace_id}/time_entries/{id}``: the body's fields replace the entry's."""
        record = self._own(user, params)
        body = body_of(request)
        changed = dict(record)
        ENTRIES.apply(changed, body, creating=False)
        self._settle(changed, body)
        self.store.validate(ENTRIES, changed, params["workspace_id"])
        record.update(changed)
        self.store.touch(record)
        return json_response(200, ENTRIES.render(record))

    def patch(self, request: Request, user: User, params: Params) -> Response:
        """``PATCH /workspaces/{workspace_id}/time_entries/{id}``: JSON Patch operations (``replace``, ``add``, ``remove``)."""
        record = self._own(user, params)
        operations = _operations(request)
        changed = dict(record)
        for operation in operations:
            name = str(operation.get("path", "")).strip("/")
            if ENTRIES.field(name) is None or not ENTRIES.field(name).writable:  # type: ignore[union-attr]
                raise BadInput(f"Invalid path '{operation.get('path')}'")
            value = None if operation.get("op") == "remove" else operation.get("value")
            ENTRIES.apply(changed, {name: value}, creating=False)
            self._settle(changed, {name: value})
        self.store.validate(ENTRIES, changed, params["workspace_id"])
        record.update(changed)
        self.store.touch(record)
        return json_response(200, {"success": [record["id"]], "failure": []})

    def stop(self, request: Request, user: User, params: Params) -> Response:
        """``PATCH /workspaces/{workspace_id}/time_entries/{id}/stop``: 409 when it is not running."""
        record = self._own(user, params)
        if record["stop"] is not None or record["duration"] >= 0:
            raise Failure(409, "Time entry already stopped")
        self._finish(record)
        return json_response(200, ENTRIES.render(record))

    # Helpers -------------------------------------------------------------------------------

    def _own(self, user: User, params: Params) -> dict[str, Any]:
        record = self.api.record(user, ENTRIES, params)
        if record["user_id"] != user.id:
            raise Failure(403, "User does not have access to this resource.")
        return record

    def _settle(self, record: dict[str, Any], body: dict[str, Any]) -> None:
        """Make start, stop and duration agree: each derived from the others given (the emulator's rules)."""
        if "stop" in body and record["stop"] is not None:
            if record["stop"] < record["start"]:
                raise BadInput("Stop time must be after start time")
            record["duration"] = int(record["stop"] - record["start"])
        elif "duration" in body and record["duration"] < 0:
            record["stop"], record["duration"] = None, RUNNING
        elif record["duration"] >= 0 and ("duration" in body or "start" in body):
            record["stop"] = record["start"] + record["duration"]

    def _finish(self, record: dict[str, Any]) -> None:
        now = self.store.state.now()
        record["stop"] = max(now, record["start"])
        record["duration"] = int(record["stop"] - record["start"])
        self.store.touch(record)

    def _stop_running(self, user: User) -> None:
        running = self.running(user)
        if running is not None:
            self._finish(running)

    def routes(self) -> list[Route]:
        """The time entry routes (they replace the generic ones of the same templates)."""
        base = "/api/v9"
        item = f"{base}/workspaces/{{workspace_id}}/time_entries/{{id}}"
        return [
            Route(f"{base}/me/time_entries", {"GET": self.list_mine}),
            Route(f"{base}/me/time_entries/current", {"GET": self.current}),
            Route(f"{base}/me/time_entries/{{id}}", {"GET": self.get_mine}),
            Route(f"{base}/workspaces/{{workspace_id}}/time_entries", {"POST": self.create}),
            Route(item, {"PUT": self.update, "PATCH": self.patch, "DELETE": self.api.delete(ENTRIES)}),
            Route(f"{item}/stop", {"PATCH": self.stop}),
        ]


def _operations(request: Request) -> list[dict[str, Any]]:
    """A JSON Patch body: a list of ``{"op", "path", "value"}`` objects."""
    try:
        operations = parse_json(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadInput("Invalid JSON input") from None
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations) or not operations:
        raise BadInput("Invalid JSON input")
    for operation in operations:
        if operation.get("op") not in ("add", "replace", "remove"):
            raise BadInput(f"Invalid op '{operation.get('op')}'")
    return operations


__all__ = ["TimeEntries"]
