"""The Toggl client: a thin facade of named endpoints over one request path.

Each method builds one :class:`~.endpoint.Call` for the :class:`~.sender.Sender` (pacing, retries,
the status mapped to a typed error), which sends it through the :class:`~.transport.Transport` (the
exchange, the size cap, the deadline). No Airflow here: every secret met goes to the
:class:`~.secrets.SecretRegistry` and on to ``on_secret`` (the hook passes Airflow's masker).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests

from airflow_toggl.client.answers import parsed, parsed_object
from airflow_toggl.client.auth import ApiTokenAuth, NoAuth, SessionCookieAuth, TogglAuth
from airflow_toggl.client.config import ClientConfig
from airflow_toggl.client.endpoint import Call, Service, endpoint, generic_call, reset_confirm_path
from airflow_toggl.client.errors import TogglAuthError, TogglConfigError, TogglResponseError
from airflow_toggl.client.limits import Quota
from airflow_toggl.client.paging import DEFAULT_MAX_PAGES, Page, PageRequest, pager, walk
from airflow_toggl.client.quotas import quotas_listed
from airflow_toggl.client.secrets import SecretRegistry
from airflow_toggl.client.sender import Sender
from airflow_toggl.client.session import TogglSession, session_from_set_cookie
from airflow_toggl.client.transport import Answer, Transport
from airflow_toggl.client.values import JSON

TRACK, ACCOUNTS = Service.TRACK, Service.ACCOUNTS


class TogglClient:
    """Talks to the Toggl Track API and the accounts service with one credential.

    ``auth`` is the default credential (API token, email/password or session cookie); endpoints that
    need another (session create, delete, signup) take theirs explicitly. ``account`` names the user
    (the email, else the API token) so that every credential of one account shares one pace in this
    process; without it, the credential's own email or digest is used. ``sleep`` is injectable so
    retry tests take no wall time; ``http`` is the ``requests.Session`` to send through.
    """

    def __init__(
        self,
        config: ClientConfig,
        auth: TogglAuth | None = None,
        *,
        on_secret: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http: requests.Session | None = None,
        account: str | None = None,
    ) -> None:
        self.config = config
        self._secrets = SecretRegistry(on_secret)
        self._secrets.add_auth(auth or NoAuth())
        self._transport = Transport(config, http, self._secrets.redact)
        self._sender = Sender(
            config, self._transport, self._secrets, auth or NoAuth(), account=account, sleep=sleep
        )

    def __repr__(self) -> str:
        return f"TogglClient(track={self.config.track_api_url!r}, auth={self._sender.auth!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def __enter__(self) -> TogglClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def last_quota(self) -> Quota | None:
        """The quota of the latest answer that reported one (``remaining``, ``resets_in``, ``scope``)."""
        return self._sender.last_quota

    @property
    def quotas(self) -> dict[str, Quota]:
        """The latest figures of each hourly quota seen, by scope (``user``, ``organization:<id>``...)."""
        return self._sender.quotas.quotas()

    # -- endpoints -------------------------------------------------------------------------------

    def get_me(self, with_related_data: bool = False, auth: TogglAuth | None = None) -> dict[str, JSON]:
        """The current user (``/me``); counts against the 30-per-hour user quota."""
        params = {"with_related_data": "true"} if with_related_data else None
        call = endpoint("GET", TRACK, "/api/v9/me", params=params, auth=auth)
        me = parsed_object(self._sender.send(call), call)
        self._secrets.add_fields(me)  # api_token, intercom_hash
        return me

    def is_logged_in(self, auth: TogglAuth | None = None) -> bool:
        """Whether the credentials work (``/me/logged``); False when Toggl refuses them (403).

        ``/me/logged`` is the user's own data, so its 403 is the plain :class:`TogglAuthError`
        (refused credentials), never a resource's :class:`~airflow_toggl.client.errors.TogglNoAccessError`.
        """
        try:
            self._sender.send(endpoint("GET", TRACK, "/api/v9/me/logged", auth=auth))
        except TogglAuthError:
            return False
        return True

    def get_quota(self) -> list[JSON]:
        """Every hourly quota of the user as Toggl lists it (``/me/quota``: one request, user quota).

        The figures are kept too, so :attr:`quotas` holds them all from then on.
        """
        call = endpoint("GET", TRACK, "/api/v9/me/quota")
        quota = parsed(self._sender.send(call), call)
        if not isinstance(quota, list):
            raise TogglResponseError(f"Toggl answered {call.label} with something other than a list")
        self._sender.quotas.keep(quotas_listed(quota))
        return quota

    def read_quotas(self) -> dict[str, Quota]:
        """Every hourly quota up front, by scope, in one request (``/me/quota``); see :attr:`quotas`."""
        self.get_quota()
        return self.quotas

    def create_session(self, email: str, password: str) -> TogglSession:
        """A new session cookie from email and password (the only credential that can create one)."""
        body: dict[str, JSON] = {"email": email, "password": password}
        return self._required_session(_account_call("/api/sessions", body))

    def delete_session(self, session: TogglSession) -> bool:
        """Destroy ``session``; False when Toggl no longer accepts it (already deleted or expired)."""
        try:
            self._sender.send(endpoint("DELETE", ACCOUNTS, "/api/sessions", auth=self.session_auth(session)))
        except TogglAuthError:
            return False
        return True

    def signup(
        self, email: str, password: str, display_name: str, timezone: str = "UTC"
    ) -> TogglSession | None:
        """Create a Toggl account; returns its session when Toggl sets one."""
        body: dict[str, JSON] = {
            "email": email,
            "password": password,
            "display_name": display_name,
            "tos_accepted_for": "track",
            "remember_me": True,
            "timezone": timezone,
        }
        return self._session_from(self._sender.send(_account_call("/api/signup", body)))

    def close_account(self, session: TogglSession) -> None:
        """Close the Track account of the session's user. Irreversible."""
        auth = self.session_auth(session)
        path = "/api/me/close_account/track"
        self._sender.send(endpoint("POST", ACCOUNTS, path, auth=auth, idempotent=False, sensitive=True))

    def request_password_reset(self, email: str) -> None:
        """Ask Toggl to email a password reset code to ``email``."""
        body: dict[str, JSON] = {"email": email}
        self._sender.send(_account_call("/api/me/password_reset/request", body))

    def confirm_password_reset(self, code: str, new_password: str) -> TogglSession:
        """Set a new password with an emailed code; Toggl answers with a new session."""
        if not code or not code.strip():
            raise TogglConfigError("code", "is empty")
        path = reset_confirm_path(code.strip())
        body: dict[str, JSON] = {"password": new_password}
        return self._required_session(_account_call(path, body, secrets=(code.strip(),)))

    def reset_api_token(self) -> str:
        """Replace the API token; the old one stops working. Later calls of this client use the new one."""
        call = endpoint("POST", TRACK, "/api/v9/me/reset_token", idempotent=False, sensitive=True)
        answer = self._sender.send(call)
        token = parsed(answer, call)
        if not isinstance(token, str) or not token.strip():
            raise TogglResponseError(f"Toggl answered {call.label} without a token", response=answer)
        self._secrets.add(token)
        if self._sender.auth.kind == "api_token":
            self._sender.auth = ApiTokenAuth(token)
            self._secrets.add_auth(self._sender.auth)
        return token

    def session_auth(self, session: TogglSession) -> SessionCookieAuth:
        """Credentials that send ``session``'s cookie (its value is registered as a secret first)."""
        self._secrets.add(session.cookie)
        return SessionCookieAuth(session.cookie)

    # -- any endpoint ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        service: str = "track",
        params: Mapping[str, Any] | None = None,
        json: JSON = None,
        idempotent: bool | None = None,
    ) -> JSON:
        """Any Toggl endpoint under this client's auth, pacing and retry policy; the parsed JSON answer.

        ``path`` is relative to the service's base URL (``track``: Track v9 and Reports v3;
        ``accounts``). GET, HEAD, PUT and DELETE are retried as idempotent unless ``idempotent``
        says otherwise; POST and PATCH are not. An empty answer is None.
        """
        call = generic_call(method, path, service, idempotent, params=params, json=json)
        return self._fetch(call)[0]

    def paginate(self, path: str, **options: Any) -> Iterator[JSON]:
        """Every item of a paged listing, one page in memory at a time; options as :meth:`pages`."""
        return (item for page in self.pages(path, **options) for item in page.items)

    def pages(
        self,
        path: str,
        *,
        style: str = "page",
        method: str | None = None,
        service: str = "track",
        params: Mapping[str, Any] | None = None,
        json: JSON = None,
        page_size: int | None = None,
        items_key: str | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        idempotent: bool | None = None,
        resume: Mapping[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Every page of a listing with its cursor (see :mod:`.paging` for ``style``).

        ``resume``, a page's cursor, starts with the page after that one. ``rows`` (the Reports
        v3 searches) defaults to POST and, being a read, to idempotent. More than ``max_pages``
        pages in all raise a TogglConfigError naming ``max_pages``. Arguments are checked here,
        before the first request.
        """
        rules = pager(style, page_size, items_key, max_pages)
        if style == "rows":  # a search only reads
            method, idempotent = method or "POST", True if idempotent is None else idempotent
        call = generic_call(method or "GET", path, service, idempotent, params=params, json=json)
        first = rules.start(params, json, resume)

        def send(request: PageRequest) -> tuple[JSON, Mapping[str, str]]:
            return self._fetch(call.with_page(request.params, request.json))

        return walk(send, rules, first, max_pages=max_pages, label=call.label, resume=resume)

    def scrub(self, value: JSON) -> JSON:
        """A copy of an answer fit for logs and XCom: secret fields as ``***``, known secrets redacted."""
        return self._secrets.scrub(value)

    def remember_secret(self, secret: str, *, user: str | None = None) -> None:
        """Redact ``secret`` too (every form of it; ``user``: the login a password pairs with), though
        this client does not send it: another credential of the same connection an answer may echo."""
        if secret:
            self._secrets.add(secret, user=user)

    def redact(self, text: str) -> str:
        """``text`` with every form of every secret this client has seen replaced by ``***``."""
        return self._secrets.redact(text)

    def _fetch(self, call: Call) -> tuple[JSON, Mapping[str, str]]:
        """A generic call's parsed body (None when empty) and headers, its secrets registered first."""
        answer = self._sender.send(call)
        self._session_from(answer)
        if not answer.content:
            return None, answer.headers
        body = parsed(answer, call)
        self._secrets.add_answer(call.path, body)
        self._sender.quotas.learn(call.path, body)
        return body, answer.headers

    def _session_from(self, answer: Answer) -> TogglSession | None:
        session = session_from_set_cookie(answer.set_cookies)
        if session is not None:
            self._secrets.add(session.cookie)
        return session

    def _required_session(self, call: Call) -> TogglSession:
        answer = self._sender.send(call)
        session = self._session_from(answer)
        if session is None:
            raise TogglResponseError(f"Toggl answered {call.label} without a session cookie", response=answer)
        return session


def _account_call(path: str, body: dict[str, JSON], secrets: tuple[str, ...] = ()) -> Call:
    """An unauthenticated, state-changing accounts call carrying a secret (signup, session, reset)."""
    return endpoint(
        "POST", ACCOUNTS, path, json=body, auth=NoAuth(), idempotent=False, secrets=secrets, sensitive=True
    )
