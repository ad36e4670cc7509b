"""The Toggl hook: an Airflow connection of type ``toggl`` turned into a :class:`TogglClient`.

The hook reads and validates the connection (errors name the field, before any request), gives the
client Airflow's masker for every secret it meets (:func:`mask`), and exposes one short method per
Toggl flow. It owns no HTTP logic of its own: that lives in :mod:`airflow_toggl.client`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

import airflow.sdk.log
from airflow.sdk import BaseHook

from airflow_toggl import AUTH_MODES, CONN_TYPE, CONNECTION_EXTRAS, DEFAULT_CONN_ID
from airflow_toggl.client.auth import ApiTokenAuth, EmailPasswordAuth, SessionCookieAuth, TogglAuth
from airflow_toggl.client.client import TogglClient
from airflow_toggl.client.config import ClientConfig
from airflow_toggl.client.limits import Quota
from airflow_toggl.client.paging import Page
from airflow_toggl.client.session import TogglSession
from airflow_toggl.client.values import JSON
from airflow_toggl.exceptions import TogglConfigError, TogglError
from airflow_toggl.sessions.store import SessionStore, default_session_key

_CONFIG_EXTRAS = tuple(sorted(set(CONNECTION_EXTRAS) & {option.name for option in fields(ClientConfig)}))
AIRFLOW_EXTRAS = frozenset({"description"})
"""Keys Airflow itself may leave in a connection's extras; they are not settings of ours."""
_PREFIX = f"extra__{CONN_TYPE}__"


@dataclass(frozen=True)
class ConnectionSettings:
    """A validated ``toggl`` connection. Secrets are kept out of the repr."""

    conn_id: str
    auth_mode: str
    email: str | None
    password: str | None = field(repr=False)
    api_token: str | None = field(repr=False)
    session_key: str
    config: ClientConfig

    @property
    def max_quota_wait(self) -> float:
        """Longest in-task wait for a quota reset, in seconds."""
        return self.config.max_quota_wait


def mask(secret: str | None) -> None:
    """Register a secret with Airflow's masker: the second line of defence, after never emitting it.

    The one place secrets reach the masker: the client calls it (``on_secret``) for every secret it
    reads or receives, so callers of the hook need not.
    """
    if secret:
        airflow.sdk.log.mask_secret(secret)  # looked up at each call, so a replaced masker is the one used


def _extra(extras: Mapping[str, Any], name: str) -> Any:
    """An extra by its plain name or the ``extra__toggl__`` prefixed name older forms store."""
    value = extras.get(name)
    if value is None:
        value = extras.get(f"{_PREFIX}{name}")
    if isinstance(value, str) and not value.strip():
        return None
    return value


def check_extra_names(extras: Mapping[str, Any]) -> None:
    """Raise a TogglConfigError naming the first extra that is not a setting, with the closest known name."""
    for key in extras:
        name = key.removeprefix(_PREFIX) if isinstance(key, str) else key
        if name in CONNECTION_EXTRAS or key in AIRFLOW_EXTRAS:
            continue
        close = difflib.get_close_matches(str(name), CONNECTION_EXTRAS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known extras: {', '.join(CONNECTION_EXTRAS)}"
        raise TogglConfigError(str(key), f"is not a setting of a {CONN_TYPE} connection; {hint}")


def _optional_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TogglConfigError(name, "must be text")
    return value.strip() or None


def validate_auth_mode(value: Any, name: str = "auth_mode") -> str | None:
    """``value`` if it is one of :data:`AUTH_MODES` (or empty), else a TogglConfigError naming ``name``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or value.strip() not in AUTH_MODES:
        raise TogglConfigError(name, f"must be one of {', '.join(AUTH_MODES)}")
    return value.strip()


def settings_from_connection(
    conn_id: str,
    *,
    login: str | None,
    password: str | None,
    extras: Mapping[str, Any],
    auth_mode: str | None = None,
) -> ConnectionSettings:
    """Validate a connection's fields. Pure: no Airflow access, no network. Raises TogglConfigError."""
    if not isinstance(extras, Mapping):
        raise TogglConfigError("extra", "must be a JSON object")
    check_extra_names(extras)
    email = _optional_text(login, "login")
    if password is not None and not isinstance(password, str):
        raise TogglConfigError("password", "must be text")
    password = password or None
    api_token = _optional_text(_extra(extras, "api_token"), "api_token")
    mode = validate_auth_mode(auth_mode) or validate_auth_mode(_extra(extras, "auth_mode"), "auth_mode")
    if mode is None:
        if api_token:
            mode = "api_token"
        elif email and password:
            mode = "basic"
        elif email or password:
            raise TogglConfigError(
                "password" if email else "login", "is empty: email and password go together"
            )
        else:
            raise TogglConfigError(
                "api_token", "no credentials: set the 'api_token' extra, or 'login' (email) and 'password'"
            )
    if mode == "api_token" and not api_token:
        raise TogglConfigError("api_token", "is empty but auth_mode is api_token")
    if mode == "basic":
        if not email:
            raise TogglConfigError("login", "is empty but auth_mode is basic (email/password)")
        if not password:
            raise TogglConfigError("password", "is empty but auth_mode is basic (email/password)")
    session_key = _optional_text(_extra(extras, "session_key"), "session_key") or default_session_key(conn_id)
    config_values = {name: _extra(extras, name) for name in _CONFIG_EXTRAS}
    config = ClientConfig(**{name: value for name, value in config_values.items() if value is not None})
    return ConnectionSettings(
        conn_id=conn_id,
        auth_mode=mode,
        email=email,
        password=password,
        api_token=api_token,
        session_key=session_key,
        config=config,
    )


class TogglHook(BaseHook):
    """Interact with Toggl Track through an Airflow connection of type ``toggl``.

    :param toggl_conn_id: the connection to use.
    :param auth_mode: override the connection's ``auth_mode`` (``api_token``, ``basic``, ``session``).
    :param session_cookie: a session cookie to authenticate with (implies ``auth_mode="session"``);
        without it, session mode reads the session kept in the session store.
    :param max_quota_wait: cap the connection's ``max_quota_wait`` (seconds waited in-process for a
        quota reset or a ``Retry-After``); deferrable operators set it to hand longer waits to the triggerer.
    :param session_key: the session store's key (an Airflow Variable name); default: the
        connection's ``session_key`` extra, else ``toggl_session_secret__<conn_id>``.
    """

    conn_name_attr = "toggl_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Toggl Track"

    def __init__(
        self,
        toggl_conn_id: str = default_conn_name,
        *,
        auth_mode: str | None = None,
        session_cookie: str | None = None,
        max_quota_wait: float | None = None,
        session_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_quota_wait = max_quota_wait
        self.toggl_conn_id = toggl_conn_id
        self.auth_mode = validate_auth_mode(auth_mode) or ("session" if session_cookie else None)
        if session_cookie is not None and self.auth_mode != "session":
            raise TogglConfigError("auth_mode", "must be session (or empty) when session_cookie is given")
        if session_cookie is not None:
            SessionCookieAuth(session_cookie)  # validates the value without echoing it
        self._session_cookie = session_cookie
        self._session_key = session_key

    def __repr__(self) -> str:
        return f"TogglHook(toggl_conn_id={self.toggl_conn_id!r}, auth_mode={self.auth_mode!r})"

    @cached_property
    def settings(self) -> ConnectionSettings:
        """The connection, read once and validated (its secrets reach the masker through the client)."""
        conn = self.get_connection(self.toggl_conn_id)
        return settings_from_connection(
            self.toggl_conn_id,
            login=conn.login,
            password=conn.password,
            extras=conn.extra_dejson,
            auth_mode=self.auth_mode,
        )

    def get_conn(self) -> TogglClient:
        """The client for this connection (one HTTP session, reused by every call of this hook)."""
        return self._client

    @cached_property
    def _client(self) -> TogglClient:
        config = self.settings.config
        if self.max_quota_wait is not None and self.max_quota_wait < config.max_quota_wait:
            config = replace(config, max_quota_wait=self.max_quota_wait)
        settings = self.settings
        account = settings.email or settings.api_token  # one pace for all of the user's credentials
        client = TogglClient(config, self._default_auth(), on_secret=mask, account=account)
        for secret, user in ((settings.api_token, None), (settings.password, settings.email)):
            client.remember_secret(secret or "", user=user)  # redacted wherever Toggl's text is shown
        return client

    def _default_auth(self) -> TogglAuth:
        return self._auth_for(self.settings.auth_mode)

    def _auth_for(self, auth_mode: str) -> TogglAuth:
        """The connection's credential of one auth mode (session: the hook's session)."""
        settings = self.settings
        if auth_mode == "api_token":
            return ApiTokenAuth(settings.api_token or "")
        if auth_mode == "basic":
            return EmailPasswordAuth(settings.email or "", settings.password or "")
        return SessionCookieAuth(self.current_session().cookie)

    def current_session(self) -> TogglSession:
        """The session this hook authenticates with: the explicit cookie, else the stored one."""
        if self._session_cookie:
            return TogglSession.from_cookie(self._session_cookie)
        store = self.session_store()
        stored = store.load()
        if stored is None:
            raise TogglConfigError(
                "session_key", f"no session is stored under {store.key!r}: create or rotate one first"
            )
        return stored.session

    def session_store(self) -> SessionStore:
        """The session store this hook reads in session mode: ``session_key``, else the connection's."""
        return SessionStore(self._session_key or self.settings.session_key)

    # -- Toggl flows: each a thin call into the client ------------------------------------------

    def get_me(self, with_related_data: bool = False) -> dict[str, Any]:
        """The authenticated user (``/me``). Counts against the 30-per-hour user quota.

        The answer holds two secrets, ``api_token`` and ``intercom_hash`` (registered with the
        masker): do not return it from a task, where it would land in XCom; the identity
        operators return only the non-secret fields.
        """
        return self.get_conn().get_me(with_related_data=with_related_data)

    def is_logged_in(self) -> bool:
        """Whether the credentials work (``/me/logged``: no body, one request); False on 403."""
        return self.get_conn().is_logged_in()

    def get_quota(self) -> list[JSON]:
        """Every hourly quota as Toggl lists it (``/me/quota``: one request of the user quota)."""
        return self.get_conn().get_quota()

    def read_quotas(self) -> dict[str, Quota]:
        """Every hourly quota up front, by scope (``user``, ``organization:<id>``), in one request."""
        return self.get_conn().read_quotas()

    def create_session(self) -> TogglSession:
        """A new session from the connection's email and password."""
        settings = self.settings
        if not settings.email:
            raise TogglConfigError("login", "is empty: creating a session needs the email")
        if not settings.password:
            raise TogglConfigError("password", "is empty: creating a session needs the password")
        return self.get_conn().create_session(settings.email, settings.password)

    def delete_session(self, session: TogglSession | None = None) -> bool:
        """Destroy ``session`` (default: the hook's own); False when it was already invalid."""
        return self.get_conn().delete_session(session or self.current_session())

    def identity_of(self, session: TogglSession) -> dict[str, Any]:
        """``/me`` as seen with ``session``'s cookie: whose session it is."""
        client = self.get_conn()
        return client.get_me(auth=client.session_auth(session))

    def is_session_live(self, session: TogglSession) -> bool:
        """Whether Toggl still accepts ``session`` (``/me/logged``: no body, one request)."""
        client = self.get_conn()
        return client.is_logged_in(auth=client.session_auth(session))

    def signup(
        self, email: str, password: str, display_name: str, timezone: str = "UTC"
    ) -> TogglSession | None:
        """Create a Toggl account; returns its session when Toggl sets one."""
        return self.get_conn().signup(email, password, display_name, timezone)

    def close_account(self, session: TogglSession | None = None) -> None:
        """Close the Track account of ``session``'s user (default: the hook's own). Irreversible."""
        self.get_conn().close_account(session or self.current_session())

    def request_password_reset(self, email: str) -> None:
        """Ask Toggl to email a password reset code."""
        self.get_conn().request_password_reset(email)

    def confirm_password_reset(self, code: str, new_password: str) -> TogglSession:
        """Set a new password with an emailed code; returns the new session Toggl answers with."""
        return self.get_conn().confirm_password_reset(code, new_password)

    def reset_api_token(self) -> str:
        """Replace the API token and return the new one (the old one stops working)."""
        return self.get_conn().reset_api_token()

    def request(self, method: str, path: str, **options: Any) -> Any:
        """Call any Toggl endpoint with this connection; the parsed JSON answer (None when empty).

        Options as :meth:`TogglClient.request <airflow_toggl.client.client.TogglClient.request>`:
        ``service`` (``track``: Track v9 and Reports v3 under ``/reports/api/v3/``; ``accounts``),
        ``params``, ``json``, ``idempotent``. Secrets in the answer are registered with the masker;
        pass the answer through :meth:`without_secrets` before returning it from a task.
        """
        return self.get_conn().request(method, path, **options)

    def paginate(self, path: str, **options: Any) -> Iterator[Any]:
        """Every item of a paged Toggl listing, one page in memory at a time.

        Options as :meth:`TogglClient.paginate <airflow_toggl.client.client.TogglClient.paginate>`:
        ``style`` (``page`` or ``rows``), ``method``, ``service``, ``params``, ``json``,
        ``page_size``, ``items_key``, ``max_pages``, ``idempotent``, ``resume``.
        """
        return self.get_conn().paginate(path, **options)

    def pages(self, path: str, **options: Any) -> Iterator[Page]:
        """Every page of a paged Toggl listing with the cursor a later walk can ``resume`` from.

        Options as :meth:`paginate`. The cursor holds page or row numbers only, never a secret.
        """
        return self.get_conn().pages(path, **options)

    def without_secrets(self, value: Any) -> Any:
        """A copy of an answer with secret fields as ``***`` and every known secret redacted."""
        return self.get_conn().scrub(value)

    @property
    def last_quota(self) -> Quota | None:
        """The quota the latest response reported (``remaining``, ``resets_in``, ``scope``), if any.

        None before this hook has built its client: reading it never looks the connection up.
        """
        return self._built_client.last_quota if self._built_client else None

    @property
    def quotas(self) -> dict[str, Quota]:
        """The latest figures of each hourly quota seen, kept apart by scope (``user``, ``organization:<id>``).

        Empty before this hook has built its client: reading it never looks the connection up.
        """
        return self._built_client.quotas if self._built_client else {}

    @property
    def _built_client(self) -> TogglClient | None:
        """The client, if one was built (``_client`` is a cached property: it sits in ``__dict__`` then)."""
        client = self.__dict__.get("_client")
        return client if isinstance(client, TogglClient) else None

    def test_connection(self) -> tuple[bool, str]:
        """Check every credential the connection holds, one ``/me/logged`` each; the answer names them.

        A connection with an API token and an email/password fails when either is refused, so a
        wrong password is found here rather than by the first task that signs in. In session mode
        the stored session is checked too. ``/me/logged`` creates nothing on Toggl. One client
        sends every check, each with its credential, so the connection is read once.
        """
        accepted: list[str] = []
        refused: list[str] = []
        try:
            client = self.get_conn()
            for name, mode in self.held_credentials():
                (accepted if client.is_logged_in(auth=self._auth_for(mode)) else refused).append(name)
        except TogglError as error:
            return False, str(error)
        if refused:
            also = f"; it accepted the {_and(accepted)} credentials" if accepted else ""
            return False, f"Toggl refused the {_and(refused)} credentials (403){also}"
        message = f"Toggl accepted the {_and(accepted)} credentials"
        self.log.info("%s (one GET /api/v9/me/logged each).", message)  # Airflow's CLI prints no success message
        return True, message

    def held_credentials(self) -> list[tuple[str, str]]:
        """``(name, auth mode)`` of each credential the connection holds, in the order they are tested."""
        settings = self.settings
        held: list[tuple[str, str]] = []
        if settings.api_token:
            held.append(("api_token", "api_token"))
        if settings.email and settings.password:
            held.append(("email/password", "basic"))
        if settings.auth_mode == "session":
            held.append(("stored session", "session"))
        return held


def _and(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
