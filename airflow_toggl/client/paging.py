"""How Toggl's lists continue from one answer to the next, and a walk that can stop and resume.

Two styles, from Toggl's public documentation:

- ``page``: Track v9 lists with ``page`` (from 1) and ``per_page``. A page shorter than the page
  size is the last, so no empty page is asked for. The page size is ``page_size`` when given,
  else the answer's ``X-Page-Size`` header, else the first page's length (then only a listing
  that fits on one page costs a second, empty request).
- ``rows``: the Reports API v3 searches (a POST body with ``page_size``); while rows remain, the
  answer carries ``X-Next-Row-Number`` (with ``X-Next-ID`` and ``X-Next-Timestamp``), sent back
  as ``first_row_number`` (``first_id``, ``first_timestamp``) in the next body.

(``since`` on Track lists is a filter, "changed since", not a way to page: pass it in ``params``.)

Every page a walk yields carries its cursor: a small JSON object of whole numbers, free of
secrets, naming how many pages were read and where the next one starts. A walk started with that
cursor as ``resume`` asks for the next page and nothing before it, so a task that stops for the
hourly quota (or is retried) re-reads no page. A pager keeps no items, only the cursor: memory
stays flat however long the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from airflow_toggl.client.errors import TogglConfigError, TogglResponseError

STYLES = ("page", "rows")
DEFAULT_MAX_PAGES = 1000
_NEXT_HEADERS = (
    ("X-Next-Row-Number", "first_row_number"),
    ("X-Next-ID", "first_id"),
    ("X-Next-Timestamp", "first_timestamp"),
)
_CURSOR_FIELDS = {
    "page": ("pages", "page", "page_size"),
    "rows": ("pages", *(name for _, name in _NEXT_HEADERS)),
}
"""What a cursor may hold, by style: ``pages`` read so far, then where the next page starts."""


@dataclass(frozen=True)
class PageRequest:
    """The query parameters and JSON body of one page's request."""

    params: dict[str, Any] | None
    json: Any


@dataclass(frozen=True)
class Page:
    """One answered page: its items, its number in the walk (from 1), and the walk's cursor after it.

    ``cursor`` is None after the last page; otherwise passing it as ``resume`` continues the walk
    with the following page.
    """

    items: list[Any]
    number: int
    cursor: dict[str, int] | None

    @property
    def last(self) -> bool:
        """Whether no page follows."""
        return self.cursor is None


@dataclass
class Pager:
    """The rules of one paginated listing: what to ask for first and next, and where items are."""

    style: str
    page_size: int | None
    items_key: str | None = None
    seen_page_size: int | None = None

    def start(
        self, params: Mapping[str, Any] | None, json: Any, resume: Mapping[str, Any] | None = None
    ) -> PageRequest:
        """The first page's request, or with ``resume`` (a page's cursor) the page after that one."""
        position = check_cursor(self.style, resume) if resume is not None else {}
        query = dict(params or {})
        if self.style == "page":
            query["page"] = position.get("page", 1)
            if self.page_size is not None:
                query["per_page"] = self.page_size
            self.seen_page_size = position.get("page_size", self.seen_page_size)
            return PageRequest(query, json)
        if json is not None and not isinstance(json, Mapping):
            raise TogglConfigError("json", "must be an object: the search's filters")
        body = dict(json or {})
        if self.page_size is not None:
            body["page_size"] = self.page_size
        body.update((name, value) for name, value in position.items() if name != "pages")
        return PageRequest(query or None, body)

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

    def next(self, request: PageRequest, items: list[Any], headers: Mapping[str, str]) -> PageRequest | None:
        """The request after ``request``, or None when its answer was the last page."""
        if self.style == "rows":
            return self._next_rows(request, headers)
        size = _header_int(headers, "X-Page-Size") or self.page_size or self.seen_page_size
        if not items or (size is not None and len(items) < size):
            return None
        if size is None:
            self.seen_page_size = len(items)
        params = dict(request.params or {})
        params["page"] = int(params["page"]) + 1
        return replace(request, params=params)

    def position(self, request: PageRequest) -> dict[str, int]:
        """Where ``request`` starts, as cursor fields (no filters, so nothing secret)."""
        if self.style == "page":
            place = {"page": int((request.params or {})["page"])}
            if self.page_size is None and self.seen_page_size is not None:
                place["page_size"] = self.seen_page_size
            return place
        body = request.json or {}
        return {name: int(body[name]) for _, name in _NEXT_HEADERS if name in body}

    def _next_rows(self, request: PageRequest, headers: Mapping[str, str]) -> PageRequest | None:
        if not headers.get("X-Next-Row-Number"):
            return None
        body = dict(request.json or {})
        for header, name in _NEXT_HEADERS:
            value = _header_int(headers, header)
            if value is None:
                body.pop(name, None)
            else:
                body[name] = value
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


def check_cursor(style: str, cursor: Any) -> dict[str, int]:
    """``cursor`` checked against ``style``: known fields, whole numbers; else a TogglConfigError naming ``resume``."""
    allowed = _CURSOR_FIELDS[style]
    if not isinstance(cursor, Mapping) or not cursor:
        raise TogglConfigError("resume", "must be the cursor of a page, as the walk handed it out")
    checked: dict[str, int] = {}
    for name, value in cursor.items():
        if name not in allowed:
            raise TogglConfigError("resume", f"has {name!r}, which is no part of a {style!r} cursor")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TogglConfigError("resume", f"has a {name!r} that is not a whole number")
        checked[name] = value
    return checked


def walk(
    send: Callable[[PageRequest], tuple[Any, Mapping[str, str]]],
    rules: Pager,
    request: PageRequest,
    *,
    max_pages: int,
    label: str,
    resume: Mapping[str, Any] | None = None,
) -> Iterator[Page]:
    """Send ``request`` and each next one, yielding every answered page with its cursor.

    ``send`` returns the parsed answer and its headers. ``resume`` (the cursor ``request`` was
    built from) carries the count of pages already read, so ``max_pages`` counts the whole walk.
    """
    number = int((resume or {}).get("pages", 0))
    following: PageRequest | None = request
    while following is not None:
        if number >= max_pages:  # a resumed walk may start past the bound
            raise TogglConfigError(
                "max_pages", f"{label} has more than {max_pages} pages: raise max_pages or narrow the query"
            )
        body, headers = send(following)
        number += 1
        items = rules.items(body)
        following = rules.next(following, items, headers)
        cursor = None if following is None else {"pages": number, **rules.position(following)}
        yield Page(items, number, cursor)


def _header_int(headers: Mapping[str, str], header: str) -> int | None:
    """A numeric paging header (None when absent); a TogglResponseError when it is not a number."""
    value = headers.get(header)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise TogglResponseError(f"Toggl answered a page with a non-numeric {header} header") from None
