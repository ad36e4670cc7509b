"""Operators for Toggl Track: identity checks, session lifecycle and rotation, account flows.

Each operator stores its arguments in ``__init__`` (checking plain values, never touching the
network, Variables or connections) and makes a few hook calls in ``execute``. What they return
(XCom) holds ids, emails, expiry times and Variable names only: never a cookie, token or password.
Sessions travel between tasks through the session store (an Airflow Variable), not XCom.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.sdk import BaseOperator

from airflow_toggl import AUTH_MODES, DEFAULT_CONN_ID
from airflow_toggl._compat import conf
from airflow_toggl.exceptions import (
    TogglAuthError,
    TogglConfigError,
    TogglError,
    TogglQuotaExceededError,
    TogglRateLimitError,
)
from airflow_toggl.links.toggl import TogglProfileLink
from airflow_toggl.triggers.toggl import DEFAULT_POLL_INTERVAL, TogglQuotaResetTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_toggl.client.session import TogglSession
    from airflow_toggl.hooks.toggl import TogglHook
    from airflow_toggl.sessions.rotation import SessionRotator
    from airflow_toggl.sessions.store import SessionStore

QUOTA_RESET_MARGIN = timedelta(seconds=2)
"""Extra wait after the announced quota reset, so the first request after it is not refused."""
DEFERRABLE_WAIT_LIMIT = 5.0
"""Longest wait (quota reset or ``Retry-After``) a deferrable task spends in its worker slot, in seconds."""


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _check_auth_mode(value: str | None) -> str | None:
    if value is None or _templated(value):
        return value
    if value not in AUTH_MODES:
        raise TogglConfigError("auth_mode", f"must be one of {', '.join(AUTH_MODES)}")
    return value


def _check_variable_name(field: str, value: str | None, *, required: bool = False) -> str | None:
    """A Variable name Airflow will treat as secret (it contains 'secret', 'token' or 'password')."""
    from airflow_toggl.sessions.store import looks_sensitive

    if value is None:
        if required:
            raise TogglConfigError(field, "is required: the name of an Airflow Variable")
        return None
    if not isinstance(value, str) or not value.strip():
        raise TogglConfigError(field, "must be the name of an Airflow Variable")
    if not _templated(value) and not looks_sensitive(value):
        raise TogglConfigError(
            field, "must contain 'secret', 'token' or 'password' so that Airflow hides its value"
        )
    return value


def _read_secret_variable(name: str) -> str:
    """The value of a Variable holding a secret, registered with the masker."""
    from airflow.sdk import Variable
    from airflow.sdk.log import mask_secret

    value = Variable.get(name, default=None)
    if not value:
        raise TogglConfigError(name, "Airflow Variable is missing or empty")
    mask_secret(value)
    return str(value)


def _wait_asked(error: TogglError) -> float | None:
    """Seconds Toggl asked to wait: the quota reset, or a 429's ``Retry-After`` (None when it gave none)."""
    if isinstance(error, TogglQuotaExceededError):
        return error.resets_in
    return getattr(error, "retry_after", None)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


class TogglBaseOperator(BaseOperator):
    """Base of the Toggl operators: the connection, the hook, and deferral on a used-up quota.

    A deferrable task waits in its worker slot at most :data:`DEFERRABLE_WAIT_LIMIT` seconds for
    Toggl (an hourly quota reset, a ``Retry-After``), whatever the connection's ``max_quota_wait``
    says: a longer wait is handed to the triggerer, and the work then runs again from the start. A
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

    def __init__(
        self,
        *,
        toggl_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(toggl_conn_id, str) or not toggl_conn_id.strip():
            raise TogglConfigError("toggl_conn_id", "must be a connection id")
        if deferrable and not self.supports_deferral:
            raise TogglConfigError("deferrable", f"{type(self).__name__} cannot be resumed safely")
        if (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, (int, float))
            or poll_interval <= 0
        ):
            raise TogglConfigError("poll_interval", "must be a positive number of seconds")
        self.toggl_conn_id = toggl_conn_id
        self.deferrable = deferrable
        self.poll_interval = float(poll_interval)

    @cached_property
    def hook(self) -> TogglHook:
        """The hook for the connection and ``auth_mode`` (imported here: DAG parsing stays cheap)."""
        from airflow_toggl.hooks.toggl import TogglHook

        return TogglHook(self.toggl_conn_id, auth_mode=self.auth_mode)

    def execute(self, context: Context) -> Any:
        """Run the work; if deferrable, any wait for Toggl longer than a few seconds is deferred."""
        if self.deferrable:
            self.hook.max_quota_wait = DEFERRABLE_WAIT_LIMIT
        try:
            return self.execute_toggl(context)
        except (TogglQuotaExceededError, TogglRateLimitError) as error:
            if not self.deferrable or _wait_asked(error) is None:
                raise
            self.defer_until_quota_reset(error)

    def execute_toggl(self, context: Context) -> Any:
        """The operator's work: a few hook calls. Subclasses implement it."""
        raise NotImplementedError

    def defer_until_quota_reset(self, error: TogglQuotaExceededError | TogglRateLimitError) -> NoReturn:
        """Hand the wait to :class:`TogglQuotaResetTrigger`; resume in :meth:`execute_complete`."""
        wait = timedelta(seconds=max(_wait_asked(error) or 0.0, 0.0))
        resume_at = datetime.now(timezone.utc) + wait + QUOTA_RESET_MARGIN
        self.log.info("Toggl asked to wait (%s); deferring until %s.", error, resume_at.isoformat())
        self.defer(
            trigger=TogglQuotaResetTrigger(
                resume_at=resume_at, toggl_conn_id=self.toggl_conn_id, poll_interval=self.poll_interval
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the quota reset: run the work again (it may defer once more)."""
        if not event or event.get("status") != "quota_reset":
            raise TogglError(f"Unexpected event from the Toggl quota trigger: {event!r}")
        self.log.info("Toggl quota reset at %s; running again.", event.get("resume_at"))
        self.__dict__.pop("hook", None)
        return self.execute(context)


class _SessionStoreMixin:
    """Operators that keep a session in the store at ``session_key`` (default: the connection's)."""

    session_key: str | None
    toggl_conn_id: str
    hook: TogglHook

    @property
    def store(self) -> SessionStore:
        """The session store (built at execution time: it may read the connection)."""
        from airflow_toggl.sessions.store import SessionStore

        return SessionStore(self.session_key or self.hook.settings.session_key)

    def rotator(self, **kwargs: Any) -> SessionRotator:
        """The rotation steps over this operator's hook and store."""
        from airflow_toggl.sessions.rotation import SessionRotator

        return SessionRotator(self.hook, self.store, **kwargs)

    def session_is_live(self, session: TogglSession) -> bool:
        """Whether Toggl accepts ``session``, over this operator's hook (one HTTP session)."""
        return self.hook.is_session_live(session)


class TogglIdentityCheckOperator(TogglBaseOperator):
    """Check whose credentials a connection holds (``/me``) and return the non-secret identity.

    Fails naming the field, the expected and the actual value when an expectation is not met.
    Returns ``id``, ``email``, ``fullname``, ``timezone``, ``default_workspace_id`` and
    ``toggl_accounts_id``; never ``api_token`` or ``intercom_hash``. Costs one request of the
    30-per-hour user quota: for a frequent "do these credentials work?" use
    :class:`TogglCredentialsCheckOperator`.

    :param auth_mode: ``api_token``, ``basic`` or ``session`` (the stored session); default:
        the connection's.
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
    operator_extra_links = (TogglProfileLink(),)

    def __init__(
        self,
        *,
        auth_mode: str | None = None,
        session_key: str | None = None,
        expected_email: str | None = None,
        expected_user_id: int | str | None = None,
        expected_workspace_id: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.auth_mode = _check_auth_mode(auth_mode)
        self.session_key = session_key
        self.expected_email = expected_email
        self.expected_user_id = expected_user_id
        self.expected_workspace_id = expected_workspace_id

    @cached_property
    def hook(self) -> TogglHook:
        """A hook for the chosen credentials; a given ``session_key`` selects that stored session."""
        from airflow_toggl.hooks.toggl import TogglHook

        if self.auth_mode == "session" and self.session_key:
            from airflow_toggl.sessions.store import SessionStore

            stored = SessionStore(self.session_key).load()
            if stored is None:
                raise TogglConfigError("session_key", f"no session is stored under {self.session_key!r}")
            return TogglHook(self.toggl_conn_id, session_cookie=stored.session.cookie)
        return TogglHook(self.toggl_conn_id, auth_mode=self.auth_mode)

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """``/me``, the expectations, and the public identity fields."""
        from airflow_toggl.sessions.rotation import check_identity, public_identity

        me = self.hook.get_me()
        identity = public_identity(me)
        self.log.info("Toggl credentials belong to user %s <%s>.", identity["id"], identity["email"])
        check_identity(
            me,
            email=self.expected_email or None,
            user_id=self.expected_user_id or None,
            workspace_id=self.expected_workspace_id or None,
        )
        return identity


class TogglCredentialsCheckOperator(TogglBaseOperator):
    """Cheap check that Toggl accepts a connection's credentials (``/me/logged``).

    ``/me/logged`` answers with no body and spares the 30-per-hour ``/me`` quota, so this suits
    frequent health checks. Fails with :class:`~airflow_toggl.exceptions.TogglAuthError` when the
    credentials are refused. Returns ``{"toggl_conn_id", "auth_mode", "logged_in": True}``.

    :param auth_mode: ``api_token``, ``basic`` or ``session``; default: the connection's.
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "auth_mode")
    operator_extra_links = (TogglProfileLink(),)

    def __init__(self, *, auth_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.auth_mode = _check_auth_mode(auth_mode)

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """One ``/me/logged`` request."""
        mode = self.hook.settings.auth_mode
        if not self.hook.is_logged_in():
            raise TogglAuthError(
                f"Toggl refused the {mode} credentials of connection {self.toggl_conn_id!r} (403)",
                status_code=403,
            )
        return {"toggl_conn_id": self.toggl_conn_id, "auth_mode": mode, "logged_in": True}


class TogglCreateSessionOperator(_SessionStoreMixin, TogglBaseOperator):
    """Create a session from the connection's email and password and keep it in the session store.

    The new session is verified (``/me`` with it must be the connection's user) before it is
    stored; a session the store held before is deleted. Returns ``{"session_key", "user_id",
    "expires_at"}``: later tasks use the session through ``auth_mode="session"``, not XCom.

    :param session_key: store key (default: the connection's ``session_key`` extra, else
        ``toggl_session_secret__<conn_id>``).
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "session_key")
    operator_extra_links = (TogglProfileLink(),)

    def __init__(self, *, session_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session_key = session_key

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Create, verify, store."""
        outcome = self.rotator().create()
        self.log.info(
            "Stored a new Toggl session under %s (expires %s).", outcome.session_key, outcome.expires_at
        )
        summary = outcome.to_xcom()
        return {name: summary[name] for name in ("session_key", "user_id", "expires_at")}


class TogglDeleteSessionOperator(_SessionStoreMixin, TogglBaseOperator):
    """Delete the stored session on Toggl and clear the session store.

    A session Toggl no longer accepts, or an empty store, is success. Returns
    ``{"session_key", "deleted"}``; ``deleted`` is True only when Toggl destroyed a live session.

    :param session_key: store key (default: the connection's).
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "session_key")
    operator_extra_links = (TogglProfileLink(),)

    def __init__(self, *, session_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session_key = session_key

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Delete on Toggl, then clear the store."""
        store = self.store
        deleted = self.rotator().retire()
        if deleted is None:
            self.log.info("No session stored under %s: nothing to delete.", store.key)
        return {"session_key": store.key, "deleted": bool(deleted)}


class TogglRotateSessionOperator(_SessionStoreMixin, TogglBaseOperator):
    """Replace the stored session before it expires, without ever leaving the store unusable.

    Nothing happens (``rotated: False``, the task still succeeds) while the stored session has
    more than ``min_remaining`` left and Toggl accepts it. Otherwise a new session is created,
    verified against the connection's identity, stored and read back (a concurrent rotation that
    stored first wins), and only then the old one is deleted. An old session whose deletion fails
    stays listed in the store and is deleted by the next run. See :mod:`airflow_toggl.sessions.rotation`.

    Returns ``{"session_key", "rotated", "user_id", "expires_at", "previous_deleted",
    "stale_pending"}``.

    :param session_key: store key (default: the connection's).
    :param min_remaining: rotate when the stored session has this much time left or less
        (Toggl sessions last 28 days).
    :param check_live: also rotate a session Toggl no longer accepts (one ``/me/logged`` call).
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "session_key")
    operator_extra_links = (TogglProfileLink(),)

    def __init__(
        self,
        *,
        session_key: str | None = None,
        min_remaining: timedelta | float = timedelta(days=7),
        check_live: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(min_remaining, (int, float)) and not isinstance(min_remaining, bool):
            min_remaining = timedelta(seconds=min_remaining)
        if not isinstance(min_remaining, timedelta):
            raise TogglConfigError("min_remaining", "must be a timedelta or a number of seconds")
        if min_remaining < timedelta(0):
            raise TogglConfigError("min_remaining", "must not be negative")
        self.session_key = session_key
        self.min_remaining = min_remaining
        self.check_live = check_live

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Rotate if due."""
        rotator = self.rotator(is_live=self.session_is_live if self.check_live else None)
        outcome = rotator.rotate(self.min_remaining)
        self.log.info(
            "Session under %s %s; expires %s.",
            outcome.session_key,
            "rotated" if outcome.rotated else "kept",
            _iso(outcome.expires_at),
        )
        return outcome.to_xcom()


class TogglRequestPasswordResetOperator(TogglBaseOperator):
    """Ask Toggl to email a password reset code to ``email`` (default: the connection's login).

    Follow with :class:`TogglConfirmPasswordResetOperator` once the code has arrived. Returns
    ``{"email", "requested": True}``.
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "email")

    def __init__(self, *, email: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.email = email

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """One request to the accounts service."""
        email = self.email or self.hook.settings.email
        if not email:
            raise TogglConfigError("email", "is empty and the connection has no login")
        self.hook.request_password_reset(email)
        return {"email": email, "requested": True}


class TogglConfirmPasswordResetOperator(_SessionStoreMixin, TogglBaseOperator):
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
    :param session_key: store key (default: the connection's).
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "code", "session_key")
    supports_deferral = False

    def __init__(
        self,
        *,
        code: str,
        new_password_variable: str | None = None,
        session_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(code, str) or not code.strip():
            raise TogglConfigError("code", "is required: the reset code from Toggl's email")
        self.code = code
        self.new_password_variable = _check_variable_name("new_password_variable", new_password_variable)
        self.session_key = session_key

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        """Render, then mask the code so the UI's rendered-template view shows it as ``***``."""
        from airflow.sdk.log import mask_secret

        super().render_template_fields(context, jinja_env)
        if isinstance(self.code, str) and self.code.strip():
            mask_secret(self.code.strip())

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Confirm, then verify and store the new session."""
        from airflow.sdk.log import mask_secret

        code = self.code.strip()
        if not code:
            raise TogglConfigError("code", "is empty once rendered: pass the code from Toggl's email")
        mask_secret(code)
        if self.new_password_variable:
            password = _read_secret_variable(self.new_password_variable)
        elif self.hook.settings.password:
            password = self.hook.settings.password
        else:
            raise TogglConfigError("password", "the connection has none and no new_password_variable is set")
        store = self.store
        current = store.load()
        new = self.hook.confirm_password_reset(code, password)
        rotator = self.rotator(expected_email=self.hook.settings.email or None)
        outcome = rotator.install(new, current)
        summary = outcome.to_xcom()
        return {name: summary[name] for name in ("session_key", "user_id", "expires_at")}


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
        self.token_variable = _check_variable_name("token_variable", token_variable)
        self.auth_mode = _check_auth_mode(auth_mode)

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Reset, mask, store in the Variable."""
        from airflow.sdk import Variable
        from airflow.sdk.log import mask_secret

        name = self.token_variable or f"toggl_api_token_secret__{self.toggl_conn_id}"
        token = self.hook.reset_api_token()
        mask_secret(token)
        Variable.set(name, token, description=f"Toggl API token of connection {self.toggl_conn_id}")
        self.log.info("Stored the new Toggl API token in Variable %s.", name)
        return {"token_variable": name}


class TogglSignupOperator(TogglBaseOperator):
    """**Creates a Toggl account** for ``email``.

    The password comes from the Airflow Variable ``password_variable`` (never an argument). The
    connection only supplies the service URLs and client settings. When Toggl answers with a
    session, it is stored under ``session_key`` if given, else deleted at once so it does not
    linger. Not deferrable: signing up twice fails. Returns ``{"email", "user_id",
    "session_key", "expires_at"}``.

    :param email: the new account's email.
    :param password_variable: Variable holding the new account's password.
    :param display_name: the account's full name.
    :param timezone: the account's time zone (IANA name).
    :param session_key: store key for the new account's session; None: do not keep it.
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "email", "display_name", "timezone", "session_key")
    supports_deferral = False

    def __init__(
        self,
        *,
        email: str,
        password_variable: str,
        display_name: str,
        timezone: str = "UTC",
        session_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(email, str) or not email.strip():
            raise TogglConfigError("email", "is required")
        self.email = email
        self.password_variable = _check_variable_name("password_variable", password_variable, required=True)
        self.display_name = display_name
        self.timezone = timezone
        self.session_key = session_key

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Sign up; keep or drop the session Toggl answers with."""
        from airflow_toggl.sessions.rotation import SessionRotator
        from airflow_toggl.sessions.store import SessionStore

        password = _read_secret_variable(str(self.password_variable))
        session = self.hook.signup(self.email, password, self.display_name, self.timezone)
        result: dict[str, Any] = {
            "email": self.email,
            "user_id": None,
            "session_key": None,
            "expires_at": None,
        }
        if session is None:
            return result
        if self.session_key:
            store = SessionStore(self.session_key)
            outcome = SessionRotator(self.hook, store, expected_email=self.email).install(
                session, store.load()
            )
            result.update(session_key=store.key, user_id=outcome.user_id, expires_at=_iso(outcome.expires_at))
        else:
            result["user_id"] = self.hook.identity_of(session).get("id")
            self.hook.delete_session(session)
        return result


class TogglCloseAccountOperator(_SessionStoreMixin, TogglBaseOperator):
    """**Destructive: closes a Toggl Track account.** Irreversible.

    Uses the session stored under ``session_key`` (default: the connection's), or else a session
    created from the connection's email and password. Before closing, ``/me`` with that session
    must show ``confirm_email``: a guard against closing the wrong account. The store is cleared
    afterwards. Returns ``{"email", "user_id", "closed": True}``.

    :param confirm_email: the email of the account that is meant to be closed.
    :param session_key: store key of the session to use.
    """

    template_fields: Sequence[str] = ("toggl_conn_id", "confirm_email", "session_key")

    def __init__(self, *, confirm_email: str, session_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(confirm_email, str) or not confirm_email.strip():
            raise TogglConfigError("confirm_email", "is required: the email of the account to close")
        self.confirm_email = confirm_email
        self.session_key = session_key

    def execute_toggl(self, context: Context) -> dict[str, Any]:
        """Check whose session it is, close the account, clear the store."""
        from airflow_toggl.sessions.rotation import check_identity

        store = self.store
        stored = store.load()
        session = stored.session if stored else self.hook.create_session()
        try:
            me = self.hook.identity_of(session)
            check_identity(me, email=self.confirm_email)
        except BaseException:
            if stored is None:
                self.rotator().discard(session)
            raise
        self.log.warning("Closing the Toggl Track account of user %s <%s>.", me.get("id"), me.get("email"))
        self.hook.close_account(session)
        store.clear()
        return {"email": me.get("email"), "user_id": me.get("id"), "closed": True}


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
    "TogglSignupOperator",
]
