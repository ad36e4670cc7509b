"""Call any Toggl endpoint, or export a paged listing as JSON Lines, with a Toggl connection."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from airflow_toggl.client.paging import DEFAULT_MAX_PAGES
from airflow_toggl.operators.toggl import TogglBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

DEFAULT_MAX_XCOM_ITEMS = 1000


class TogglApiOperator(TogglBaseOperator):
    """One request to any Toggl endpoint, or every item of a paged listing, with the connection's auth.

    Requests go through the hook, so they share the connection's credentials (or stored session),
    pacing, hourly quota handling and retry policy; on a used-up quota a deferrable task waits in
    the triggerer and starts over. Secret fields (``api_token``, ``intercom_hash``...) are replaced
    by ``***`` in whatever the task returns or writes.

    Without ``output_path`` the answer (or the list of items) is returned to XCom: keep it small,
    ``max_xcom_items`` is the limit. With ``output_path`` the items are streamed to that object
    storage path as JSON Lines, one page in memory at a time, and the task returns
    ``{"path", "rows"}``.

    :param path: the endpoint's path, e.g. ``/api/v9/me/workspaces`` or
        ``/reports/api/v3/workspace/{id}/search/time_entries``.
    :param method: HTTP method (``GET`` by default; ``POST`` for ``paginate="rows"``).
    :param service: ``track`` (Track v9 and Reports v3) or ``accounts``.
    :param query: query parameters.
    :param json: the JSON body (for ``rows``: the search filters).
    :param paginate: None for one request; ``page``, ``since`` or ``rows`` to walk a listing.
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

    def status_notes(self) -> dict[str, Any]:
        """Nothing: an answer may report the user's quota or an organization's, and it does not say which."""
        return {}

    def execute_toggl(self, context: Context) -> Any:
        """One request or a paged walk; to XCom, or streamed to ``output_path``."""
        limit = self._xcom_limit()
        target = None if self.output_path is None else _storage_path(self.output_path)
        items = self._items(None if target is not None else limit)
        if target is not None:
            return self._export(target, items)
        if self.paginate:
            items = _at_most(items, limit)
        return self.hook.without_secrets(items)

    def _items(self, limit: int | None) -> Any:
        """The answer of one request (at most ``limit`` items), or an iterator over the listing."""
        if not self.paginate:
            answer = self.hook.request(
                self.method or "GET",
                self.path,
                service=self.service,
                params=self.query,
                json=self.json,
                idempotent=self.idempotent,
            )
            return _at_most(answer, limit) if limit is not None and isinstance(answer, list) else answer
        return self.hook.paginate(
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
        )

    def _xcom_limit(self) -> int:
        from airflow_toggl.exceptions import TogglConfigError

        limit = self.max_xcom_items
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise TogglConfigError("max_xcom_items", "must be a whole number of items, 0 or more")
        return limit

    def _export(self, target: ObjectStoragePath, answer: Any) -> dict[str, Any]:
        """Write the items as JSON Lines; remove the partial file if the walk fails."""
        import json

        if target.protocol in ("file", "local"):
            target.parent.mkdir(parents=True, exist_ok=True)
        items: Iterable[Any] = answer if isinstance(answer, list) or self.paginate else [answer]
        rows = 0
        try:
            with target.open("w", encoding="utf-8") as out:
                for item in items:
                    out.write(json.dumps(self.hook.without_secrets(item), separators=(",", ":")) + "\n")
                    rows += 1
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        self.log.info("Wrote %d rows from Toggl %s to %s.", rows, self.path, target)
        return {"path": str(target), "rows": rows}


def _storage_path(value: Any) -> ObjectStoragePath:
    """``output_path`` as an ObjectStoragePath (a TogglConfigError naming it when it is not one)."""
    from airflow.sdk import ObjectStoragePath

    from airflow_toggl.exceptions import TogglConfigError

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


def _at_most(items: Iterable[Any], limit: int) -> list[Any]:
    """The items as a list, or a TogglConfigError as soon as there are more than ``limit``."""
    from airflow_toggl.exceptions import TogglConfigError

    kept: list[Any] = []
    for item in items:
        if len(kept) == limit:
            raise TogglConfigError(
                "max_xcom_items",
                f"the answer has more than {limit} items: set output_path to write them to storage",
            )
        kept.append(item)
    return kept


__all__ = ["TogglApiOperator"]
