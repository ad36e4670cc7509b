"""The Track v9 data endpoints, served from the resource table rather than one handler per path.

``ROUTES`` lists every path template with its methods; :func:`routes` adds, for each resource of
:mod:`~airflow_toggl.emulator.resources`, its ``/me/<name>`` listing, its workspace collection and
its items. Time entries and the Reports API add their own behaviour in
:mod:`~airflow_toggl.emulator.entries` and :mod:`~airflow_toggl.emulator.reports`. Every method
expects the caller to hold ``state.lock``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_toggl.emulator.request import Request
from airflow_toggl.emulator.resources import FREE_COLORS, RESOURCES, WORKSPACE_RESOURCES, BadInput, Resource
from airflow_toggl.emulator.responses import Response, empty, json_response
from airflow_toggl.emulator.state import User
from airflow_toggl.emulator.store import Store

if TYPE_CHECKING:
    pass

NO_ACCESS = "User does not have access to this resource."
NOT_FOUND = "Resource can not be found"
PLAN_REFUSAL = "Custom project colors available only for premium plans"
PROJECTS_PER_PAGE = 151  # Toggl's default per_page for workspace projects
MAX_PER_PAGE = 200
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")

Params = dict[str, int]
Action = Callable[[Request, User, Params], Response]


@dataclass(frozen=True)
class Route:
    """A path template (``{name}`` stands for a numeric id) and the action of each method."""

    template: str
    actions: dict[str, Action]

    def pattern(self) -> re.Pattern[str]:
        """The template as a regular expression capturing each id by name."""
        return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>\\d{1,19})", re.escape(self.template)))


class Failure(Exception):
    """An answer other than success, raised from deep inside an action."""

    def __init__(self, status: int, message: str) -> None:
        """Answer ``status`` with ``message`` as Toggl's JSON string."""
        super().__init__(message)
        self.status = status


def flag(request: Request, name: str, default: bool | None = None) -> bool | None:
    """A ``true``/``false`` query parameter; 400 for anything else."""
    value = request.query_value(name)
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise BadInput(f"Invalid {name}")


def number(request: Request, name: str, default: int | None = None, *, minimum: int = 0) -> int | None:
    """An integer query parameter of at least ``minimum``; 400 for anything else."""
    value = request.query_value(name)
    if value is None or value == "":
        return default
    try:
        result = int(value)
    except ValueError:
        raise BadInput(f"Invalid {name}") from None
    if result < minimum:
        raise BadInput(f"Invalid {name}")
    return result


def body_of(request: Request) -> dict[str, Any]:
    """The JSON object a write carries; 400 when it is not one."""
    body = request.json_object()
    if body is None:
        raise BadInput("Invalid JSON input")
    return body


class TrackApi:
    """Generic list, read, create, update and delete over the resource table."""

    def __init__(self, store: Store) -> None:
        """Serve the records of ``store``."""
        self.store = store

    # Access --------------------------------------------------------------------------------

    def workspace(self, user: User, workspace_id: int) -> dict[str, Any]:
        """A workspace ``user`` belongs to; 403 otherwise (Toggl does not say whether it exists)."""
        if not self.store.is_member(user, workspace_id):
            raise Failure(403, NO_ACCESS)
        return self.store.tables["workspaces"][workspace_id]

    def record(self, user: User, resource: Resource, params: Params) -> dict[str, Any]:
        """An undeleted record of a workspace ``user`` belongs to; 404 when there is none."""
        workspace_id = params["workspace_id"]
        self.workspace(user, workspace_id)
        record = self.store.tables[resource.name].get(params["id"])
        if (
            record is None
            or record[resource.owner] != workspace_id
            or record.get("server_deleted_at") is not None
        ):
            raise Failure(404, NOT_FOUND)
        return record

    # Generic actions -----------------------------------------------------------------------

    def list_mine(self, resource: Resource) -> Action:
        """``GET /me/<name>``: the records of every workspace of the user (``since`` adds deleted ones)."""

        def action(request: Request, user: User, params: Params) -> Response:
            since = number(request, "since")
            records = [
                record
                for workspace in self.store.workspaces_of(user)
                for record in self.store.records(resource.name, workspace["id"], deleted=since is not None)
                if since is None or record["at"] >= since
            ]
            if resource.name in ("projects", "tasks") and not flag(request, _archived_flag(resource), False):
                records = [record for record in records if record.get("active", True)]
            return json_response(200, [resource.render(r) for r in sorted(records, key=resource.sort_key)])

        return action

    def list_workspace(self, resource: Resource) -> Action:
        """``GET /workspaces/{workspace_id}/<name>``."""

        def action(request: Request, user: User, params: Params) -> Response:
            self.workspace(user, params["workspace_id"])
            records = self.store.records(resource.name, params["workspace_id"])
            name = (request.query_value("name") or "").lower()
            records = [r for r in records if name in str(r.get("name", "")).lower()]
            if resource.name == "projects":
                return self._project_page(request, resource, records)
            if resource.name == "tasks":
                return self._task_page(request, resource, records)
            return json_response(200, [resource.render(r) for r in sorted(records, key=resource.sort_key)])

        return action

    def get(self, resource: Resource) -> Action:
        """``GET .../<name>/{id}``."""
        return lambda request, user, params: json_response(
            200, resource.render(self.record(user, resource, params))
        )

    def create(self, resource: Resource) -> Action:
        """``POST /workspaces/{workspace_id}/<name>``."""

        def action(request: Request, user: User, params: Params) -> Response:
            self.workspace(user, params["workspace_id"])
            body = body_of(request)
            self._check_plan(resource, body, params["workspace_id"])
            record = self.store.add(user, resource.name, {**body, "workspace_id": params["workspace_id"]})
            return json_response(200, resource.render(record))

        return action

    def update(self, resource: Resource) -> Action:
        """``PUT .../<name>/{id}``: the body's fields replace the record's."""

        def action(request: Request, user: User, params: Params) -> Response:
            record = self.record(user, resource, params)
            body = body_of(request)
            self._check_plan(resource, body, params["workspace_id"])
            changed = dict(record)
            resource.apply(changed, body, creating=False)
            self.store.validate(resource, changed, params["workspace_id"])
            record.update(changed)
            self.store.touch(record)
            return json_response(200, resource.render(record))

        return action

    def delete(self, resource: Resource) -> Action:
        """``DELETE .../<name>/{id}``: 200 with no body; the record stays visible to ``since``."""

        def action(request: Request, user: User, params: Params) -> Response:
            record = self.record(user, resource, params)
            self.store.touch(record)
            record["server_deleted_at"] = record["at"]
            if resource.field("deleted_at") is not None:  # tags name it so
                record["deleted_at"] = record["at"]
            return empty(200)

        return action

    def _check_plan(self, resource: Resource, body: dict[str, Any], workspace_id: int) -> None:
        """400 for a colour that is not one; 402 for a custom colour on the Free plan."""
        color = body.get("color")
        if resource.name != "projects" or color is None:
            return
        if not isinstance(color, str) or not _HEX_COLOR.fullmatch(color):
            raise BadInput(
                f"Error in validating color '{color}'. Project color must be a hex value in the form of #[0-9a-f]{{6}}."
            )
        if color.lower() not in FREE_COLORS and not self.store.premium(workspace_id):
            raise Failure(402, PLAN_REFUSAL)

    def _project_page(self, request: Request, resource: Resource, records: list[dict[str, Any]]) -> Response:
        """Projects as Toggl pages them: ``page``/``per_page``, sorted, with ``X-Page`` and ``X-Page-Size``."""
        active = request.query_value("active")
        if active not in (None, "", "both"):
            wanted = flag(request, "active")
            records = [r for r in records if r["active"] == wanted]
        since = number(request, "since")
        if since is not None:
            records = [r for r in records if r["at"] >= since]
        page = number(request, "page", 1, minimum=1) or 1
        per_page = min(
            number(request, "per_page", PROJECTS_PER_PAGE, minimum=1) or PROJECTS_PER_PAGE, MAX_PER_PAGE
        )
        records = _sorted(
            request, records, "name", ("name", "created_at", "id", "active", "client_id", "color")
        )
        chosen = records[(page - 1) * per_page : page * per_page]
        headers = [("X-Page", str(page)), ("X-Page-Size", str(per_page))]
        return json_response(200, [resource.render(r) for r in chosen], headers)

    def _task_page(self, request: Request, resource: Resource, records: list[dict[str, Any]]) -> Response:
        """Workspace tasks: one page object with the paging it used."""
        page = number(request, "page", 1, minimum=1) or 1
        per_page = min(number(request, "per_page", 50, minimum=1) or 50, MAX_PER_PAGE)
        project_id = number(request, "pid")
        active = flag(request, "active", True)
        records = [
            r
            for r in records
            if (project_id is None or r["project_id"] == project_id) and r["active"] == active
        ]
        records = _sorted(request, records, "name", ("name", "created_at", "id"))
        order = (request.query_value("sort_order") or "ASC").upper()
        return json_response(
            200,
            {
                "data": [resource.render(r) for r in records[(page - 1) * per_page : page * per_page]],
                "page": page,
                "per_page": per_page,
                "sort_field": request.query_value("sort_field") or "name",
                "sort_order": order,
                "total_count": len(records),
            },
        )

    # Workspaces, organizations, users ------------------------------------------------------

    def my_workspaces(self, request: Request, user: User, params: Params) -> Response:
        """``GET /me/workspaces`` (``since``), each with its count of active projects."""
        since = number(request, "since")
        shown = []
        for workspace in self.store.workspaces_of(user):
            if since is None or workspace["at"] >= since:
                count = sum(1 for p in self.store.records("projects", workspace["id"]) if p["active"])
                shown.append({**RESOURCES["workspaces"].render(workspace), "active_project_count": count})
        return json_response(200, shown)

    def my_organizations(self, request: Request, user: User, params: Params) -> Response:
        """``GET /me/organizations``."""
        return json_response(
            200, [RESOURCES["organizations"].render(o) for o in self.store.organizations_of(user)]
        )

    def get_workspace(self, request: Request, user: User, params: Params) -> Response:
        """``GET /workspaces/{workspace_id}``."""
        return json_response(
            200, RESOURCES["workspaces"].render(self.workspace(user, params["workspace_id"]))
        )

    def put_workspace(self, request: Request, user: User, params: Params) -> Response:
        """``PUT /workspaces/{workspace_id}``."""
        workspace = self.workspace(user, params["workspace_id"])
        changed = dict(workspace)
        RESOURCES["workspaces"].apply(changed, body_of(request), creating=False)
        if not str(changed["name"]).strip():
            raise BadInput("workspace name must contain non-space characters")
        workspace.update(changed)
        self.store.touch(workspace)
        return json_response(200, RESOURCES["workspaces"].render(workspace))

    def workspace_users(self, request: Request, user: User, params: Params) -> Response:
        """``GET /workspaces/{workspace_id}/users``: the members."""
        self.workspace(user, params["workspace_id"])
        members = self.store.members.get(params["workspace_id"], set())
        users = [self.store.state.users[uid] for uid in sorted(members)]
        return json_response(
            200,
            [
                {
                    "id": m.id,
                    "email": m.email,
                    "fullname": m.fullname,
                    "inactive": False,
                    "is_active": True,
                    "is_admin": m.id == user.id,
                    "role": "admin" if m.id == user.id else "user",
                }
                for m in users
            ],
        )

    def organization(self, user: User, organization_id: int) -> dict[str, Any]:
        """An organization of ``user``; else 404 (status and text are the emulator's choice: no source found)."""
        for organization in self.store.organizations_of(user):
            if organization["id"] == organization_id:
                return organization
        raise Failure(404, "User not part of organization")

    def get_organization(self, request: Request, user: User, params: Params) -> Response:
        """``GET /organizations/{organization_id}``."""
        return json_response(
            200, RESOURCES["organizations"].render(self.organization(user, params["organization_id"]))
        )

    def organization_workspaces(self, request: Request, user: User, params: Params) -> Response:
        """``GET /organizations/{organization_id}/workspaces``: its workspaces the user belongs to."""
        organization_id = self.organization(user, params["organization_id"])["id"]
        shown = [w for w in self.store.workspaces_of(user) if w["organization_id"] == organization_id]
        return json_response(200, [RESOURCES["workspaces"].render(w) for w in shown])

    # Tasks of a project ------------------------------------------------------------------

    def project(self, user: User, params: Params) -> dict[str, Any]:
        """The project a ``.../projects/{project_id}/...`` path names."""
        return self.record(
            user, RESOURCES["projects"], {"workspace_id": params["workspace_id"], "id": params["project_id"]}
        )

    def project_tasks(self, request: Request, user: User, params: Params) -> Response:
        """``GET /workspaces/{workspace_id}/projects/{project_id}/tasks``."""
        project = self.project(user, params)
        tasks = RESOURCES["tasks"]
        records = [
            r
            for r in self.store.records("tasks", project["workspace_id"])
            if r["project_id"] == project["id"]
        ]
        return json_response(200, [tasks.render(r) for r in sorted(records, key=tasks.sort_key)])

    def create_project_task(self, request: Request, user: User, params: Params) -> Response:
        """``POST /workspaces/{workspace_id}/projects/{project_id}/tasks``."""
        project = self.project(user, params)
        body = {**body_of(request), "workspace_id": project["workspace_id"], "project_id": project["id"]}
        return json_response(200, RESOURCES["tasks"].render(self.store.add(user, "tasks", body)))

    def _in_project(self, resource: Resource) -> dict[str, Action]:
        """GET, PUT and DELETE of a task, refused (404) when the path names another project."""

        def checked(action: Action) -> Action:
            def run(request: Request, user: User, params: Params) -> Response:
                if self.record(user, resource, params)["project_id"] != self.project(user, params)["id"]:
                    raise Failure(404, NOT_FOUND)
                return action(request, user, params)

            return run

        return {
            "GET": checked(self.get(resource)),
            "PUT": checked(self.update(resource)),
            "DELETE": checked(self.delete(resource)),
        }

    # Routing -------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """Every data route: the resources' generic ones and the workspace and organization ones."""
        base = "/api/v9"
        table = [
            Route(f"{base}/me/workspaces", {"GET": self.my_workspaces}),
            Route(f"{base}/workspaces", {"GET": self.my_workspaces}),
            Route(f"{base}/me/organizations", {"GET": self.my_organizations}),
            Route(
                f"{base}/workspaces/{{workspace_id}}", {"GET": self.get_workspace, "PUT": self.put_workspace}
            ),
            Route(f"{base}/workspaces/{{workspace_id}}/users", {"GET": self.workspace_users}),
            Route(f"{base}/organizations/{{organization_id}}", {"GET": self.get_organization}),
            Route(
                f"{base}/organizations/{{organization_id}}/workspaces", {"GET": self.organization_workspaces}
            ),
        ]
        tasks = f"{base}/workspaces/{{workspace_id}}/projects/{{project_id}}/tasks"
        table.append(Route(tasks, {"GET": self.project_tasks, "POST": self.create_project_task}))
        table.append(Route(f"{tasks}/{{id}}", self._in_project(RESOURCES["tasks"])))
        verbs = {"GET": self.get, "PUT": self.update, "PATCH": self.update, "DELETE": self.delete}
        for name, resource in WORKSPACE_RESOURCES.items():
            if name != "time_entries":
                table.append(Route(f"{base}/me/{name}", {"GET": self.list_mine(resource)}))
            collection = {"GET": self.list_workspace(resource), "POST": self.create(resource)}
            path = f"{base}/workspaces/{{workspace_id}}/{name}"
            table.append(Route(path, {m: collection[m] for m in resource.collection}))
            if resource.item:
                table.append(Route(f"{path}/{{id}}", {m: verbs[m](resource) for m in resource.item}))
        return table


class Router:
    """Finds the route of a path; a later route with the same template replaces an earlier one."""

    def __init__(self, routes: list[Route]) -> None:
        """Compile ``routes``."""
        by_template = {route.template: route for route in routes}
        self.routes = list(by_template.values())
        self._compiled = [(route.pattern(), route) for route in self.routes]

    def match(self, path: str) -> tuple[Route, Params] | None:
        """The route serving ``path`` and the ids it names, or ``None``."""
        for pattern, route in self._compiled:
            found = pattern.fullmatch(path)
            if found:
                return route, {name: int(value) for name, value in found.groupdict().items()}
        return None

    def served(self) -> list[tuple[str, str]]:
        """Every (method, template) served, for the contract test."""
        return sorted((method, route.template) for route in self.routes for method in route.actions)


def _archived_flag(resource: Resource) -> str:
    return "include_archived" if resource.name == "projects" else "include_not_active"


def _sorted(
    request: Request, records: list[dict[str, Any]], default: str, allowed: tuple[str, ...]
) -> list[dict[str, Any]]:
    """``sort_field``/``sort_order`` (ASC or DESC) applied; ties by id; 400 for a field it cannot sort by."""
    field_name = request.query_value("sort_field") or default
    order = (request.query_value("sort_order") or "ASC").upper()
    if field_name not in allowed:
        raise BadInput(f"Invalid sort_field '{field_name}'")
    if order not in ("ASC", "DESC"):
        raise BadInput(f"Invalid sort_order '{order}'")

    def key(record: dict[str, Any]) -> tuple[Any, ...]:
        value = record.get(field_name)
        text = value.lower() if isinstance(value, str) else value
        return (value is None, text if text is not None else 0, record["id"])

    return sorted(records, key=key, reverse=order == "DESC")


__all__ = [
    "NOT_FOUND",
    "NO_ACCESS",
    "Action",
    "Failure",
    "Params",
    "Route",
    "Router",
    "TrackApi",
    "body_of",
    "flag",
    "number",
]
