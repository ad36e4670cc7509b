"""The table of Track v9 resources: their fields, owners and how a body may change them.

Every data endpoint (``/me/<name>``, ``/workspaces/{wid}/<name>[/{id}]``, ``/organizations/...``)
is served from this table by :mod:`airflow_toggl.emulator.api`; nothing here knows about paths.
Field names and JSON types follow Toggl's Track API v9 (docs/emulator.md names the sources).
Records are plain dicts keyed by the JSON field names; times are kept as epoch seconds and
rendered as RFC 3339 text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


class BadInput(ValueError):
    """A query or body value Toggl would refuse with 400; the text is Toggl-like."""


@dataclass(frozen=True)
class Field:
    """One JSON field: its kind, its default and whether a body may set it."""

    name: str
    kind: str  # int, float, str, bool, ints, strs, any; time and stamp: epoch kept, RFC 3339 shown (stamp in microseconds)
    default: Any = None
    writable: bool = True
    nullable: bool = True


@dataclass(frozen=True)
class Resource:
    """A kind of record, the workspace (or organization) owning it, and the verbs it serves."""

    name: str
    fields: tuple[Field, ...]
    owner: str = "workspace_id"  # the field naming the owner
    collection: tuple[str, ...] = ("GET", "POST")
    item: tuple[str, ...] = ("GET", "PUT", "DELETE")
    required: tuple[str, ...] = ("name",)
    unique_name: bool = True
    aliases: dict[str, str] = field(default_factory=dict)  # short v9 aliases: wid, pid, uid...
    sort_key: Callable[[dict[str, Any]], Any] = lambda record: (
        str(record.get("name", "")).lower(),
        record["id"],
    )

    def field(self, name: str) -> Field | None:
        """The field called ``name``, if the resource has one."""
        return next((item for item in self.fields if item.name == name), None)

    def blank(self) -> dict[str, Any]:
        """A record with every field at its default (lists copied)."""
        return {
            item.name: list(item.default) if isinstance(item.default, list) else item.default
            for item in self.fields
        }

    def render(self, record: dict[str, Any]) -> dict[str, Any]:
        """The JSON shape of a record."""
        shown = {}
        for item in self.fields:
            value = record.get(item.name)
            if value is not None and item.kind in ("time", "stamp"):
                value = iso(value) if item.kind == "time" else iso_micro(value)
            shown[item.name] = value
        for alias, source in self.aliases.items():
            shown[alias] = shown.get(source)
        return shown

    def apply(self, record: dict[str, Any], body: dict[str, Any], *, creating: bool) -> None:
        """Check ``body`` against the writable fields and copy it into ``record``."""
        if creating:
            missing = [name for name in self.required if body.get(name) in (None, "")]
            if missing:
                raise BadInput(f"{missing[0]} can't be blank")
        for name, value in body.items():
            item = self.field(name) or self.field(self.aliases.get(name, ""))
            if item is None or not item.writable:
                continue  # the emulator's choice: a field it does not take is ignored, not refused
            record[item.name] = check(item, value)


def check(item: Field, value: Any) -> Any:
    """``value`` as field ``item`` stores it, or ``BadInput`` naming the field."""
    if value is None:
        if item.nullable:
            return None
        raise BadInput(f"{item.name} can't be null")
    kind = item.kind
    valid = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "ints": lambda v: (
            isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
        ),
        "strs": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "any": lambda v: True,
    }
    if kind in ("time", "stamp"):
        if not isinstance(value, str):
            raise BadInput(f"Invalid {item.name}: expected an RFC 3339 time")
        return parse_time(value, item.name)
    if not valid[kind](value):
        raise BadInput(f"Invalid {item.name}")
    return value


def iso(epoch: float) -> str:
    """``2026-11-23T09:00:00+00:00``, the form Toggl's lists show times in."""
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).isoformat()


def iso_micro(epoch: float) -> str:
    """``2026-11-23T09:00:00.123456Z``, the form of Toggl's ``at`` and ``created_at`` fields."""
    return (
        datetime.fromtimestamp(epoch, tz=timezone.utc)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z")
    )


def parse_time(value: str, name: str) -> float:
    """An RFC 3339 time (a zone required) or a ``YYYY-MM-DD`` date (its UTC midnight) as epoch seconds."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"Invalid {name}: expected YYYY-MM-DD or an RFC 3339 time") from None
    if len(text) == 10:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment.tzinfo is None:
        raise BadInput(f"Invalid {name}: the time needs a zone offset")
    return moment.timestamp()


def _id(name: str) -> Field:
    return Field(name, "int", writable=False, nullable=False)


def _stamps() -> tuple[Field, ...]:
    return (Field("at", "stamp", writable=False), Field("server_deleted_at", "time", writable=False))


# The basic project colours Toggl's own clients offer. A custom colour on Free answers 402
# (docs/emulator.md quotes a real answer); that these are open to every plan is the emulator's reading.
FREE_COLORS = (
    "#0b83d9",
    "#9e5bd9",
    "#d94182",
    "#e36a00",
    "#bf7000",
    "#c7af14",
    "#d92b2b",
    "#2da608",
    "#06a893",
    "#c9806b",
    "#465bb3",
    "#990099",
    "#566614",
    "#525266",
)

WORKSPACES = Resource(
    "workspaces",
    (
        _id("id"),
        _id("organization_id"),
        Field("name", "str", nullable=False),
        Field("premium", "bool", False, writable=False),
        Field("business_ws", "bool", False, writable=False),
        Field("admin", "bool", True, writable=False),
        Field("role", "str", "admin", writable=False),
        Field("default_hourly_rate", "float"),
        Field("rate_last_updated", "stamp", writable=False),
        Field("default_currency", "str", "USD"),
        Field("only_admins_may_create_projects", "bool", False),
        Field("only_admins_may_create_tags", "bool", False),
        Field("only_admins_see_billable_rates", "bool", False),
        Field("only_admins_see_team_dashboard", "bool", False),
        Field("projects_billable_by_default", "bool", True),
        Field("projects_private_by_default", "bool", True),
        Field("projects_enforce_billable", "bool", False),
        Field("limit_public_project_data", "bool", False),
        Field("reports_collapse", "bool", True),
        Field("rounding", "int", 1),
        Field("rounding_minutes", "int", 0),
        Field("api_token", "str", writable=False),
        Field("at", "stamp", writable=False),
        Field("last_modified", "stamp", writable=False),
        Field("logo_url", "str", "https://assets.track.toggl.com/images/workspace.jpg", writable=False),
        Field("ical_url", "str", writable=False),
        Field("ical_enabled", "bool", False),
        Field("csv_upload", "any", writable=False),
        Field("subscription", "any", writable=False),
        Field("hide_start_end_times", "bool", False),
        Field("working_hours_in_minutes", "int"),
        Field("suspended_at", "stamp", writable=False),
        Field("server_deleted_at", "time", writable=False),
        Field("permissions", "any", writable=False),
        Field("profile", "int", 0, writable=False),
    ),
    owner="organization_id",
    collection=("GET",),
    item=("GET", "PUT"),
    sort_key=lambda record: record["id"],
)

ORGANIZATIONS = Resource(
    "organizations",
    (
        _id("id"),
        Field("name", "str", nullable=False),
        Field("pricing_plan_id", "int", 0, writable=False),
        Field("pricing_plan_name", "str", "Free", writable=False),
        Field("pricing_plan_enterprise", "bool", False, writable=False),
        Field("created_at", "stamp", writable=False),
        Field("at", "stamp", writable=False),
        Field("server_deleted_at", "time", writable=False),
        Field("suspended_at", "stamp", writable=False),
        Field("is_multi_workspace_enabled", "bool", True, writable=False),
        Field("is_unified", "bool", False, writable=False),
        Field("max_workspaces", "int", 20, writable=False),
        Field("user_count", "int", 1, writable=False),
        Field("trial_info", "any", writable=False),
        Field("permissions", "any", writable=False),
        Field("admin", "bool", True, writable=False),
        Field("owner", "bool", True, writable=False),
    ),
    owner="id",
    collection=(),
    item=("GET",),
    sort_key=lambda record: record["id"],
)

PROJECTS = Resource(
    "projects",
    (
        _id("id"),
        _id("workspace_id"),
        Field("client_id", "int"),
        Field("name", "str", nullable=False),
        Field("is_private", "bool", True),
        Field("active", "bool", True),
        Field("billable", "bool", False),
        Field("color", "str", "#0b83d9", nullable=False),
        Field("currency", "str"),
        Field("rate", "float"),
        Field("estimated_hours", "int"),
        Field("estimated_seconds", "int"),
        Field("fixed_fee", "float"),
        Field("auto_estimates", "bool"),
        Field("template", "bool", False),
        Field("template_id", "int"),
        Field("recurring", "bool", False),
        Field("recurring_parameters", "any"),
        Field("start_date", "str"),
        Field("end_date", "str"),
        Field("status", "str", "active", writable=False),
        Field("actual_hours", "int", 0, writable=False),
        Field("actual_seconds", "int", 0, writable=False),
        Field("created_at", "stamp", writable=False),
        Field("rate_last_updated", "stamp", writable=False),
        Field("pinned", "bool", False),
        Field("is_shared", "bool", False, writable=False),
        Field("tasks_count", "int", writable=False),
        Field("can_track_time", "bool", True, writable=False),
        Field("permissions", "any", writable=False),
        *_stamps(),
    ),
    aliases={"wid": "workspace_id", "cid": "client_id"},
)

CLIENTS = Resource(
    "clients",
    (
        _id("id"),
        _id("wid"),
        Field("name", "str", nullable=False),
        Field("notes", "str"),
        Field("archived", "bool", False),
        Field("creator_id", "int", writable=False),
        Field("external_reference", "str"),
        Field("permissions", "any", writable=False),
        *_stamps(),
    ),
    owner="wid",
)

TAGS = Resource(
    "tags",
    (
        _id("id"),
        _id("workspace_id"),
        Field("name", "str", nullable=False),
        Field("creator_id", "int", writable=False),
        Field("at", "stamp", writable=False),
        Field("deleted_at", "stamp", writable=False),
        Field("permissions", "any", writable=False),
    ),
)

TASKS = Resource(
    "tasks",
    (
        _id("id"),
        _id("workspace_id"),
        Field("project_id", "int", nullable=False),
        Field("name", "str", nullable=False),
        Field("active", "bool", True),
        Field("estimated_seconds", "int"),
        Field("user_id", "int"),
        Field("tracked_seconds", "int", 0, writable=False),
        Field("recurring", "bool", False),
        Field("rate", "float"),
        Field("permissions", "any", writable=False),
        *_stamps(),
    ),
    collection=("GET",),
    item=(),
)

TIME_ENTRIES = Resource(
    "time_entries",
    (
        _id("id"),
        _id("workspace_id"),
        Field("project_id", "int"),
        Field("task_id", "int"),
        Field("billable", "bool", False),
        Field("start", "time", nullable=False),
        Field("stop", "time"),
        Field("duration", "int", 0, nullable=False),
        Field("description", "str"),
        Field("tags", "strs", []),
        Field("tag_ids", "ints", []),
        Field("duronly", "bool", True, writable=False),
        Field("user_id", "int", writable=False),
        Field("permissions", "any", writable=False),
        *_stamps(),
    ),
    collection=("POST",),
    item=("PUT", "PATCH", "DELETE"),
    required=("start",),
    unique_name=False,
    aliases={"wid": "workspace_id", "pid": "project_id", "tid": "task_id", "uid": "user_id"},
    sort_key=lambda record: (-record["start"], -record["id"]),  # newest first, as /me/time_entries
)

WORKSPACE_RESOURCES = {resource.name: resource for resource in (PROJECTS, CLIENTS, TAGS, TASKS, TIME_ENTRIES)}
RESOURCES = {**WORKSPACE_RESOURCES, "workspaces": WORKSPACES, "organizations": ORGANIZATIONS}

__all__ = [
    "RESOURCES",
    "WORKSPACE_RESOURCES",
    "BadInput",
    "Field",
    "Resource",
    "iso",
    "iso_micro",
    "parse_time",
]
