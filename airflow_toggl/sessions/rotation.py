"""Session rotation that cannot lose a session, as small steps the operators call.

Order of work (each step is a method, testable alone):

1. ``due``: the stored session has more than ``min_remaining`` left and Toggl still accepts it
   -> nothing to do (old sessions pending deletion are still retried).
2. ``hook.create_session()``: a failure leaves the store untouched.
3. ``verify``: ``/me`` with the new cookie must be the connection's user; otherwise the new session
   is deleted (best effort) and the error raised.
4. ``store.save``: the new session is written with the old one listed as pending deletion (so a
   crash right after still lets the next run delete it); a failed write deletes the new session.
5. Read-back: if another writer won a race, the new session is deleted and the winner kept.
6. ``purge``: the old session and earlier leftovers are deleted; failures stay listed, with a
   warning, and the run still succeeds: the store already holds a verified session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from airflow_toggl.client.session import TogglSession
from airflow_toggl.exceptions import TogglError, TogglIdentityMismatchError
from airflow_toggl.sessions.store import SessionStore, StoredSession, same_cookie

log = logging.getLogger(__name__)

IDENTITY_FIELDS = ("id", "email", "fullname", "timezone", "default_workspace_id", "toggl_accounts_id")
"""The ``/me`` fields that are safe to log and return (never ``api_token`` or ``intercom_hash``)."""


def public_identity(me: Mapping[str, Any]) -> dict[str, Any]:
    """The non-secret identity fields of a ``/me`` answer."""
    return {name: me.get(name) for name in IDENTITY_FIELDS}


def check_identity(
    me: Mapping[str, Any],
    *,
    email: str | None = None,
    user_id: int | str | None = None,
    workspace_id: int | str | None = None,
) -> None:
    """Raise :class:`TogglIdentityMismatchError` for the first expectation ``me`` does not meet.

    Emails compare case-insensitively; ids compare as text, so templated values work.
    """
    if email is not None and str(me.get("email") or "").strip().lower() != str(email).strip().lower():
        raise TogglIdentityMismatchError("email", email, me.get("email"))
    if user_id is not None and str(me.get("id")) != str(user_id).strip():
        raise TogglIdentityMismatchError("id", user_id, me.get("id"))
    if workspace_id is not None and str(me.get("default_workspace_id")) != str(workspace_id).strip():
        raise TogglIdentityMismatchError("default_workspace_id", workspace_id, me.get("default_workspace_id"))


class SessionHook(Protocol):
    """The hook methods rotation uses (``TogglHook`` provides them)."""

    @property
    def settings(self) -> Any: ...

    def create_session(self) -> TogglSession: ...

    def delete_session(self, session: TogglSession | None = None) -> bool: ...

    def identity_of(self, session: TogglSession) -> dict: ...

    def get_me(self, with_related_data: bool = False) -> dict: ...


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


@dataclass(frozen=True)
class RotationOutcome:
    """What a rotation did; :meth:`to_xcom` holds no secret.

    ``previous_deleted`` is True when the replaced session no longer works (deleted, or already
    gone), False when its deletion failed and it stays listed, None when nothing was replaced.
    """

    session_key: str
    rotated: bool
    user_id: int | None
    expires_at: datetime | None
    previous_deleted: bool | None = None
    stale_pending: int = 0

    def to_xcom(self) -> dict[str, Any]:
        """A JSON-ready summary: ids, flags and the expiry time only."""
        return {
            "session_key": self.session_key,
            "rotated": self.rotated,
            "user_id": self.user_id,
            "expires_at": _iso(self.expires_at),
            "previous_deleted": self.previous_deleted,
            "stale_pending": self.stale_pending,
        }


_CONNECTION_EMAIL: Any = object()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SessionRotator:
    """Creates, verifies, stores and retires sessions of one connection in one store.

    :param hook: a ``TogglHook`` for the connection (email/password create the sessions).
    :param store: where the current session lives.
    :param expected_email: whose sessions these must be; the connection's email by default
        (falling back to the id of ``/me`` with the connection's own credentials); None skips it.
    :param is_live: tells whether Toggl still accepts a session (``/me/logged``); None skips it.
    :param clock: the current UTC time.
    """

    def __init__(
        self,
        hook: SessionHook,
        store: SessionStore,
        *,
        expected_email: str | None = _CONNECTION_EMAIL,
        is_live: Callable[[TogglSession], bool] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.hook = hook
        self.store = store
        self.expected_email = expected_email
        self.is_live = is_live
        self.clock = clock

    # -- the flows -------------------------------------------------------------------------

    def rotate(self, min_remaining: timedelta) -> RotationOutcome:
        """Replace the stored session unless it has more than ``min_remaining`` left and works."""
        current = self.store.load()
        if current is not None and not self.due(current, min_remaining):
            pending = self.finish_pending(current)
            return self._outcome(current, rotated=False, stale_pending=pending)
        return self.install(self.hook.create_session(), current)

    def create(self) -> RotationOutcome:
        """Create a session and store it, retiring whatever the store held."""
        current = self.store.load()
        return self.install(self.hook.create_session(), current)

    def install(self, new: TogglSession, current: StoredSession | None = None) -> RotationOutcome:
        """Verify ``new``, store it, and retire what the store held: steps 3 to 6."""
        try:
            user_id = self.verify(new)
        except BaseException:
            self.discard(new)
            raise
        # Read again just before writing: a rotation that stored meanwhile is replaced, and its
        # session joins the pending list instead of being overwritten and forgotten.
        replaced = self.store.load() or current
        pending = () if replaced is None else (*replaced.stale, replaced.session)
        try:
            written = self.store.save(new, user_id=user_id, stale=pending, created_at=self.clock())
        except BaseException:
            if not self._store_holds(new):  # a write that landed before failing must not be undone
                self.discard(new)
            raise
        winner = self.store.load()
        if winner is None or not winner.holds(new):
            return self._lost_race(new, winner)
        leftover = self.purge(written.stale)
        previous_deleted = None if replaced is None else not _contains(leftover, replaced.session)
        self._forget_deleted(written, leftover)
        return self._outcome(
            written, rotated=True, previous_deleted=previous_deleted, stale_pending=len(leftover)
        )

    def retire(self) -> bool | None:
        """Delete the stored session on Toggl (and pending ones) and clear the store.

        Returns True when Toggl deleted it, False when it was already invalid, None when the store
        was empty. Network and other errors propagate with the store untouched.
        """
        current = self.store.load()
        if current is None:
            return None
        deleted = self.hook.delete_session(current.session)
        leftover = self.purge(current.stale)
        if leftover:
            log.warning(
                "%d old Toggl session(s) of %s could not be deleted and are forgotten; "
                "they stay valid until they expire.",
                len(leftover),
                self.store.key,
            )
        self.store.clear()
        return deleted

    # -- the steps -------------------------------------------------------------------------

    def due(self, current: StoredSession, min_remaining: timedelta) -> bool:
        """Whether the stored session needs replacing."""
        remaining = current.session.remaining(self.clock())
        if remaining is None:
            log.info("The stored session's expiry is unknown: rotating.")
            return True
        if remaining <= min_remaining:
            log.info("The stored session expires in %s (threshold %s): rotating.", remaining, min_remaining)
            return True
        if self.is_live is not None and not self.is_live(current.session):
            log.warning("Toggl no longer accepts the stored session: rotating.")
            return True
        log.info("The stored session is good for %s more: not rotating.", remaining)
        return False

    def verify(self, new: TogglSession) -> int | None:
        """Check that ``new`` belongs to the expected user; return that user's id."""
        me = self.hook.identity_of(new)
        expected = self.expected_email
        if expected is _CONNECTION_EMAIL:
            expected = getattr(self.hook.settings, "email", None)
            if not expected:
                check_identity(me, user_id=self.hook.get_me().get("id"))
        if expected:
            check_identity(me, email=expected)
        user_id = me.get("id")
        return user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None

    def discard(self, session: TogglSession) -> bool:
        """Delete a session, best effort: True when it no longer works, False when that failed."""
        try:
            if self.hook.delete_session(session):
                return True
            # Refused (403): normally already gone; keep it listed if Toggl still accepts it.
            return self.is_live is None or not self.is_live(session)
        except Exception as error:
            log.warning("Could not delete a Toggl session (%s: %s).", type(error).__name__, error)
            return False

    def purge(self, sessions: Iterable[TogglSession]) -> tuple[TogglSession, ...]:
        """Delete old sessions (expired ones need nothing); return those whose deletion failed."""
        now = self.clock()
        leftover = []
        for session in sessions:
            if session.expires_at is not None and session.expires_at <= now:
                continue
            if not self.discard(session):
                leftover.append(session)
        if leftover:
            log.warning("%d old Toggl session(s) could not be deleted; the next run retries.", len(leftover))
        return tuple(leftover)

    def finish_pending(self, current: StoredSession) -> int:
        """Retry deleting the sessions listed as pending; return how many are still pending."""
        if not current.stale:
            return 0
        leftover = self.purge(current.stale)
        self._forget_deleted(current, leftover)
        return len(leftover)

    # -- helpers ---------------------------------------------------------------------------

    def _store_holds(self, session: TogglSession) -> bool:
        """Whether the store now holds ``session`` (False when it cannot be read)."""
        try:
            latest = self.store.load()
        except Exception:
            return False
        return latest is not None and latest.holds(session)

    def _forget_deleted(self, written: StoredSession, leftover: tuple[TogglSession, ...]) -> None:
        """Drop deleted sessions from the pending list, if the store still holds ``written``."""
        if len(leftover) == len(written.stale):
            return
        try:
            latest = self.store.load()
            if latest is None or not latest.holds(written.session):
                return
            done = [s for s in written.stale if not _contains(leftover, s)]
            keep = [s for s in latest.stale if not _contains(done, s)]
            self.store.save(latest.session, user_id=latest.user_id, stale=keep, created_at=latest.created_at)
        except Exception as error:
            # The store holds a verified session; stale entries only cost a retry next time.
            log.warning("Could not update the pending-deletion list (%s).", type(error).__name__)

    def _lost_race(self, new: TogglSession, winner: StoredSession | None) -> RotationOutcome:
        self.discard(new)
        if winner is None:
            raise TogglError(
                f"The session store {self.store.key!r} was cleared while a new session was being stored; "
                "the new session was deleted."
            )
        log.warning("Another task stored a session first; keeping it and deleting this one.")
        return self._outcome(winner, rotated=False, stale_pending=len(winner.stale))

    def _outcome(
        self,
        stored: StoredSession,
        *,
        rotated: bool,
        previous_deleted: bool | None = None,
        stale_pending: int = 0,
    ) -> RotationOutcome:
        return RotationOutcome(
            session_key=self.store.key,
            rotated=rotated,
            user_id=stored.user_id,
            expires_at=stored.expires_at,
            previous_deleted=previous_deleted,
            stale_pending=stale_pending,
        )


def _contains(sessions: Iterable[TogglSession], session: TogglSession) -> bool:
    return any(same_cookie(session, other) for other in sessions)


__all__ = [
    "IDENTITY_FIELDS",
    "RotationOutcome",
    "SessionRotator",
    "TogglIdentityMismatchError",
    "check_identity",
    "public_identity",
]
