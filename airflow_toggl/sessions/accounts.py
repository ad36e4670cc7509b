"""What the account flows do with the sessions they meet: keep, check, delete, never lose.

A signup answers with a session of the new account; closing an account needs a session of that
account. Whatever step fails in between, a session the code ends up not keeping is deleted, or
named in a warning (never by its value) when that fails too.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from airflow_toggl.client.session import TogglSession
from airflow_toggl.sessions.rotation import (
    SessionHook,
    SessionRotator,
    check_identity,
    discard_session,
    discarded_on_error,
)
from airflow_toggl.sessions.store import SessionStore

log = logging.getLogger(__name__)


class AccountHook(SessionHook, Protocol):
    """The hook methods the account flows add (``TogglHook`` provides them)."""

    def close_account(self, session: TogglSession | None = None) -> None: ...


def keep_signup_session(
    hook: SessionHook, session: TogglSession | None, *, email: str, session_key: str | None
) -> dict[str, Any]:
    """Store the new account's session under ``session_key`` (verified first), or delete it.

    Returns ``{"session_key", "user_id", "expires_at"}``; ``session_key`` and ``expires_at`` are
    None when the session is not kept. A failure after signup deletes the session, then raises.
    """
    if session is None:
        return {"session_key": None, "user_id": None, "expires_at": None}
    if session_key:
        rotator = SessionRotator(hook, SessionStore(session_key), expected_email=email)
        return rotator.install(session).stored_summary()
    with discarded_on_error(hook, session):
        user_id = hook.identity_of(session).get("id")
    discard_session(hook, session)
    return {"session_key": None, "user_id": user_id, "expires_at": None}


def close_account(hook: AccountHook, store: SessionStore, *, confirm_email: str) -> dict[str, Any]:
    """Close the Track account of the stored session (else a new one), if it is ``confirm_email``'s.

    Afterwards the session used, and any listed for deletion, are deleted and the store cleared.
    When closing fails, a session created for it is deleted and a stored one stays in place.
    """
    stored = store.load()
    if stored is None:
        session = hook.create_session()
        with discarded_on_error(hook, session):
            me = _close_checked(hook, session, confirm_email)
    else:
        session = stored.session
        me = _close_checked(hook, session, confirm_email)
    for used in (session, *(stored.stale if stored else ())):
        discard_session(hook, used)
    store.clear()
    return {"email": me.get("email"), "user_id": me.get("id"), "closed": True}


def _close_checked(hook: AccountHook, session: TogglSession, confirm_email: str) -> dict[str, Any]:
    """Close the account behind ``session`` once ``/me`` shows it is ``confirm_email``'s."""
    me = hook.identity_of(session)
    check_identity(me, email=confirm_email)
    log.warning("Closing the Toggl Track account of user %s <%s>.", me.get("id"), me.get("email"))
    hook.close_account(session)
    return me


__all__ = ["close_account", "keep_signup_session"]
