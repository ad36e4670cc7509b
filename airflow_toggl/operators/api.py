"""Call any Toggl endpoint, or export a paged listing as JSON Lines, with a Toggl connection."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_toggl.client.paging import DEFAULT_MAX_PAGES, Page
from airflow_toggl.exceptions import TogglConfigError
from airflow_toggl.operators.export import ExportPartsMissingError, PagedExport, export_id
from airflow_toggl.operators.toggl import TogglBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_MAX_XCOM_ITEMS = 1000


class TogglApiOperator(TogglBaseOperator):
    """One request to any Toggl endpoint, or every item of a paged listing, with the connection's auth.

    Requests go through the hook, so they share the connection's credentials (or stored session),
    pacing, hourly quota handling and retry policy. On a used-up quota a deferrable task waits in
    the triggerer and a paged walk then goes on with the page after the last one it read (its
    cursor travels with the trigger), so N pages under k quota waits cost at most N + k requests.
    Secret fields (``api_token``, ``intercom_hash``...) are replaced by ``***`` in whatever the
    task returns or writes.

    Without ``output_path`` the answer (or the list of items) is returned to XCom: keep it small,
    ``max_xcom_items`` is the limit. With ``output_path`` the items are written to that object
    storage path as JSON Lines, one page in memory at a time, and the task returns
    ``{"path", "rows"}``. Each page is first written as a part in a hidden folder beside the
    target (``.<name>.parts-<id>/``) with the walk's cursor; the target appears only when the
    listing is complete, each row once. A retry of the task (after a crash or a failed try) goes
    on from the last page written.

    :param path: the endpoint's path, e.g. ``/api/v9/me/workspaces`` or
        ``/reports/api/v3/workspace/{id}/search/time_entries``.
    :param method: HTTP method (``GET`` by default; ``POST`` for ``paginate="rows"``).
    :param service: ``track`` (Track v9 and Reports v3) or ``accounts``.
    :param query: query parameters.
    :param json: the JSON body (for ``rows``: the search filters).
    :param paginate: None for one request; ``page`` or ``rows`` to walk a listing.
    :param page_size: items per page (``per_page``, or ``page_size`` for ``rows``).
    :param items_key: the field holding the list when an answer is an object.
    :param max_pages: fail rather than read more pages than this.
    :param idempotent: whether the request may be sent again after a failure; default: by method.
    :param output_path: where to write JSON Lines (an ``ObjectStoragePath`` or its URL, such as
        ``file:///data/toggl/{{ ds }}.jsonl`` or ``s3://bucket/key.jsonl``).
    :param max_xcom_items: most items returned to XCom when there is no ``output_path``.
    :param auth_mode: ``api_token``, ``basic`` or ``session``; default: the connection's.
    """

    template_fields: Sequence[str] = (
        "toggl_conn_id",
        "auth_mode",
        "method",
        "path",
        "service",
        "query",
        "json",
        "output_path",
    )
    template_fields_renderers = {"query": "json", "json": "json"}

    def __init__(
        self,
        *,
        path: str,
        method: str | None = None,
        service: str = "track",
        query: dict[str, Any] | None = None,
        json: Any = None,
        paginate: str | None = None,
        page_size: int | None = None,
        items_key: str | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        idempotent: bool | None = None,
        output_path: str | ObjectStoragePath | None = None,
        max_xcom_items: int = DEFAULT_MAX_XCOM_ITEMS,
        auth_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.method = method
        self.service = service
        self.query = query
        self.json = json
        self.paginate = paginate
        self.page_size = page_size
        self.items_key = items_key
        self.max_pages = max_pages
        self.idempotent = idempotent
        self.output_path = output_path
        self.max_xcom_items = max_xcom_items
        self.auth_mode = auth_mode

    def execute_toggl(self, context: Context) -> Any:
        """One request or a paged walk; to XCom, or written to ``output_path``."""
        limit = self._xcom_limit()
        if self.output_path is not None:
            return self._export(_storage_path(self.output_path), context)
        if self.paginate:
            return self._listing(limit)
        answer = self._answer()
        if isinstance(answer, list):
            answer = _at_most(answer, limit)
        return self.hook.without_secrets(answer)

    def progress(self) -> dict[str, Any] | None:
        """The paged walk's cursor and what it gathered (rows written, or the items for XCom)."""
        return self._progress

    _progress: dict[str, Any] | None = None

    def _answer(self) -> Any:
        return self.hook.request(
            self.method or "GET",
            self.path,
            service=self.service,
            params=self.query,
            json=self.json,
            idempotent=self.idempotent,
        )

    def _pages(self, resume: dict[str, Any] | None) -> Iterator[Page]:
        """The listing's pages, from the one after ``resume`` (a cursor) when given."""
        return self.hook.pages(
            self.path,
            style=self.paginate,
            method=self.method,
            service=self.service,
            params=self.query,
            json=self.json,
            page_size=self.page_size,
            items_key=self.items_key,
            max_pages=self.max_pages,
            idempotent=self.idempotent,
            resume=resume,
        )

    def _listing(self, limit: int) -> list[Any]:
        """Every item of the listing for XCom (at most ``limit``), going on from a quota wait's progress."""
        resumed = self.resume_from or {}
        kept: list[Any] = list(resumed.get("items", []))
        self._progress = self.resume_from  # a wait before the next page keeps what is already gathered
        for page in self._pages(resumed.get("cursor")):
            kept.extend(_at_most(self.hook.without_secrets(page.items), limit - len(kept), limit))
            self._progress = {"cursor": page.cursor, "items": kept}
        return kept

    def _xcom_limit(self) -> int:
        limit = self.max_xcom_items
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise TogglConfigError("max_xcom_items", "must be a whole number of items, 0 or more")
        return limit

    def _export(self, target: ObjectStoragePath, context: Context) -> dict[str, Any]:
        """Write the items as JSON Lines, page by page; the file appears at ``target`` only when complete."""
        if target.is_dir():  # the move at the end would put the file inside it, under another name
            raise TogglConfigError("output_path", "names a folder: name the file, e.g. file:///data/x.jsonl")
        export = PagedExport(target, self._export_id(context))
        resumed = self.resume_from or export.saved_progress()
        if resumed and not self.resume_from:
            self.log.info(
                "Going on with the export after page %s, where an earlier try stopped.", resumed["pages"]
            )
        rows = int(resumed["rows"]) if resumed else 0
        self._progress = resumed  # a wait before the next page keeps what is already done
        try:
            if resumed and resumed["cursor"] is None:  # every page is written: only the move is left
                export.finish(int(resumed["pages"]))
                pages: Iterable[Page] = []
            else:
                cursor = resumed["cursor"] if resumed else None
                pages = self._pages(cursor) if self.paginate else _one_page(self._answer())
            for page in pages:
                lines = [_json_line(self.hook.without_secrets(item)) for item in page.items]
                rows += len(lines)
                self._progress = {"cursor": page.cursor, "rows": rows}
                export.write_page(page.number, lines, self._progress)
                if page.last:
                    export.finish(page.number)
        except (TogglConfigError, ExportPartsMissingError):
            export.discard()  # bad input, or parts lost elsewhere: a retry starts afresh
            raise
        self.log.info("Wrote %d rows from Toggl %s to %s.", rows, self.path, target)
        return {"path": str(target), "rows": rows}

    def _export_id(self, context: Context) -> str:
        """Names this export's parts: the same task, run and request find them again on a retry."""
        ti = context.get("ti") if isinstance(context, Mapping) else None
        run = [getattr(ti, name, None) for name in ("dag_id", "task_id", "run_id", "map_index")]
        request = [self.method, self.service, self.path, self.query, self.json, self.paginate]
        return export_id(run, request, self.page_size, self.items_key)


def _storage_path(value: Any) -> ObjectStoragePath:
    """``output_path`` as an ObjectStoragePath (a TogglConfigError naming it when it is not one)."""
    if isinstance(value, ObjectStoragePath):
        return value
    if not isinstance(value, str) or not value.strip():
        raise TogglConfigError(
            "output_path", "must be an ObjectStoragePath or a URL such as file:///data/x.jsonl"
        )
    if "://" not in value:
        raise TogglConfigError(
            "output_path", "must name its scheme, e.g. file:///data/x.jsonl or s3://bucket/key"
        )
    return ObjectStoragePath(value.strip())


def _at_most(items: Iterable[Any], room: int, limit: int | None = None) -> list[Any]:
    """The items as a list, or a TogglConfigError as soon as there are more than ``room``.

    ``limit`` is the whole allowance the message names (``room`` when not given).
    """
    kept: list[Any] = []
    for item in items:
        if len(kept) == room:
            raise TogglConfigError(
                "max_xcom_items",
                f"the answer has more than {room if limit is None else limit} items: set output_path to write them to storage",
            )
        kept.append(item)
    return kept


def _one_page(answer: Any) -> list[Page]:
    """A single answer as the one and last page of an export (a list's items, or the answer itself)."""
    return [Page(answer if isinstance(answer, list) else [answer], 1, None)]


def _json_line(item: Any) -> str:
    return json.dumps(item, separators=(",", ":"))


__all__ = ["TogglApiOperator"]
