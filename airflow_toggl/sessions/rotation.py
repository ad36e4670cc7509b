"""Session rotation that cannot lose a session, as small steps the operators call.

Order of work (each step is a method, testable alone):

1. ``due``: the stored session has more than ``min_remaining`` left, and Toggl accepts it as the
   connection's user (one ``/me``) -> nothing to do (old sessions pending deletion are retried).
   A stored session of another user fails the task: it is neither kept silently nor deleted.
2. ``hook.create_session()``: a failure leaves the store untouched.
3. ``verify``: ``/me`` with the new cookie must be the connection's user.
4. ``store.save``: the new session is written with the old one listed as pending deletion (so a
   crash right after still lets the next run delete it). Should the write fail, the new session is
   deleted unless the store turns out to hold it, or cannot be read to tell.
5. Read-back: if another writer won a race, the new session is deleted and the winner kept.
6. ``purge``: every old session gets a DELETE (a cookie's ``exp`` is a hint, never proof that it is
   gone); failures stay listed, with a warning, and the run still succeeds.

Until step 4 has written it, a new session that is not kept is deleted; when even that fails, a
warning names it by :func:`~airflow_toggl.sessions.store.session_label`, never by its value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from airflow_toggl.client.session import TogglSession
from airflow_toggl.exceptions import TogglAuthError, TogglConfigError, TogglError, TogglIdentityMismatchError
from airflow_toggl.sessions.store import SessionStore, StoredSession, iso_utc, same_cookie, session_label

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


def min_remaining_of(value: Any) -> timedelta:
    """``min_remaining`` as a timedelta (a number is seconds); a TogglConfigError naming it otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta):
        raise TogglConfigError("min_remaining", "must be a timedelta or a number of seconds")
    if value < timedelta(0):
        raise TogglConfigError("min_remaining", "must not be negative")
    return value


class SessionHook(Protocol):
    """The hook methods the session layer uses (``TogglHook`` provides them)."""

    @property
    def settings(self) -> Any: ...

    def create_session(self) -> TogglSession: ...

    def delete_session(self, session: TogglSession | None = None) -> bool: ...

    def identity_of(self, session: TogglSession) -> dict: ...

    def is_session_live(self, session: TogglSession) -> bool: ...

    def get_me(self, with_related_data: bool = False) -> dict: ...


def delete_confirmed(hook: SessionHook, session: TogglSession) -> bool:
    """Send a DELETE for ``session``; True once Toggl answered and no longer accepts it.

    A 403 to the DELETE counts as "gone" only when ``/me/logged`` with the session is refused too.
    Errors are logged (by session label) and give False.
    """
    try:
        return hook.delete_session(session) or not hook.is_session_live(session)
    except Exception as error:
        log.warning(
            "Could not delete Toggl %s (%s: %s).", session_label(session), type(error).__name__, error
        )
        return False


def discard_session(hook: SessionHook, session: TogglSession) -> bool:
    """Delete a session the code will not keep; when that fails, a warning names it (not its value)."""
    if delete_confirmed(hook, session):
        return True
    log.warning(
        "Toggl %s was not kept and could not be deleted: it stays valid until it expires.",
        session_label(session),
    )
    return False


@contextmanager
def discarded_on_error(hook: SessionHook, session: TogglSession) -> Iterator[None]:
    """Delete ``session`` (or name it in a warning) if the block raises, then re-raise."""
    try:
        yield
    except BaseException:
        discard_session(hook, session)
        raise


@dataclass(frozen=True)
class RotationOutcome:
    """What a rotation did; :meth:`to_xcom` holds no secret.

    ``previous_deleted`` is True when Toggl answered a DELETE for the replaced session (and no
    longer accepts it), False when that failed and it stays listed, None when nothing was replaced.
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
            **self.stored_summary(),
            "rotated": self.rotated,
            "previous_deleted": self.previous_deleted,
            "stale_pending": self.stale_pending,
        }

    def stored_summary(self) -> dict[str, Any]:
        """Where the session is kept, whose it is and when it expires (no secret)."""
        return {
            "session_key": self.session_key,
            "user_id": self.user_id,
            "expires_at": iso_utc(self.expires_at),
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
    :param check_live: before keeping a session that is not due, check with ``/me`` that Toggl
        accepts it and that it is the expected user's.
    :param clock: the current UTC time.
    """

    def __init__(
        self,
        hook: SessionHook,
        store: SessionStore,
        *,
        expected_email: str | None = _CONNECTION_EMAIL,
        check_live: bool = True,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.hook = hook
        self.store = store
        self.expected_email = expected_email
        self.check_live = check_live
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
        with discarded_on_error(self.hook, new):
            user_id = self.verify(new)
            # Read again just before writing: a rotation that stored meanwhile is replaced, and its
            # session joins the pending list instead of being overwritten and forgotten.
            replaced = self.store.load() or current
        pending = () if replaced is None else (*replaced.stale, replaced.session)
        written = self._write(new, user_id, pending)
        winner = self.store.load()
        if winner is None or not winner.holds(new):
            return self._lost_race(new, written, winner)
        leftover = self.purge(written.stale)
        previous_deleted = None if replaced is None else not _contains(leftover, replaced.session)
        self._forget_deleted(written, leftover)
        return self._outcome(
            written, rotated=True, previous_deleted=previous_deleted, stale_pending=len(leftover)
        )

    def retire(self) -> bool | None:
        """Delete the stored session on Toggl (and pending ones) and clear the store.

        Returns True when Toggl deleted it, False when it was already invalid, None when the store
        was empty. Network errors, and a session Toggl refuses to delete but still accepts,
        fail with the store untouched.
        """
        current = self.store.load()
        if current is None:
            return None
        deleted = self.hook.delete_session(current.session)
        if not deleted and self.hook.is_session_live(current.session):
            raise TogglError(
                f"Toggl refused to delete the session stored under {self.store.key!r} but still accepts "
                "it; the store keeps it."
            )
        self.forget(current.stale)
        self.store.clear()
        return deleted

    # -- the steps -------------------------------------------------------------------------

    def due(self, current: StoredSession, min_remaining: timedelta) -> bool:
        """Whether the stored session needs replacing (its expiry is read from the cookie: a hint)."""
        remaining = current.session.remaining(self.clock())
        if remaining is None:
            log.info("The stored session's expiry is unknown: rotating.")
            return True
        if remaining <= min_remaining:
            log.info("The stored session expires in %s (threshold %s): rotating.", remaining, min_remaining)
            return True
        if self.check_live and not self._accepted(current):
            log.warning("Toggl no longer accepts the stored session: rotating.")
            return True
        log.info("The stored session is good for %s more: not rotating.", remaining)
        return False

    def verify(self, session: TogglSession) -> int | None:
        """Check that ``session`` belongs to the expected user; return that user's id."""
        me = self.hook.identity_of(session)
        expected = self.expected_email
        if expected is _CONNECTION_EMAIL:
            expected = getattr(self.hook.settings, "email", None)
            if not expected:
                check_identity(me, user_id=self.hook.get_me().get("id"))
        if expected:
            check_identity(me, email=expected)
        user_id = me.get("id")
        return user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None

    def purge(self, sessions: Iterable[TogglSession]) -> tuple[TogglSession, ...]:
        """Send each old session a DELETE; return those not confirmed gone (they stay listed)."""
        leftover = tuple(session for session in sessions if not delete_confirmed(self.hook, session))
        if leftover:
            log.warning(
                "%d old Toggl session(s) could not be deleted (%s); they stay listed and the next run retries.",
                len(leftover),
                ", ".join(map(session_label, leftover)),
            )
        return leftover

    def forget(self, sessions: Iterable[TogglSession]) -> None:
        """Delete sessions no store will list any more; each one that fails is named in a warning."""
        for session in sessions:
            discard_session(self.hook, session)

    def finish_pending(self, current: StoredSession) -> int:
        """Retry deleting the sessions listed as pending; return how many are still pending."""
        if not current.stale:
            return 0
        leftover = self.purge(current.stale)
        self._forget_deleted(current, leftover)
        return len(leftover)

    # -- helpers ---------------------------------------------------------------------------

    def _accepted(self, current: StoredSession) -> bool:
        """Whether Toggl accepts the stored session; one of another user fails the task."""
        try:
            self.verify(current.session)
        except TogglAuthError:
            return False
        except TogglIdentityMismatchError:
            log.error(
                "The session stored under %s belongs to another Toggl user than the connection's; it is "
                "neither used nor deleted. Delete that Variable, or give this connection its own "
                "session_key.",
                self.store.key,
            )
            raise
        return True

    def _write(
        self, new: TogglSession, user_id: int | None, pending: tuple[TogglSession, ...]
    ) -> StoredSession:
        """Store ``new`` with ``pending``; on a failed write, delete it only if the store surely lacks it."""
        try:
            return self.store.save(new, user_id=user_id, stale=pending, created_at=self.clock())
        except BaseException:
            holds = self._store_holds(new)
            if holds is False:
                discard_session(self.hook, new)
            elif holds is None:
                log.warning(
                    "Writing the session store %s failed and it could not be read back: the new %s is "
                    "kept in case the write landed. If it did not, that session stays valid until it expires.",
                    self.store.key,
                    session_label(new),
                )
            else:
                log.warning(
                    "Writing the session store %s raised, but the store holds the new session; the old one "
                    "stays listed for deletion.",
                    self.store.key,
                )
            raise

    def _store_holds(self, session: TogglSession) -> bool | None:
        """Whether the store now holds ``session``; None when it cannot be read."""
        try:
            latest = self.store.load()
        except Exception as error:
            log.warning(
                "Could not read the session store %s back (%s).", self.store.key, type(error).__name__
            )
            return None
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

    def _lost_race(
        self, new: TogglSession, written: StoredSession, winner: StoredSession | None
    ) -> RotationOutcome:
        discard_session(self.hook, new)
        if winner is None:
            self.forget(written.stale)  # no store lists them any more
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
    "delete_confirmed",
    "discard_session",
    "discarded_on_error",
    "min_remaining_of",
    "public_identity",
]
