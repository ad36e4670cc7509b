"""Shaping (and reading) an account's world from a test: organizations and plans, workspaces, records, time entries.

``DataControls`` is part of :class:`~airflow_toggl.emulator.control.Controller` (and so of
``TogglEmulator``); the control API and the CLI reach the same methods. Records are made as a
request would make them, so they are checked the same way and appear in every endpoint.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_toggl.emulator.config import YEAR, bounded_number
from airflow_toggl.emulator.resources import FREE_COLORS, RESOURCES, WORKSPACE_RESOURCES
from airflow_toggl.emulator.state import User

if TYPE_CHECKING:
    from airflow_toggl.emulator.app import TogglApp
    from airflow_toggl.emulator.state import EmulatorState

MAX_TIME_ENTRIES = 100_000
MAX_RECORDS = 10_000
LAST_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z, the last moment a date can show
SEEDED = ("workspaces", "projects", "clients", "tags", "time_entries")


def epoch_seconds(value: Any) -> float:
    """A moment given as a datetime (naive means UTC), ISO 8601 text or epoch seconds."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("start must be a datetime, ISO 8601 text or epoch seconds") from None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("start must be a datetime, ISO 8601 text or epoch seconds")
    return float(value)


class DataControls:
    """Create organizations, workspaces, projects, clients, tags, tasks and time entries for an account; read them back."""

    state: EmulatorState
    app: TogglApp

    def _account(self, email: str) -> User:
        user = self.state.find_by_email(email)
        if user is None:
            raise ValueError("no open account with that email")
        self.app.store.ensure(user)
        return user

    def add_organization(self, email: str, name: str, plan: str = "free") -> dict[str, Any]:
        """A new organization owned by the account, on ``plan`` (free, starter, premium), with one workspace."""
        with self.state.lock:
            record = self.app.store.add_organization(self._account(email), name, plan)
            return RESOURCES["organizations"].render(record)

    def set_plan(self, organization_id: int, plan: str) -> None:
        """Put an organization on ``plan``: its quota per user and its paid features follow."""
        with self.state.lock:
            self.app.store.set_plan(organization_id, plan)

    def add_workspace(self, email: str, name: str, organization_id: int | None = None) -> dict[str, Any]:
        """A new workspace in one of the account's organizations (its own by default)."""
        with self.state.lock:
            record = self.app.store.add_workspace(self._account(email), name, organization_id=organization_id)
            return RESOURCES["workspaces"].render(record)

    def add_record(self, email: str, resource: str, **fields: Any) -> dict[str, Any]:
        """A project, client, tag, task or time entry, from the fields a request body would carry.

        ``workspace_id`` defaults to the account's default workspace; a time entry needs ``start``.
        """
        if resource not in WORKSPACE_RESOURCES:
            raise ValueError(f"resource must be one of {', '.join(WORKSPACE_RESOURCES)}")
        with self.state.lock:
            user = self._account(email)
            if resource == "time_entries":
                fields.setdefault("created_with", "toggl-emulator")
            record = self.app.store.add(user, resource, fields)
            if resource == "time_entries":
                duration = fields.get("duration", 0)
                record["stop"] = None if duration < 0 else record["start"] + duration
                record["duration"] = -1 if duration < 0 else duration
            return RESOURCES[resource].render(record)

    def time_entries(self, email: str) -> list[dict[str, Any]]:
        """The account's time entries as ``/me/time_entries`` lists them, without spending a request."""
        with self.state.lock:
            user = self._account(email)
            return [RESOURCES["time_entries"].render(r) for r in self.app.entries.mine(user)]

    def add_time_entries(
        self,
        email: str,
        *,
        start: Any,
        count: int,
        every: float = 3600.0,
        seconds: int = 1800,
        workspace_id: int | None = None,
    ) -> int:
        """Give an account ``count`` stopped time entries from ``start``, ``every`` seconds apart.

        ``start`` is a datetime, ISO text or epoch seconds; the entries cycle through the
        workspace's projects. Bounded (at most ``MAX_TIME_ENTRIES`` a call, all of them between
        1970 and 9999) so one call cannot hold the emulator for long or store a time no date can show.
        """
        begin = bounded_number("start", epoch_seconds(start), float, 0, LAST_EPOCH, False)
        count = bounded_number("count", count, int, 0, MAX_TIME_ENTRIES, False)
        every = bounded_number("every", every, float, 0, YEAR, True)
        seconds = bounded_number("seconds", seconds, int, 0, YEAR, False)
        if begin + count * every + seconds > LAST_EPOCH:
            raise ValueError("the time entries would end after the year 9999")
        with self.state.lock:
            user = self._account(email)
            store = self.app.store
            wid = workspace_id or user.default_workspace_id
            if not store.is_member(user, wid):
                raise ValueError("the account is not a member of that workspace")
            projects: list[dict[str, Any] | None] = [*sorted(store.records("projects", wid), key=lambda p: p["id"])]
            projects = projects or [None]
            table, now = store.tables["time_entries"], self.state.now()
            for index in range(count):
                project = projects[index % len(projects)]
                begin_at = begin + index * every
                record = RESOURCES["time_entries"].blank()
                record.update(
                    id=store.new_id(),
                    workspace_id=wid,
                    user_id=user.id,
                    start=begin_at,
                    stop=begin_at + seconds,
                    duration=seconds,
                    at=now,
                    project_id=project["id"] if project else None,
                    description=f"{project['name'] if project else 'Entry'} #{index + 1}",
                )
                table[record["id"]] = record
            return count

    def seed(
        self,
        email: str,
        *,
        workspaces: int = 0,
        projects: int = 0,
        clients: int = 0,
        tags: int = 0,
        time_entries: int = 0,
        start: Any = None,
        plan: str | None = None,
    ) -> dict[str, int]:
        """Add numbered workspaces, projects, clients and tags and hourly time entries to an account.

        Projects, clients and tags go to the default workspace; time entries run hourly from
        ``start`` (default: 30 days before now). ``plan`` puts the account's organization on a plan.
        """
        counts = {"workspaces": workspaces, "projects": projects, "clients": clients, "tags": tags}
        for name, value in counts.items():
            bounded_number(name, value, int, 0, MAX_RECORDS, False)
        with self.state.lock:
            user = self._account(email)
            if plan is not None:
                self.app.store.set_plan(user.organization_id, plan)
            for index in range(workspaces):
                self.app.store.add_workspace(user, f"Workspace {index + 1}")
            for index in range(clients):
                self.app.store.add(user, "clients", {"name": f"Client {index + 1}"})
            for index in range(projects):
                color = FREE_COLORS[index % len(FREE_COLORS)]
                self.app.store.add(user, "projects", {"name": f"Project {index + 1}", "color": color})
            for index in range(tags):
                self.app.store.add(user, "tags", {"name": f"tag-{index + 1}"})
            begin = self.state.now() - 30 * 86400 if start is None else start
        self.add_time_entries(email, start=begin, count=time_entries)
        return {**counts, "time_entries": time_entries}


__all__ = ["MAX_TIME_ENTRIES", "SEEDED", "DataControls", "epoch_seconds"]
