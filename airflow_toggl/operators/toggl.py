"""Operators for Toggl Track: identity checks, session lifecycle and rotation, account flows.

Each operator's ``__init__`` only stores its arguments, template fields exactly as given (no
network, Variable or connection access, so DAG parsing stays cheap). ``execute`` first checks the
rendered arguments (errors name the field, before any request), then makes a few calls to the hook
and the session layer (:mod:`airflow_toggl.sessions`). What they return (XCom) holds ids, emails,
expiry times and Variable names only: never a cookie, token or password. Sessions travel between
tasks through the session store (an Airflow Variable), not XCom.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.sdk import BaseOperator

from airflow_toggl import DEFAULT_CONN_ID
from airflow_toggl._compat import conf
from airflow_toggl.client.retry import deferral_wait
from airflow_toggl.exceptions import TogglAuthError, TogglConfigError, TogglError
from airflow_toggl.links.toggl import TogglProfileLink
from airflow_toggl.operators.failures import fail_fast
from airflow_toggl.sessions.accounts import close_account, keep_signup_session
from airflow_toggl.sessions.rotation import SessionRotator, check_identity, min_remaining_of, public_identity
from airflow_toggl.sessions.status import StatusRecord
from airflow_toggl.sessions.store import (
    check_secret_variable_name,
    read_secret_variable,
    write_secret_variable,
)
from airflow_toggl.triggers.toggl import DEFAULT_POLL_INTERVAL, TogglQuotaResetTrigger, check_poll_interval

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_toggl.hooks.toggl import TogglHook

DEFERRABLE_WAIT_LIMIT = 5.0
"""Longest wait (quota reset or ``Retry-After``) a deferrable task spends in its worker slot, in seconds."""


def _check_text(field: str, value: Any, problem: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise TogglConfigError(field, problem)


class TogglBaseOperator(BaseOperator):
    """Base of the Toggl operators: the connection, the hook, and deferral on a used-up quota.

    A deferrable task waits in its worker slot at most :data:`DEFERRABLE_WAIT_LIMIT` seconds for
    Toggl (an hourly quota reset, a ``Retry-After``), whatever the connection's ``max_quota_wait``
    says: a longer wait is handed to the triggerer, and the work then goes on from its
    :meth:`progress` (from the start for operators that keep none). A
    non-deferrable task waits up to ``max_quota_wait`` in-process, then fails with
    :class:`~airflow_toggl.exceptions.TogglQuotaExceededError` (or ``TogglRateLimitError``).

    :param toggl_conn_id: the Toggl connection.
    :param deferrable: wait for quota resets in the triggerer instead of failing.
    :param poll_interval: longest sleep of the quota trigger between clock checks, in seconds.
    """

    template_fields: Sequence[str] = ("toggl_conn_id",)
    ui_color = "#fce5f6"
    supports_deferral: ClassVar[bool] = True
    auth_mode: str | None = None
    resume_from: dict[str, Any] | None = None
    """The progress a task resumed after a quota wait goes on from (see :meth:`progress`)."""

    def __init__(
        self,
        *,
        toggl_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.toggl_conn_id = toggl_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval

    @cached_property
    def hook(self) -> TogglHook:
        """The hook, built once with every setting the task needs: the connection, ``auth_mode``, the
        session store's key, and for a deferrable task the short in-worker wait for Toggl."""
        # Imported here, not at the top: the hook loads requests, which costs a DAG file's parse
        # about 0.2 s (measured with python -X importtime; tests/operators/test_operator_shape.py
        # checks that importing the operators leaves requests unloaded).
        from airflow_toggl.hooks.toggl import TogglHook

        return TogglHook(
            self.toggl_conn_id,
            auth_mode=self.auth_mode,
            session_key=self.store_key(),
            max_quota_wait=DEFERRABLE_WAIT_LIMIT if self.deferrable else None,
        )

    def store_key(self) -> str | None:
        """The session store key the hook reads in session mode; None: the connection's."""
        return None

    @fail_fast
    def execute(self, context: Context) -> Any:
        """Check the arguments, run the work; if deferrable, a wait for Toggl of more than a few seconds defers.

        A failure that cannot fix itself fails the task without retries (see :mod:`.failures`).
        """
        self.check_arguments()
        try:
            return self.execute_toggl(context)
        except TogglError as error:
            wait = deferral_wait(error, deferrable=self.deferrable)
            if wait is None:
                raise
            self.defer_until_quota_reset(error, wait)
        finally:
            self.record_status()

    def status_notes(self) -> dict[str, Any]:
        """What this task saw for the sessions page: the latest figures of each quota, by scope.

        Every answer says which quota it reports (the user's, or an organization's, read from the
        request's path), so each is kept apart. Subclasses add what else they learnt.
        """
        return {"quotas": self.hook.quotas or None}

    def record_status(self) -> None:
        """Keep :meth:`status_notes` in the connection's status record; a failure here only logs."""
        try:
            notes = {name: value for name, value in self.status_notes().items() if value is not None}
            if notes:
                StatusRecord(self.toggl_conn_id).note(**notes)
        except TogglError:
            return  # no client was built (bad settings): nothing was seen
        except Exception as error:
            self.log.warning("Could not record what the task saw of Toggl (%s).", type(error).__name__)

    def check_arguments(self) -> None:
        """Check the rendered arguments before any request; errors name the field. Subclasses add theirs."""
        _check_text("toggl_conn_id", self.toggl_conn_id, "must be a connection id")
        if self.deferrable and not self.supports_deferral:
            raise TogglConfigError("deferrable", f"{type(self).__name__} cannot be resumed safely")
        check_poll_interval(self.poll_interval)
        self.hook  # noqa: B018 - building the hook checks auth_mode (no request, no connection read)

    def execute_toggl(self, context: Context) -> Any:
        """The operator's work: a few hook calls. Subclasses implement it."""
        raise NotImplementedError

    def progress(self) -> dict[str, Any] | None:
        """How far the work got, to go on from after a quota wait (JSON, no secret); None: start over.

        A deferral hands it to the trigger, whose event brings it back as :attr:`resume_from`.
        """
        return None

    def defer_until_quota_reset(self, error: TogglError, wait: float) -> NoReturn:
        """Hand a wait of ``wait`` seconds to :class:`TogglQuotaResetTrigger`; resume in :meth:`execute_complete`."""
        resume_at = datetime.now(timezone.utc) + timedelta(seconds=wait)
        self.log.info("Toggl asked to wait (%s); deferring until %s.", error, resume_at.isoformat())
        self.defer(
            trigger=TogglQuotaResetTrigger(
                resume_at=resume_at,
                toggl_conn_id=self.toggl_conn_id,
                poll_interval=self.poll_interval,
                resume=self.progress(),
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the quota reset: go on from :attr:`resume_from` (it may defer once more)."""
        if not event or event.get("status") != "quota_reset":
            raise TogglError(f"Unexpected event from the Toggl quota trigger: {event!r}")
        self.log.info("Toggl quota reset at %s; going on.", event.get("resume_at"))
        self.resume_from = event.get("resume")
        return self.execute(context)


class TogglSessionOperator(TogglBaseOperator):
    """Base of the operators that use the session kept in the store at ``session_key``.

    :type session_key: str | None

    :param session_key: store key (an Airflow Variable name); default: the connection's
        ``session_key`` extra, else ``toggl_session_secret__<conn_id>``.
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "session_key")
    operator_extra_links = (TogglProfileLink(),)

    def __init__(self, *, session_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session_key = session_key

    def store_key(self) -> str | None:
        """In session mode the hook authenticates with the session stored at ``session_key``."""
        return self.session_key or None

    def rotator(self, **options: Any) -> SessionRotator:
        """The session layer over this operator's hook and store."""
        return SessionRotator(self.hook, self.hook.session_store(), **options)


class TogglIdentityCheckOperator(TogglSessionOperator):
    """Check whose credentials a connection holds (``/me``) and return the non-secret identity.

    Fails naming the field, the expected and the actual value when an expectation is not met.
    Returns ``id``, ``email``, ``fullname``, ``timezone``, ``default_workspace_id`` and
    ``toggl_accounts_id``; never ``api_token`` or ``intercom_hash``. Costs one request of the
    30-per-hour user quota: for a frequent "do these credentials work?" use
    :class:`TogglCredentialsCheckOperator`.

    :param auth_mode: ``api_token``, ``basic`` or ``session`` (the stored session); default:
        the connection's.
    :type session_key: str | None
    :param session_key: with ``auth_mode="session"``, the store key to read (default: the
        connection's ``session_key`` extra, else ``toggl_session_secret__<conn_id>``).
    :param expected_email: fail unless the account has this email (case-insensitive). Templated:
        ``"{{ conn.toggl_default.login }}"`` checks against the connection's login.
    :param expected_user_id: fail unless the account has this id.
    :param expected_workspace_id: fail unless this is the account's default workspace.
    """

    template_fields: Sequence[str] = (
        "toggl_conn_id",
        "auth_mode",
        "session_key",
        "expected_email",
        "expected_user_id",
        "expected_workspace_id",
    )

    def __init__(
        self,
        *,
        auth_mode: str | None = None,
        expected_email: str | None = None,
        expected_user_id: int | str | None = None,
        expected_workspace_id: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.auth_mode = auth_mode
        self.expected_email = expected_email
        self.expected_user_id = expected_user_id
        self.expected_workspace_id = expected_workspace_id

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """``/me``, the expectations, and the public identity fields."""
        me = self.hook.get_me()
        identity = public_identity(me)
        self._identity_seen = identity
        self.log.info("Toggl credentials belong to user %s <%s>.", identity["id"], identity["email"])
        check_identity(
            me,
            email=self.expected_email or None,
            user_id=self.expected_user_id or None,
            workspace_id=self.expected_workspace_id or None,
        )
        return identity

    def status_notes(self) -> dict[str, Any]:
        """The quota, and whose credentials these are."""
        identity = getattr(self, "_identity_seen", None)
        return {**super().status_notes(), "identity": identity, "auth_mode": self.hook.settings.auth_mode}


class TogglCredentialsCheckOperator(TogglBaseOperator):
    """Cheap check that Toggl accepts a connection's credentials (``/me/logged``).

    ``/me/logged`` answers with no body: one request, which Toggl documents no exemption for, so
    count it against the user's 30 an hour (hourly checks spend 1 of them). Fails with :class:`~airflow_toggl.exceptions.TogglAuthError` when the
    credentials are refused. Returns ``{"toggl_conn_id", "auth_mode", "logged_in": True}``.

    :param auth_mode: ``api_token``, ``basic`` or ``session``; default: the connection's.
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "auth_mode")
    operator_extra_links = (TogglProfileLink(),)

    def __init__(self, *, auth_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.auth_mode = auth_mode

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """One ``/me/logged`` request."""
        mode = self.hook.settings.auth_mode
        if not self.hook.is_logged_in():
            raise TogglAuthError(
                f"Toggl refused the {mode} credentials of connection {self.toggl_conn_id!r} (403)",
                credential=mode,
                status_code=403,
            )
        return {"toggl_conn_id": self.toggl_conn_id, "auth_mode": mode, "logged_in": True}


class TogglCreateSessionOperator(TogglSessionOperator):
    """Create a session from the connection's email and password and keep it in the session store.

    The new session is verified (``/me`` with it must be the connection's user) before it is
    stored; a session the store held before is deleted. Returns ``{"session_key", "user_id",
    "expires_at"}``: later tasks use the session through ``auth_mode="session"``, not XCom.

    :type session_key: str | None

    :param session_key: store key (default: the connection's ``session_key`` extra, else
        ``toggl_session_secret__<conn_id>``).
    """

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Create, verify, store."""
        stored = self.rotator().create().stored_summary()
        self.log.info(
            "Stored a new Toggl session under %s (expires %s).", stored["session_key"], stored["expires_at"]
        )
        return stored


class TogglDeleteSessionOperator(TogglSessionOperator):
    """Delete the stored session on Toggl and clear the session store.

    A session Toggl no longer accepts, or an empty store, is success. Returns
    ``{"session_key", "deleted"}``; ``deleted`` is True only when Toggl destroyed a live session.

    :type session_key: str | None

    :param session_key: store key (default: the connection's).
    """

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Delete on Toggl, then clear the store."""
        rotator = self.rotator()
        deleted = rotator.retire()
        if deleted is None:
            self.log.info("No session stored under %s: nothing to delete.", rotator.store.key)
        return {"session_key": rotator.store.key, "deleted": bool(deleted)}


class TogglRotateSessionOperator(TogglSessionOperator):
    """Replace the stored session before it expires, without ever leaving the store unusable.

    Nothing happens (``rotated: False``, the task still succeeds) while the stored session has
    more than ``min_remaining`` left and Toggl accepts it as the connection's user. Otherwise a new
    session is created, verified against the connection's identity, stored and read back (a
    concurrent rotation that stored first wins), and only then the old one is deleted. An old
    session whose deletion fails stays listed in the store and is deleted by the next run. A stored
    session of another user fails the task. See :mod:`airflow_toggl.sessions.rotation`.

    Returns ``{"session_key", "rotated", "user_id", "expires_at", "previous_deleted",
    "stale_pending"}``.

    :type session_key: str | None

    :param session_key: store key (default: the connection's).
    :param min_remaining: rotate when the stored session has this much time left or less
        (a timedelta or seconds; Toggl sessions last 28 days).
    :param check_live: before keeping a stored session, check with ``/me`` that Toggl accepts it
        and that it is the connection's user (one request of the 30-per-hour user quota).
    """

    def __init__(
        self,
        *,
        min_remaining: timedelta | float = timedelta(days=7),
        check_live: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.min_remaining = min_remaining
        self.check_live = check_live

    def check_arguments(self) -> None:
        """The common checks, and ``min_remaining``."""
        super().check_arguments()
        min_remaining_of(self.min_remaining)

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Rotate if due."""
        outcome = self.rotator(check_live=self.check_live).rotate(min_remaining_of(self.min_remaining))
        summary = outcome.to_xcom()
        self.log.info(
            "Session under %s %s; expires %s.",
            summary["session_key"],
            "rotated" if outcome.rotated else "kept",
            summary["expires_at"],
        )
        return summary

    def status_notes(self) -> dict[str, Any]:
        """The quota, and the threshold the page measures the stored session's time left against."""
        return {**super().status_notes(), "rotation_threshold": min_remaining_of(self.min_remaining)}


class TogglRequestPasswordResetOperator(TogglBaseOperator):
    """Ask Toggl to email a password reset code to ``account_email`` (default: the connection's login).

    Follow with :class:`TogglConfirmPasswordResetOperator` once the code has arrived. Returns
    ``{"email", "requested": True}``. (The argument is not called ``email``: that is Airflow's own
    operator argument for failure alerts, which ``default_args`` may set for every task.)
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "account_email")

    def __init__(self, *, account_email: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.account_email = account_email

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """One request to the accounts service."""
        given = self.account_email
        email = given if isinstance(given, str) and given.strip() else self.hook.settings.email
        if not email:
            raise TogglConfigError("account_email", "is empty and the connection has no login")
        self.hook.request_password_reset(email)
        return {"email": email, "requested": True}


class TogglConfirmPasswordResetOperator(TogglSessionOperator):
    """Set a new password with the emailed reset code, and store the session Toggl answers with.

    The new password is never an argument. By default it is the connection's password: update the
    connection (or the secret behind it) first, then confirm, and the two agree. Alternatively
    name an Airflow Variable holding it (its name must contain ``secret``, ``token`` or
    ``password`` so Airflow hides it). The code is single-use; read it from a Variable whose name
    contains ``secret``, e.g. ``code="{{ var.value.toggl_password_reset_code_secret }}"``, rather
    than from the run conf, which Airflow keeps in plain text. Once rendered it is masked in logs
    and in the rendered-template view.

    The resulting session is verified against the connection's email (when it has one) and stored
    like a rotation; Toggl may invalidate earlier sessions, and the one the store held is deleted.
    Not deferrable: the code cannot be used twice. Returns ``{"session_key", "user_id",
    "expires_at"}``.

    :param code: the reset code from Toggl's email.
    :param new_password_variable: Variable holding the new password; default: the connection's.
    :type session_key: str | None
    :param session_key: store key (default: the connection's).
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "code", "session_key")
    supports_deferral = False

    def __init__(self, *, code: str, new_password_variable: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.code = code
        self.new_password_variable = new_password_variable

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        """Render, then mask the code so the UI's rendered-template view shows it as ``***``."""
        from airflow_toggl.hooks.toggl import mask  # not at the top: see ``hook``

        super().render_template_fields(context, jinja_env)
        if isinstance(self.code, str):
            mask(self.code.strip())

    def check_arguments(self) -> None:
        """The common checks, the code and the Variable name."""
        super().check_arguments()
        _check_text("code", self.code, "is empty: pass the reset code from Toggl's email")
        check_secret_variable_name("new_password_variable", self.new_password_variable)

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Confirm, then verify and store the new session."""
        password: str | None
        if self.new_password_variable:
            password = read_secret_variable(self.new_password_variable)
        else:
            password = self.hook.settings.password
        if not password:
            raise TogglConfigError("password", "the connection has none and no new_password_variable is set")
        new = self.hook.confirm_password_reset(self.code.strip(), password)
        rotator = self.rotator(expected_email=self.hook.settings.email or None)
        return rotator.install(new).stored_summary()


class TogglResetApiTokenOperator(TogglBaseOperator):
    """Replace the account's API token and put the new one in an Airflow Variable.

    **Disruptive**: the old token stops working at once, including in the connection if it
    authenticates with it. The new token never reaches XCom or logs: it goes to the Variable
    ``token_variable`` (default ``toggl_api_token_secret__<conn_id>``), and the task returns only
    ``{"token_variable"}``. Copy it from there into the connection or its secrets backend. Should
    writing the Variable fail, ``/me`` with email/password or a session still shows the token.

    :param token_variable: Variable to write; its name must contain ``secret``, ``token`` or
        ``password`` so Airflow hides it.
    :param auth_mode: credentials to authenticate the reset with; default: the connection's.
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "auth_mode")

    def __init__(
        self, *, token_variable: str | None = None, auth_mode: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.token_variable = token_variable
        self.auth_mode = auth_mode

    def check_arguments(self) -> None:
        """The common checks and the Variable name."""
        super().check_arguments()
        check_secret_variable_name("token_variable", self.token_variable)

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Reset, then store the token in the Variable."""
        name = self.token_variable or f"toggl_api_token_secret__{self.toggl_conn_id}"
        token = self.hook.reset_api_token()
        write_secret_variable(name, token, description=f"Toggl API token of connection {self.toggl_conn_id}")
        self.log.info("Stored the new Toggl API token in Variable %s.", name)
        return {"token_variable": name}


class TogglSignupOperator(TogglBaseOperator):
    """**Creates a Toggl account** for ``account_email``.

    The password comes from the Airflow Variable ``password_variable`` (never an argument). The
    connection only supplies the service URLs and client settings. When Toggl answers with a
    session, it is verified and stored under ``session_key`` if given, else deleted at once so it
    does not linger; should anything fail after the signup, that session is deleted before the task
    fails. Not deferrable: signing up twice fails. Returns ``{"email", "user_id", "session_key",
    "expires_at"}``.

    :param account_email: the new account's email (not ``email``, Airflow's alert-address argument).
    :param password_variable: Variable holding the new account's password.
    :param display_name: the account's full name.
    :param timezone: the account's time zone (IANA name).
    :type session_key: str | None
    :param session_key: store key for the new account's session; None: do not keep it.
    """

    template_fields: Sequence[str] = (
        "toggl_conn_id",
        "account_email",
        "display_name",
        "timezone",
        "session_key",
    )
    supports_deferral = False

    def __init__(
        self,
        *,
        account_email: str,
        password_variable: str,
        display_name: str,
        timezone: str = "UTC",
        session_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.account_email = account_email
        self.password_variable = password_variable
        self.display_name = display_name
        self.timezone = timezone
        self.session_key = session_key

    def check_arguments(self) -> None:
        """The common checks, the account email and the Variable name."""
        super().check_arguments()
        _check_text("account_email", self.account_email, "is required")
        check_secret_variable_name("password_variable", self.password_variable, required=True)

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Sign up; keep or drop the session Toggl answers with."""
        email, password = str(self.account_email), read_secret_variable(self.password_variable)
        session = self.hook.signup(email, password, self.display_name, self.timezone)
        kept = keep_signup_session(self.hook, session, email=email, session_key=self.session_key or None)
        return {"email": email, **kept}


class TogglCloseAccountOperator(TogglSessionOperator):
    """**Destructive: closes a Toggl Track account.** Irreversible.

    Uses the session stored under ``session_key`` (default: the connection's), or else a session
    created from the connection's email and password. Before closing, ``/me`` with that session
    must show ``confirm_email``: a guard against closing the wrong account. Afterwards the session
    is deleted and the store cleared; when closing fails, a session created for it is deleted and a
    stored one stays. Returns ``{"email", "user_id", "closed": True}``.

    :param confirm_email: the email of the account that is meant to be closed.
    :type session_key: str | None
    :param session_key: store key of the session to use.
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "confirm_email", "session_key")

    def __init__(self, *, confirm_email: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.confirm_email = confirm_email

    def check_arguments(self) -> None:
        """The common checks and ``confirm_email``."""
        super().check_arguments()
        _check_text("confirm_email", self.confirm_email, "is required: the email of the account to close")

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Check whose session it is, close the account, clean up."""
        return close_account(self.hook, self.hook.session_store(), confirm_email=self.confirm_email)


__all__ = [
    "TogglBaseOperator",
    "TogglCloseAccountOperator",
    "TogglConfirmPasswordResetOperator",
    "TogglCreateSessionOperator",
    "TogglCredentialsCheckOperator",
    "TogglDeleteSessionOperator",
    "TogglIdentityCheckOperator",
    "TogglRequestPasswordResetOperator",
    "TogglResetApiTokenOperator",
    "TogglRotateSessionOperator",
    "TogglSessionOperator",
    "TogglSignupOperator",
]
