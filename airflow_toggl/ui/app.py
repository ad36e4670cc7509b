"""The sessions page's FastAPI app, mounted by the API server under ``/toggl``.

Routes (relative to the mount, so the page works under any ``[api] base_url`` prefix):

* ``GET /``: the page (HTML; its script reads the JSON below);
* ``GET /api/sessions``: one row per ``toggl`` connection the user may read;
* ``GET /api/sessions/{connection_id}``: one row;
* ``POST /api/sessions/{connection_id}/check``: "check now", one ``/me/logged`` with the stored
  session (needs permission to edit the connection; the body must be JSON).

Plugin routes are not protected by Airflow, so every route depends on Airflow's own
``requires_access_connection``, as the core API's connection routes do: the user comes from the
JWT in the ``Authorization`` header or the ``_token`` cookie, and the auth manager decides.
Reading sends no request to Toggl; no answer carries a password, token or cookie.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails
from airflow.api_fastapi.core_api.security import get_user, requires_access_connection
from airflow.utils.session import create_session
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response

from airflow_toggl.ui.check import check_stored_session
from airflow_toggl.ui.overview import STATES, overview_row
from airflow_toggl.ui.sources import connection_snapshot, read_overview_facts

CanRead = Depends(requires_access_connection(method="GET"))
CanEdit = Depends(requires_access_connection(method="PUT"))
User = Annotated[Any, Depends(get_user)]


@cache
def page_html() -> str:
    """The page: its HTML with the style sheet and script inlined (one response, relative URLs only)."""
    static = resources.files("airflow_toggl.ui") / "static"
    html = (static / "page.html").read_text(encoding="utf-8")
    return html.replace("/*STYLE*/", (static / "page.css").read_text(encoding="utf-8")).replace(
        "/*SCRIPT*/", (static / "page.js").read_text(encoding="utf-8")
    )


def _authorized_conn_ids(user: Any) -> set[str] | None:
    """The connection ids the user may read (None: the auth manager cannot list them, so all)."""
    lister = getattr(get_auth_manager(), "get_authorized_connections", None)
    if lister is None:
        return None
    return set(lister(user=user, method="GET"))


def _can_edit(user: Any, conn_id: str) -> bool:
    details = ConnectionDetails(conn_id=conn_id)
    return bool(get_auth_manager().is_authorized_connection(method="PUT", details=details, user=user))


def _rows(user: Any, conn_ids: set[str] | None) -> list[dict[str, Any]]:
    now = datetime.now(timezone.utc)
    with create_session() as session:
        facts = read_overview_facts(session, conn_ids)
    return [{**overview_row(item, now), "can_check": _can_edit(user, item.conn_id)} for item in facts]


def _one_row(user: Any, connection_id: str) -> dict[str, Any]:
    rows = _rows(user, {connection_id})
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No toggl connection {connection_id!r}")
    return rows[0]


def create_app() -> FastAPI:
    """The app the plugin hands to the API server."""
    app = FastAPI(title="Toggl sessions", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def no_store(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.exception_handler(HTTPException)
    async def refused(request: Request, error: HTTPException) -> Response:
        """JSON for the API; for the page itself, a short HTML note with the same status."""
        if getattr(request.scope.get("route"), "path", None) == "/" and request.method == "GET":
            text = "Sign in to Airflow" if error.status_code == 401 else "You may not read connections"
            body = f"<!doctype html><title>Toggl sessions</title><p>{text}.</p><p><a href='../' target='_top'>Airflow</a></p>"
            return HTMLResponse(body, status_code=error.status_code)
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    @app.get("/", response_class=HTMLResponse, dependencies=[CanRead])
    def page() -> HTMLResponse:
        return HTMLResponse(page_html())

    @app.get("/api/sessions", dependencies=[CanRead])
    def sessions(user: User) -> dict[str, Any]:
        return {
            "generated_at": datetime.now(timezone.utc).isoformat(),
            "states": list(STATES),
            "connections": _rows(user, _authorized_conn_ids(user)),
        }

    @app.get("/api/sessions/{connection_id}", dependencies=[CanRead])
    def session_of(connection_id: str, user: User) -> dict[str, Any]:
        return _one_row(user, connection_id)

    @app.post("/api/sessions/{connection_id}/check", dependencies=[CanRead, CanEdit])
    def check_now(connection_id: str, request: Request, user: User) -> dict[str, Any]:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            # A form from another site cannot send JSON without a CORS preflight, which is refused.
            raise HTTPException(
                status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Send the request as application/json"
            )
        row = _one_row(user, connection_id)
        with create_session() as session:
            connection = connection_snapshot(session, connection_id)
        if connection is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"No toggl connection {connection_id!r}")
        result = check_stored_session(connection, row["session"]["key"], checked_by=_name_of(user))
        return {**result, "row": _one_row(user, connection_id)}

    return app


def _name_of(user: Any) -> str | None:
    try:
        return str(user.get_name())
    except Exception:
        return None


__all__ = ["create_app", "page_html"]
