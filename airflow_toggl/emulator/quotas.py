"""Toggl's two hourly quotas: which one a request counts against, and the 402 when it is used up.

A request naming a workspace or an organization (``/workspaces/{id}/...``, the Reports API's
``/workspace/{id}/...``, ``/organizations/{id}/...``) counts against the organization quota of
that organization, per user; every other Track request (``/me`` and the like) counts against
the user quota. Each is a sliding window; every answer carries ``X-Toggl-Quota-Remaining`` and
``X-Toggl-Quota-Resets-In`` for the quota the request counted against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_toggl.emulator.responses import Response, error
from airflow_toggl.emulator.state import EmulatorState, User
from airflow_toggl.emulator.store import Store

QUOTA_EXCEEDED = (
    "You have hit your hourly API quota. Please wait for it to reset before sending more requests."
)
"""The body of a quota 402: the emulator's own text, as Toggl's documentation gives none."""
LOGGED_PATH = "/api/v9/me/logged"
_WORKSPACE = re.compile(r"/(?:api/v9/workspaces|reports/api/v3/workspace)/(\d+)(?:/|$)")
_ORGANIZATION = re.compile(r"/api/v9/organizations/(\d+)(?:/|$)")


@dataclass(frozen=True)
class Scope:
    """The quota a request counts against: the user's own, or one organization's (by workspace when unknown)."""

    kind: str  # "user", "organization" or "workspace"
    key: int | None = None

    @property
    def organization_id(self) -> int | None:
        """The organization, for ``/me/quota``; ``None`` for the user quota."""
        return self.key if self.kind == "organization" else None


USER_SCOPE = Scope("user")


def scope_of(path: str, store: Store) -> Scope:
    """The quota scope of a request path."""
    match = _ORGANIZATION.match(path)
    if match:
        return Scope("organization", int(match.group(1)))
    match = _WORKSPACE.match(path)
    if match:
        workspace_id = int(match.group(1))
        organization_id = store.organization_of_workspace(workspace_id)
        return Scope("organization", organization_id) if organization_id else Scope("workspace", workspace_id)
    return USER_SCOPE


class Quotas:
    """Counts requests per (user, scope) and answers the 402 of a used-up quota."""

    def __init__(self, state: EmulatorState, store: Store) -> None:
        """Keep the windows in ``state``; learn organizations and plans from ``store``."""
        self.state = state
        self.store = store

    def limit(self, scope: Scope) -> int | None:
        """The hourly limit of a scope; ``None`` when that quota is off."""
        config = self.state.config
        if scope.kind == "user":
            return config.user_quota()
        plan = self.store.plan(scope.key) if scope.kind == "organization" and scope.key else "free"
        return config.organization_quota(plan)

    def admit(self, path: str, user: User) -> tuple[Scope, bool]:
        """Count one request of ``user``; the scope it counted against and whether the quota allowed it."""
        scope = scope_of(path, self.store)
        limit = self.limit(scope)
        if limit is None or (path == LOGGED_PATH and not self.state.config.meter_logged):
            return scope, True
        window = self.state.quota((user.id, scope.kind, scope.key))
        if window.try_count(self.state.now(), limit, self.state.config.quota_window):
            return scope, True
        self.state.counters.quota_exceeded += 1
        return scope, False

    def refusal(self) -> Response:
        """The 402 of a used-up quota."""
        return error(402, QUOTA_EXCEEDED)

    def headers(self, scope: Scope, user: User) -> list[tuple[str, str]]:
        """The two quota headers of a scope (none when that quota is off)."""
        entry = self.entry(scope, user)
        if entry is None:
            return []
        return [
            ("X-Toggl-Quota-Remaining", str(entry["remaining"])),
            ("X-Toggl-Quota-Resets-In", str(entry["resets_in_secs"])),
        ]

    def entry(self, scope: Scope, user: User) -> dict[str, Any] | None:
        """A quota as ``/me/quota`` lists it; ``None`` when it is off."""
        limit = self.limit(scope)
        if limit is None:
            return None
        window = self.state.quota((user.id, scope.kind, scope.key))
        now, length = self.state.now(), self.state.config.quota_window
        return {
            "organization_id": scope.organization_id,
            "remaining": window.remaining(now, limit, length),
            "resets_in_secs": window.resets_in(now, length),
            "total": limit,
        }

    def listing(self, user: User) -> list[dict[str, Any]]:
        """``/me/quota``: one entry per organization of the user, then the user quota (quotas on only)."""
        scopes = [Scope("organization", o["id"]) for o in self.store.organizations_of(user)] + [USER_SCOPE]
        return [entry for scope in scopes if (entry := self.entry(scope, user)) is not None]


__all__ = ["QUOTA_EXCEEDED", "USER_SCOPE", "Quotas", "Scope", "scope_of"]
