"""The page's "check now": one ``/me/logged`` with a connection's stored session.

The only request to Toggl the plugin ever sends, and only when a user with permission to edit
connections asks for it. Exactly one attempt: no retry (whatever the connection's ``max_retries``)
and no wait for a quota reset in the API server; a failure or a used-up quota is reported as such.
The outcome and the quota Toggl reported are kept in the status record.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from airflow_toggl.exceptions import TogglConfigError, TogglError, TogglQuotaExceededError
from airflow_toggl.hooks.toggl import TogglHook
from airflow_toggl.sessions.status import USER_QUOTA, StatusRecord
from airflow_toggl.sessions.store import SessionStore
from airflow_toggl.ui.sources import ConnectionSnapshot, ServerVariables

CHECK_REQUEST = "GET /api/v9/me/logged"
CHECK_COST = (
    "one request with the stored session; it counts against the user's hourly quota "
    "(30 per hour), as Toggl documents no exemption for it"
)


class StoredConnectionHook(TogglHook):
    """A :class:`TogglHook` over a connection already read from the metadata database.

    The Task SDK's connection lookup reaches the database only in some API server contexts, so the
    page hands the hook the connection it read itself.
    """

    def __init__(self, connection: ConnectionSnapshot, **kwargs: Any) -> None:
        super().__init__(connection.conn_id, **kwargs)
        self._connection = connection

    def get_connection(self, conn_id: str) -> Any:  # type: ignore[override]
        """The connection given at construction."""
        return self._connection


def check_stored_session(
    connection: ConnectionSnapshot, session_key: str, *, checked_by: str | None = None
) -> dict[str, Any]:
    """Ask Toggl whether the session stored under ``session_key`` still works; no secret in the answer."""
    conn_id = connection.conn_id
    variables = ServerVariables()
    result: dict[str, Any] = {"conn_id": conn_id, "request": CHECK_REQUEST, "cost": CHECK_COST, "sent": False}
    hook = None
    try:
        stored = SessionStore(session_key, variables=variables).load()
        if stored is None:
            raise TogglConfigError("session_key", f"no session is stored under {session_key!r}")
        # One attempt: the retry policy would repeat a failed GET (up to max_retries more requests).
        one_attempt = replace(connection, extra_dejson={**connection.extra_dejson, "max_retries": 0})
        hook = StoredConnectionHook(one_attempt, session_cookie=stored.session.cookie, max_quota_wait=0)
        hook.get_conn()  # the connection's settings are checked here, before anything is sent
        result["sent"] = True
        live = hook.is_session_live(stored.session)
        ok, message = (
            live,
            "Toggl accepted the stored session" if live else "Toggl refused the stored session (403)",
        )
    except TogglQuotaExceededError as error:
        ok, message = False, f"the user's hourly quota is used up; it resets in {error.resets_in:.0f} s"
    except TogglError as error:
        ok, message = False, str(error)
    quota = hook.last_quota if hook is not None and result["sent"] else None
    result.update(ok=ok, message=message, quota=None)
    if quota is not None:
        scope = quota.scope or USER_QUOTA
        result["quota"] = {"scope": scope, "remaining": quota.remaining, "resets_in": quota.resets_in}
    StatusRecord(conn_id, variables=variables).note(
        quota=quota, check={"ok": ok, "message": message, "by": checked_by}
    )
    return result


__all__ = ["CHECK_COST", "CHECK_REQUEST", "StoredConnectionHook", "check_stored_session"]
