"""How Toggl's lists continue from one answer to the next, as pure functions of the answer.

Three styles, from Toggl's public documentation:

- ``page``: Track v9 lists with ``page`` (from 1) and ``per_page``; a short or empty page is the last.
- ``since``: Track v9 lists of what changed since a UNIX time (``since``); the next request starts
  at the newest ``at`` seen, and items already yielded at that second are skipped. An answer with
  nothing new ends it.
- ``rows``: the Reports API v3 searches (a POST body with ``page_size``); while rows remain, the
  answer carries ``X-Next-Row-Number`` (with ``X-Next-ID`` and ``X-Next-Timestamp``), sent back
  as ``first_row_number`` (``first_id``, ``first_timestamp``) in the next body.

A pager never keeps the items it has seen, only the cursor: memory stays flat however long the list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from airflow_toggl.client.errors import TogglConfigError, TogglResponseError

STYLES = ("page", "since", "rows")
DEFAULT_MAX_PAGES = 1000
_NEXT_HEADERS = (
    ("X-Next-Row-Number", "first_row_number"),
    ("X-Next-ID", "first_id"),
    ("X-Next-Timestamp", "first_timestamp"),
)


@dataclass(frozen=True)
class PageRequest:
    """The query parameters and JSON body of one page's request."""

    params: dict[str, Any] | None
    json: Any


@dataclass
class Pager:
    """The cursor of one paginated listing: what to ask for next, and which items are new."""

    style: str
    page_size: int | None
    items_key: str | None = None
    _boundary: set[Any] = field(default_factory=set)

    def first(self, params: Mapping[str, Any] | None, json: Any) -> PageRequest:
        """The first page's request."""
        query = dict(params or {})
        if self.style == "page":
            query["page"] = 1
            if self.page_size is not None:
                query["per_page"] = self.page_size
        if self.style == "rows":
            if json is not None and not isinstance(json, Mapping):
                raise TogglConfigError("json", "must be an object: the search's filters")
            body = dict(json or {})
            if self.page_size is not None:
                body["page_size"] = self.page_size
            return PageRequest(query or None, body)
        if self.style == "since" and query.get("since") in (None, ""):
            raise TogglConfigError(
                "params", "the 'since' style starts from a 'since' parameter (a UNIX time)"
            )
        return PageRequest(query, json)

    def items(self, body: Any) -> list[Any]:
        """The list of items in an answer (under ``items_key`` when the answer is an object)."""
        if self.items_key is not None:
            body = body.get(self.items_key) if isinstance(body, dict) else None
        if body is None:
            return []
        if not isinstance(body, list):
            where = (
                f"under {self.items_key!r}" if self.items_key else "(set items_key if the list is a field)"
            )
            raise TogglResponseError(f"Toggl answered a page without a list of items {where}")
        return body

    def fresh(self, items: list[Any]) -> list[Any]:
        """The items not yielded before (only ``since`` can answer an item twice)."""
        if self.style != "since" or not self._boundary:
            return items
        return [item for item in items if _identity(item) not in self._boundary]

    def next(
        self, request: PageRequest, items: list[Any], new: list[Any], headers: Mapping[str, str]
    ) -> PageRequest | None:
        """The request after ``request``, or None when its answer was the last page."""
        if self.style == "rows":
            return self._next_rows(request, headers)
        if not new:
            return None
        if self.style == "page":
            if self.page_size is not None and len(items) < self.page_size:
                return None
            params = dict(request.params or {})
            params["page"] = int(params["page"]) + 1
            return replace(request, params=params)
        newest = max(_timestamp(item) for item in new)
        self._boundary = {_identity(item) for item in items if _timestamp(item) >= newest}
        return replace(request, params={**(request.params or {}), "since": newest})

    def _next_rows(self, request: PageRequest, headers: Mapping[str, str]) -> PageRequest | None:
        if not headers.get("X-Next-Row-Number"):
            return None
        body = dict(request.json or {})
        for header, name in _NEXT_HEADERS:
            value = headers.get(header)
            if value is None:
                body.pop(name, None)
                continue
            try:
                body[name] = int(value)
            except ValueError:
                raise TogglResponseError(
                    f"Toggl answered a page with a non-numeric {header} header"
                ) from None
        return replace(request, json=body)


def pager(
    style: Any, page_size: Any = None, items_key: Any = None, max_pages: Any = DEFAULT_MAX_PAGES
) -> Pager:
    """A pager for ``style``; a TogglConfigError names the first bad argument."""
    if style not in STYLES:
        raise TogglConfigError("style", f"must be one of {', '.join(STYLES)}")
    if page_size is not None and (
        isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1
    ):
        raise TogglConfigError("page_size", "must be a positive integer")
    if items_key is not None and (not isinstance(items_key, str) or not items_key):
        raise TogglConfigError("items_key", "must be the name of the field holding the list")
    if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
        raise TogglConfigError("max_pages", "must be a positive integer")
    return Pager(style, page_size, items_key)


def _identity(item: Any) -> Any:
    return item.get("id") if isinstance(item, dict) else repr(item)


def _timestamp(item: Any) -> int:
    """The whole UNIX second of an item's ``at`` (when it last changed)."""
    stamp = item.get("at") if isinstance(item, dict) else None
    try:
        return int(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise TogglResponseError("Toggl answered a 'since' page with an item lacking a valid 'at'") from None
