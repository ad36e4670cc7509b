"""The emulated Track data: organizations, workspaces, who belongs where, and every record.

Each account gets, the first time anything asks, an organization on the Free plan, its default
workspace and three projects. Tests and the CLI add more (workspaces, projects, clients, tags,
time entries) through :meth:`Store.add`. Every method expects the caller to hold ``state.lock``.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any

from airflow_toggl.emulator.config import PLAN_QUOTAS
from airflow_toggl.emulator.resources import FREE_COLORS, RESOURCES, BadInput, Resource
from airflow_toggl.emulator.state import EmulatorState, User

PROJECT_NAMES = ("Research", "Development", "Operations")
PLAN_IDS = {"free": 0, "starter": 1, "premium": 2}
NO_TRIAL = {
    "trial": False,
    "trial_available": True,
    "trial_end_date": None,
    "next_payment_date": None,
    "last_pricing_plan_id": None,
    "can_have_trial": True,
    "trial_plan_id": None,
}


class Store:
    """Records by resource and id, and the members of each workspace."""

    def __init__(self, state: EmulatorState) -> None:
        """Hold the data of the accounts of ``state``."""
        self.state = state
        self.tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in RESOURCES}
        self.members: dict[int, set[int]] = {}  # workspace id -> user ids
        self.seeded: set[int] = set()
        self._next_id = 4_000_000_000 + secrets.randbelow(10_000_000)

    def new_id(self) -> int:
        """A fresh record id."""
        self._next_id += 1
        return self._next_id

    # Accounts' worlds ------------------------------------------------------------------------

    def ensure(self, user: User) -> None:
        """Give ``user`` its organization, default workspace and three projects once."""
        if user.id in self.seeded:
            return
        self.seeded.add(user.id)
        now = self.state.now()
        if user.organization_id not in self.tables["organizations"]:
            self._insert(
                RESOURCES["organizations"],
                {"id": user.organization_id, "name": f"{user.fullname}'s organization", "created_at": now},
            )
            self.set_plan(user.organization_id, "free")
        workspace = self.tables["workspaces"].get(user.default_workspace_id)
        if workspace is None:
            self.add_workspace(user, f"{user.fullname}'s workspace", workspace_id=user.default_workspace_id)
        else:
            self.members.setdefault(workspace["id"], set()).add(user.id)
        for index, name in enumerate(PROJECT_NAMES):
            self.add(user, "projects", {"name": name, "color": FREE_COLORS[index]}, at=user.created_at)

    def add_workspace(
        self, user: User, name: str, *, organization_id: int | None = None, workspace_id: int | None = None
    ) -> dict[str, Any]:
        """A new workspace of one of ``user``'s organizations (its own by default), with ``user`` a member."""
        organization_id = organization_id or user.organization_id
        if organization_id not in self.tables["organizations"]:
            raise BadInput("Organization not found/accessible")
        wid = workspace_id or self.new_id()
        record = self._insert(
            RESOURCES["workspaces"],
            {"id": wid, "organization_id": organization_id, "name": name, "api_token": secrets.token_hex(16)},
        )
        self.members.setdefault(wid, set()).add(user.id)
        self._sync_premium(organization_id)
        return record

    def add_organization(self, user: User, name: str, plan: str = "free") -> dict[str, Any]:
        """A new organization owned by ``user``, with one workspace."""
        oid = self.new_id()
        self._insert(RESOURCES["organizations"], {"id": oid, "name": name, "created_at": self.state.now()})
        self.set_plan(oid, plan)
        self.add_workspace(user, f"{name} workspace", organization_id=oid)
        return self.tables["organizations"][oid]

    def set_plan(self, organization_id: int, plan: str) -> None:
        """Put an organization on ``plan`` (free, starter or premium)."""
        if plan not in PLAN_QUOTAS:
            raise ValueError(f"plan must be one of {', '.join(PLAN_QUOTAS)}")
        organization = self.tables["organizations"].get(organization_id)
        if organization is None:
            raise LookupError("no such organization")
        organization["plan"] = plan
        organization["trial_info"] = dict(NO_TRIAL)
        organization["pricing_plan_id"] = PLAN_IDS[plan]
        organization["pricing_plan_name"] = plan.capitalize()
        self._sync_premium(organization_id)

    def _sync_premium(self, organization_id: int) -> None:
        premium = self.tables["organizations"][organization_id].get("plan", "free") != "free"
        for workspace in self.tables["workspaces"].values():
            if workspace["organization_id"] == organization_id:
                workspace["premium"] = workspace["business_ws"] = premium

    # Lookups -------------------------------------------------------------------------------

    def workspaces_of(self, user: User) -> list[dict[str, Any]]:
        """The workspaces ``user`` belongs to, by id."""
        self.ensure(user)
        return [
            w for wid, w in sorted(self.tables["workspaces"].items()) if user.id in self.members.get(wid, ())
        ]

    def organizations_of(self, user: User) -> list[dict[str, Any]]:
        """The organizations of ``user``'s workspaces, by id."""
        ids = {workspace["organization_id"] for workspace in self.workspaces_of(user)}
        return [self.tables["organizations"][oid] for oid in sorted(ids)]

    def is_member(self, user: User, workspace_id: int) -> bool:
        """Whether ``user`` belongs to the workspace."""
        self.ensure(user)
        return user.id in self.members.get(workspace_id, ())

    def organization_of_workspace(self, workspace_id: int) -> int | None:
        """The organization owning a workspace, if the workspace exists."""
        workspace = self.tables["workspaces"].get(workspace_id)
        return workspace["organization_id"] if workspace is not None else None

    def plan(self, organization_id: int) -> str:
        """An organization's plan (``free`` when unknown)."""
        organization = self.tables["organizations"].get(organization_id)
        return str(organization.get("plan", "free")) if organization is not None else "free"

    def premium(self, workspace_id: int) -> bool:
        """Whether the workspace's organization pays for a plan."""
        organization_id = self.organization_of_workspace(workspace_id)
        return organization_id is not None and self.plan(organization_id) != "free"

    def records(self, name: str, workspace_id: int, *, deleted: bool = False) -> list[dict[str, Any]]:
        """The records of one resource in one workspace, deleted ones only when asked."""
        resource = RESOURCES[name]
        return [
            record
            for record in self.tables[name].values()
            if record[resource.owner] == workspace_id and (deleted or record.get("server_deleted_at") is None)
        ]

    # Changes -------------------------------------------------------------------------------

    def add(self, user: User, name: str, body: dict[str, Any], *, at: float | None = None) -> dict[str, Any]:
        """Create a record of resource ``name`` from a body, in the workspace the body names or ``user``'s default."""
        resource = RESOURCES[name]
        workspace_id = body.get("workspace_id") or body.get("wid") or user.default_workspace_id
        if not self.is_member(user, workspace_id):
            raise BadInput("User does not have access to this resource.")
        record = resource.blank()
        resource.apply(record, body, creating=True)
        record[resource.owner] = workspace_id
        self.validate(resource, record, workspace_id)
        if "user_id" in record:
            record["user_id"] = user.id
        if "creator_id" in record:
            record["creator_id"] = user.id
        return self._insert(resource, record, at=at)

    def validate(self, resource: Resource, record: dict[str, Any], workspace_id: int) -> None:
        """Refuse duplicate names, unknown references and paid features on Free (texts are the emulator's)."""
        if resource.unique_name:
            for other in self.records(resource.name, workspace_id):
                if other.get("project_id") != record.get("project_id"):
                    continue  # a task's name is unique within its project (other records have none)
                if (
                    other["id"] != record.get("id")
                    and str(other["name"]).lower() == str(record["name"]).lower()
                ):
                    raise BadInput("Name has already been taken")
        for reference, table in (("project_id", "projects"), ("client_id", "clients"), ("task_id", "tasks")):
            value = record.get(reference)
            if value is not None and value not in {r["id"] for r in self.records(table, workspace_id)}:
                raise BadInput(f"Invalid {reference}")

    def _insert(
        self, resource: Resource, values: dict[str, Any], *, at: float | None = None
    ) -> dict[str, Any]:
        now = self.state.now()
        record = {**resource.blank(), **values}
        record["id"] = record.get("id") or self.new_id()
        record["at"] = now if at is None else at
        for stamp in ("created_at", "last_modified"):
            if stamp in record and record[stamp] is None:
                record[stamp] = record["at"]
        if resource.name == "projects" and record["start_date"] is None:
            record["start_date"] = datetime.fromtimestamp(record["at"], tz=timezone.utc).date().isoformat()
        self.tables[resource.name][record["id"]] = record
        return record

    def touch(self, record: dict[str, Any]) -> None:
        """Mark a record changed now."""
        record["at"] = self.state.now()


__all__ = ["PROJECT_NAMES", "Store"]
