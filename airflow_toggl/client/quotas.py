"""Which of Toggl's two hourly quotas an answer reports, and the latest figures of each.

Toggl counts a request that names a workspace or an organization (``/api/v9/workspaces/{id}/...``,
``/api/v9/organizations/{id}/...``, the Reports API's ``/reports/api/v3/workspace/{id}/...``)
against the quota of that organization, per user; every other request (``/me`` and the like)
against the user's own quota (30 an hour, whatever the plan). The quota headers of an answer
describe the quota its request counted against, so the request's path says which one it is. A
workspace is mapped to its organization once an answer said which (``/me/workspaces``,
``/workspaces/{id}``, ``/me/quota``); until then its quota is kept by workspace.
Source: https://engineering.toggl.com/docs/#api-quota
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

from airflow_toggl.client.limits import QUOTA_REMAINING_HEADER, QUOTA_RESETS_IN_HEADER, Quota, parse_quota

USER_SCOPE = "user"
"""The quota of requests that name no workspace or organization."""
_WORKSPACE_PATH = re.compile(r"/(?:api/v9/workspaces|reports/api/v3/workspace)/(\d+)(?:/|$)")
_ORGANIZATION_PATH = re.compile(r"/api/v9/organizations/(\d+)(?:/|$)")
_WORKSPACE_LISTINGS = re.compile(r"/api/v9/(?:me/workspaces|workspaces/\d+)/?$")


def organization_scope(organization_id: int) -> str:
    """The scope naming one organization's quota."""
    return f"organization:{organization_id}"


def scope_of(path: str, organization_of: Mapping[int, int]) -> str:
    """The quota a request to ``path`` counts against; ``organization_of`` maps known workspaces."""
    match = _ORGANIZATION_PATH.match(path)
    if match:
        return organization_scope(int(match.group(1)))
    match = _WORKSPACE_PATH.match(path)
    if match:
        workspace_id = int(match.group(1))
        organization_id = organization_of.get(workspace_id)
        return organization_scope(organization_id) if organization_id else f"workspace:{workspace_id}"
    return USER_SCOPE


def quotas_listed(listing: object) -> dict[str, Quota]:
    """The quotas of a ``/me/quota`` answer by scope (an entry without an organization is the user's)."""
    quotas: dict[str, Quota] = {}
    for entry in listing if isinstance(listing, list) else []:
        if not isinstance(entry, dict):
            continue
        organization_id = _id(entry.get("organization_id"))
        scope = organization_scope(organization_id) if organization_id else USER_SCOPE
        figures = {  # read as the headers are, so a listing's figures meet the same checks
            QUOTA_REMAINING_HEADER: str(entry.get("remaining")),
            QUOTA_RESETS_IN_HEADER: str(entry.get("resets_in_secs")),
        }
        quota = parse_quota(figures)
        if quota is not None:
            quotas[scope] = Quota(quota.remaining, quota.resets_in, scope)
    return quotas


def _id(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class QuotaBook:
    """The latest figures of each quota one client has seen, kept apart by scope (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._quotas: dict[str, Quota] = {}
        self._organization_of: dict[int, int] = {}
        self.last: Quota | None = None

    def scope(self, path: str) -> str:
        """The scope of a request to ``path``, with the workspaces mapped so far."""
        with self._lock:
            return scope_of(path, self._organization_of)

    def note(self, path: str, headers: Mapping[str, str]) -> Quota | None:
        """Keep the quota an answer to ``path`` reports, under its scope; the quota, or None."""
        quota = parse_quota(headers)
        if quota is None:
            return None
        scope = self.scope(path)
        quota = Quota(quota.remaining, quota.resets_in, scope)
        with self._lock:
            self._quotas[scope] = self.last = quota
        return quota

    def keep(self, quotas: Mapping[str, Quota]) -> None:
        """Keep figures read from a listing (``/me/quota``), by scope."""
        with self._lock:
            self._quotas.update(quotas)

    def learn(self, path: str, body: object) -> None:
        """Map workspaces to organizations from an answer that says which (a workspace or a listing)."""
        if not _WORKSPACE_LISTINGS.match(path):
            return
        for item in body if isinstance(body, list) else [body]:
            if isinstance(item, dict):
                self._map(_id(item.get("id")), _id(item.get("organization_id")))

    def _map(self, workspace_id: int | None, organization_id: int | None) -> None:
        if workspace_id is None or organization_id is None:
            return
        with self._lock:
            self._organization_of[workspace_id] = organization_id
            by_workspace = self._quotas.pop(f"workspace:{workspace_id}", None)
            scope = organization_scope(organization_id)
            if by_workspace is not None and scope not in self._quotas:
                self._quotas[scope] = Quota(by_workspace.remaining, by_workspace.resets_in, scope)

    def quotas(self) -> dict[str, Quota]:
        """The latest figures of each quota seen, by scope."""
        with self._lock:
            return dict(self._quotas)


__all__ = ["USER_SCOPE", "QuotaBook", "organization_scope", "quotas_listed", "scope_of"]
