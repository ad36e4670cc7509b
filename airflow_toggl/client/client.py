"""The Toggl client: one HTTP session, one request path, one short method per endpoint.

It knows nothing of Airflow. Every secret it reads or receives is handed to ``on_secret`` (the hook
passes Airflow's ``mask_secret``), and every message it writes or raises is free of secrets.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import quote

import requests
import urllib3
from tenacity import Retrying

from airflow_toggl import __version__
from airflow_toggl.client.auth import NoAuth, SessionCookieAuth, TogglAuth
from airflow_toggl.client.config import DEFAULT_REQUESTS_PER_SECOND, ClientConfig
from airflow_toggl.client.endpoint import SECRET_ANSWER_PATHS, Call, generic_call, scrubbed, visit_secrets
from airflow_toggl.client.errors import (
    TogglAPIError,
    TogglAuthError,
    TogglConfigError,
    TogglConnectionError,
    TogglError,
    TogglPlanError,
    TogglQuotaExceededError,
    TogglRateLimitError,
    TogglResponseError,
    TogglResponseTooLargeError,
)
from airflow_toggl.client.limits import (
    Quota,
    account_key,
    has_quota_headers,
    pacing_interval,
    parse_quota,
    shared_pacer,
)
from airflow_toggl.client.network import network_failure
from airflow_toggl.client.paging import DEFAULT_MAX_PAGES, Page, PageRequest, pager, walk
from airflow_toggl.client.redaction import Redactor
from airflow_toggl.client.retry import parse_retry_after, retry_policy, wait_for_toggl
from airflow_toggl.client.session import TogglSession, session_from_set_cookie, set_cookie_headers
from airflow_toggl.client.transport import UnsupportedEncoding, attempt_deadline, guard_session, read_body

log = logging.getLogger(__name__)

_RESET_CODE_IN_PATH = re.compile(r"(/password_reset/confirm/)[^\s\"'?#]+")


class _ResetCodeFilter(logging.Filter):
    """Hides the password reset code, which Toggl takes in the URL path, from urllib3's log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/password_reset/confirm/" in message:
            record.msg, record.args = _RESET_CODE_IN_PATH.sub(r"\1***", message), ()
        return True


for _name in ("urllib3.connectionpool", "urllib3.connection"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _ResetCodeFilter) for f in _logger.filters):
        _logger.addFilter(_ResetCodeFilter())

USER_AGENT = f"airflow-toggl/{__version__} python-requests/{requests.__version__}"
_SNIPPET_LENGTH = 200
SIGN_IN = "POST /api/sessions"
"""The label of a sign-in: a session created from an email and password."""
ERROR_BODY_LIMIT = 64 * 1024
"""How much of an error answer is read (for its snippet); the rest is left unread."""
_WIRE_ERRORS = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


class Service(Enum):
    """The two Toggl services, each with its own base URL."""

    TRACK = "track"
    ACCOUNTS = "accounts"


class TogglClient:
    """Talks to the Toggl Track API and the accounts service with one credential.

    ``auth`` is the default credential (API token, email/password or session cookie); endpoints that
    need another (session create, delete, signup) take theirs explicitly. ``account`` names the user
    (the email, else the API token) so that every credential of one account shares one pace in this
    process; without it, the credential's own email or digest is used. ``sleep`` is injectable so
    retry tests take no wall time.
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
        self._auth: TogglAuth = auth or NoAuth()
        self._on_secret = on_secret
        self._sleep = sleep
        self._http = guard_session(http or requests.Session())
        self._http.headers["User-Agent"] = USER_AGENT
        self._http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # cookies are sent explicitly
        # Proxies and CA bundle from the environment, read once here rather than on every request.
        self._http.trust_env = False
        self._verify = environment_verify(config.verify)
        self._proxies = {
            base: environment_proxies(base) for base in (config.track_api_url, config.accounts_api_url)
        }
        self._redactor = Redactor()
        self.last_quota: Quota | None = None
        self._remember_auth(self._auth)
        self._pace = pacing_interval(config.requests_per_second)
        account = account or getattr(self._auth, "email", None)
        self._pacer = shared_pacer(account_key(account) if account else self._auth.fingerprint)
        self._policies = {idempotent: self._retry_policy(idempotent) for idempotent in (True, False)}

    def __repr__(self) -> str:
        return f"TogglClient(track={self.config.track_api_url!r}, auth={self._auth!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> TogglClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- endpoints -------------------------------------------------------------------------------

    def get_me(self, with_related_data: bool = False, auth: TogglAuth | None = None) -> dict[str, Any]:
        """The current user (``/me``); counts against the 30-per-hour user quota."""
        params = {"with_related_data": "true"} if with_related_data else None
        me = self._json_object(self._request("GET", Service.TRACK, "/api/v9/me", params=params, auth=auth))
        visit_secrets(me, self._remember_secret)  # api_token, intercom_hash
        return me

    def is_logged_in(self, auth: TogglAuth | None = None) -> bool:
        """Whether the credentials work (``/me/logged``); False when Toggl refuses them (403)."""
        try:
            self._request("GET", Service.TRACK, "/api/v9/me/logged", auth=auth)
        except TogglAuthError:
            return False
        return True

    def get_quota(self) -> list[dict[str, Any]]:
        """The hourly quota per organization (``/me/quota``)."""
        quota = self._json(self._request("GET", Service.TRACK, "/api/v9/me/quota"), "/api/v9/me/quota")
        if not isinstance(quota, list):
            raise TogglResponseError("Toggl answered GET /api/v9/me/quota with something other than a list")
        return quota

    def create_session(self, email: str, password: str) -> TogglSession:
        """A new session cookie from email and password (the only credential that can create one)."""
        self._remember_secret(password, user=email)
        body = {"email": email, "password": password}
        response = self._request(
            "POST", Service.ACCOUNTS, "/api/sessions", json=body, auth=NoAuth(), idempotent=False, secret=True
        )
        return self._required_session(response, "POST /api/sessions")

    def delete_session(self, session: TogglSession) -> bool:
        """Destroy ``session``; False when Toggl no longer accepts it (already deleted or expired)."""
        try:
            self._request("DELETE", Service.ACCOUNTS, "/api/sessions", auth=self.session_auth(session))
        except TogglAuthError:
            return False
        return True

    def signup(
        self, email: str, password: str, display_name: str, timezone: str = "UTC"
    ) -> TogglSession | None:
        """Create a Toggl account; returns its session when Toggl sets one."""
        self._remember_secret(password, user=email)
        body = {
            "email": email,
            "password": password,
            "display_name": display_name,
            "tos_accepted_for": "track",
            "remember_me": True,
            "timezone": timezone,
        }
        response = self._request(
            "POST", Service.ACCOUNTS, "/api/signup", json=body, auth=NoAuth(), idempotent=False, secret=True
        )
        return self._session_from(response)

    def close_account(self, session: TogglSession) -> None:
        """Close the Track account of the session's user. Irreversible."""
        path = "/api/me/close_account/track"
        auth = self.session_auth(session)
        self._request("POST", Service.ACCOUNTS, path, auth=auth, idempotent=False, secret=True)

    def request_password_reset(self, email: str) -> None:
        """Ask Toggl to email a password reset code to ``email``."""
        path = "/api/me/password_reset/request"
        body = {"email": email}
        self._request("POST", Service.ACCOUNTS, path, json=body, auth=NoAuth(), idempotent=False, secret=True)

    def confirm_password_reset(self, code: str, new_password: str) -> TogglSession:
        """Set a new password with an emailed code; Toggl answers with a new session."""
        if not code or not code.strip():
            raise TogglConfigError("code", "is empty")
        self._remember_secret(code.strip())
        self._remember_secret(new_password)
        path = "/api/me/password_reset/confirm/" + quote(code.strip(), safe="")
        label = "POST /api/me/password_reset/confirm/<code>"
        response = self._request(
            "POST",
            Service.ACCOUNTS,
            path,
            json={"password": new_password},
            auth=NoAuth(),
            idempotent=False,
            label=label,
            secret=True,
        )
        return self._required_session(response, label)

    def reset_api_token(self) -> str:
        """Replace the API token; the old one stops working. Later calls of this client use the new one."""
        response = self._request(
            "POST", Service.TRACK, "/api/v9/me/reset_token", idempotent=False, secret=True
        )
        token = self._json(response, "POST /api/v9/me/reset_token")
        if not isinstance(token, str) or not token.strip():
            raise TogglResponseError(
                "Toggl answered POST /api/v9/me/reset_token without a token", response=response
            )
        self._remember_secret(token)
        if self._auth.kind == "api_token":
            from airflow_toggl.client.auth import ApiTokenAuth

            self._auth = ApiTokenAuth(token)
            self._remember_auth(self._auth)
        return token

    def session_auth(self, session: TogglSession) -> SessionCookieAuth:
        """Credentials that send ``session``'s cookie (its value is registered as a secret first)."""
        self._remember_secret(session.cookie)
        return SessionCookieAuth(session.cookie)

    # -- any endpoint ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        service: str = "track",
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Any Toggl endpoint under this client's auth, pacing and retry policy; the parsed JSON answer.

        ``path`` is relative to the service's base URL (``track``: Track v9 and Reports v3;
        ``accounts``). GET, HEAD, PUT and DELETE are retried as idempotent unless ``idempotent``
        says otherwise; POST and PATCH are not. An empty answer is None.
        """
        call = self._generic_call(method, path, service, idempotent, json)
        return self._generic_answer(call, self._generic_send(call, params, json))

    def paginate(self, path: str, **options: Any) -> Iterator[Any]:
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
        json: Any = None,
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
        if style == "rows":
            method, idempotent = (
                method or "POST",
                True if idempotent is None else idempotent,
            )  # a search only reads
        call = self._generic_call(method or "GET", path, service, idempotent, json)
        first = rules.start(params, json, resume)

        def send(request: PageRequest) -> tuple[Any, Mapping[str, str]]:
            response = self._generic_send(call, request.params, request.json)
            return self._generic_answer(call, response), response.headers

        return walk(send, rules, first, max_pages=max_pages, label=call.label, resume=resume)

    def scrub(self, value: Any) -> Any:
        """A copy of an answer fit for logs and XCom: secret fields as ``***``, known secrets redacted."""
        return scrubbed(value, self.redact)

    def _generic_call(self, method: Any, path: Any, service: Any, idempotent: Any, json: Any) -> Call:
        call = generic_call(method, path, service, idempotent)
        if call.path_secret:
            self._remember_secret(call.path_secret)
        visit_secrets(json, self._remember_secret)
        return call

    def _generic_send(self, call: Call, params: Mapping[str, Any] | None, json: Any) -> requests.Response:
        service = Service.TRACK if call.service == "track" else Service.ACCOUNTS
        body_secrets: list[str] = []
        visit_secrets(json, body_secrets.append)
        return self._request(
            call.method,
            service,
            call.path,
            json=json,
            params=params,
            idempotent=call.idempotent,
            label=call.label,
            secret=bool(call.path_secret or body_secrets),
        )

    def _generic_answer(self, call: Call, response: requests.Response) -> Any:
        """The parsed body (None when empty), its secrets registered before the caller sees them."""
        self._session_from(response)
        if not response.content:
            return None
        body = self._json(response, call.label)
        if call.path in SECRET_ANSWER_PATHS and isinstance(body, str):
            self._remember_secret(body)
        visit_secrets(body, self._remember_secret)
        return body

    # -- one request -----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        service: Service,
        path: str,
        *,
        auth: TogglAuth | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        label: str | None = None,
        secret: bool = False,
    ) -> requests.Response:
        """Send one logical request under the retry policy; return the 2xx response or raise a TogglError.

        ``secret`` marks a request that carries a secret in its body or path: its error answers are
        never quoted (nor are those of any request sent with email and password).
        """
        base = self.config.track_api_url if service is Service.TRACK else self.config.accounts_api_url
        auth = auth or self._auth
        quote_errors = not secret and auth.kind != "basic"
        policy = self._policies[idempotent]
        label = label or f"{method} {path}"
        return policy(self._send, method, base + path, auth, json, params, label, quote_errors)

    def _retry_policy(self, idempotent: bool) -> Retrying:
        """The retry policy for one kind of request; its waits include the account's pacing."""
        pacer, pace = self._pacer, self._pace
        wait = wait_for_toggl(
            bucket_interval=pace or pacing_interval(DEFAULT_REQUESTS_PER_SECOND),
            backoff_cap=self.config.backoff_cap,
            pacing=lambda: pacer.delay(pace),
        )
        return retry_policy(
            attempts=self.config.max_retries + 1,
            idempotent=idempotent,
            max_wait=self.config.max_quota_wait,
            wait=wait,
            sleep=self._sleep,
            before_sleep=self._log_retry,
        )

    def _send(
        self,
        method: str,
        url: str,
        auth: TogglAuth,
        json: Any,
        params: Mapping[str, Any] | None,
        label: str,
        quote_errors: bool = True,
    ) -> requests.Response:
        """One attempt, in the account's turn; over within ``timeout`` of the request going out."""
        if self._pace:
            with self._pacer.turn(self._pace, self._sleep):
                outcome = self._exchange(method, url, auth, json, params)
        else:
            outcome = self._exchange(method, url, auth, json, params)
        if isinstance(outcome, BaseException):
            # Raised here, outside any except block, so the wrapped error (whose text holds the URL)
            # is neither the cause nor the context; the cause is a bare copy of the root failure.
            failure, cause = self._connection_error(outcome, url, label)
            raise failure from cause
        response, complete = outcome
        log.debug("Toggl %s -> %s", label, response.status_code)
        self._note_quota(response)
        error = self._error_for(
            response, label, quote_errors=quote_errors, complete=complete, credential=auth.kind
        )
        if error is not None:
            raise error
        return response

    def _exchange(
        self, method: str, url: str, auth: TogglAuth, json: Any, params: Mapping[str, Any] | None
    ) -> tuple[requests.Response, bool | None] | BaseException:
        """Send the request and read its body under the attempt's deadline.

        Returns the response and whether its body was read whole (None: it could not be decoded), or
        the network failure, returned rather than raised so that it becomes no error's context.
        """
        track = self.config.track_api_url
        proxies = self._proxies[track if url.startswith(track) else self.config.accounts_api_url]
        with attempt_deadline(self.config.timeout):
            try:
                response = self._http.request(
                    method,
                    url,
                    auth=auth,
                    json=json,
                    params=params,
                    timeout=self.config.timeout,
                    verify=self._verify,
                    proxies=proxies,
                    allow_redirects=False,  # never carry credentials or a password body to another place
                    stream=True,  # read below, with a size cap
                )
                return response, self._read(response)
            except (UnsupportedEncoding, zlib.error):
                response.raw.close()
                response.raw.release_conn()
                response._content = b""
                return response, None
            except _WIRE_ERRORS as exc:
                return exc

    def _read(self, response: requests.Response) -> bool:
        """Read the body into ``response`` (2xx up to ``max_response_bytes``, errors up to 64 KiB).

        Returns whether all of it was read. The connection goes back to the pool only then.
        """
        ok = 200 <= response.status_code < 300
        body, complete = read_body(response, self.config.max_response_bytes if ok else ERROR_BODY_LIMIT)
        if not complete:
            response.raw.close()  # the rest is unread: this connection cannot carry another request
        response.raw.release_conn()
        response._content = body
        response._content_consumed = True  # type: ignore[attr-defined]
        return complete

    def _log_retry(self, state: Any) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning(
            "%s; %s, so attempt %d of %d follows in %.1fs",
            error,
            _why_retried(error),
            state.attempt_number + 1,
            self.config.max_retries + 1,
            wait,
        )

    def _note_quota(self, response: requests.Response) -> None:
        quota = parse_quota(response.headers)
        if quota is not None:
            self.last_quota = quota
            log.debug("Toggl quota: %s requests remaining, resets in %ss", quota.remaining, quota.resets_in)

    def _error_for(
        self,
        response: requests.Response,
        label: str,
        *,
        quote_errors: bool = True,
        complete: bool | None = True,
        credential: str | None = None,
    ) -> TogglError | None:
        """The typed error for a non-2xx answer (or a 2xx one too large or undecodable), or None for success.

        ``credential`` is the kind of auth the request carried (``api_token``, ``basic``, ``session``).
        """
        status = response.status_code
        if 200 <= status < 300:
            if complete is None:
                return TogglResponseError(
                    f"Toggl answered {label} with a body that could not be decoded", response=response
                )
            if not complete:
                limit = self.config.max_response_bytes
                return TogglResponseTooLargeError(
                    f"Toggl answered {label} with more than {limit} bytes (max_response_bytes); not read further",
                    limit=limit,
                    response=response,
                )
            return None
        if status == 402:
            # The quota headers' presence is what tells a used-up quota from a plan refusal. A quota
            # answer whose figures do not parse is still a quota answer: it is temporary, and taking
            # it for a plan refusal would fail for good what an hour's wait fixes.
            quota = parse_quota(response.headers)
            if quota is None and has_quota_headers(response.headers):
                quota = Quota(remaining=None, resets_in=None)
            if quota is None:
                return TogglPlanError(
                    f"Toggl refused {label} (402): the workspace's plan does not include it",
                    response=response,
                )
            resets_in = quota.resets_in if quota.resets_in is not None else 3600.0
            return TogglQuotaExceededError(
                f"Toggl hourly quota used up for {label} (402); it resets in {resets_in:.0f}s",
                resets_in=resets_in,
                remaining=quota.remaining,
                response=response,
            )
        if status == 403:
            if label == SIGN_IN:  # the email and password travel in the body; never say which was wrong
                return TogglAuthError(
                    f"Toggl refused the email or password for {label} (403)", credential="basic", response=response
                )
            return TogglAuthError(
                f"Toggl refused the credentials for {label} (403): wrong, expired or revoked",
                credential=credential if credential != "none" else None,
                response=response,
            )
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return TogglRateLimitError(
                f"Toggl rate limit hit for {label} (429)", retry_after=retry_after, response=response
            )
        body = self._snippet(response) if quote_errors and complete else _UNQUOTED
        return TogglAPIError(f"Toggl answered {label} with {status}{body}", response=response)

    def _connection_error(
        self, exc: BaseException, url: str, label: str
    ) -> tuple[TogglConnectionError, BaseException | None]:
        """The typed error for a failed attempt, and a secret-free copy of its root cause to chain."""
        failure = network_failure(exc, url, self.config.timeout, self.redact)
        error = TogglConnectionError(
            f"Toggl {label} failed: {failure.text}",
            reason=failure.reason,
            detail=failure.detail,
            host=failure.host,
            port=failure.port,
        )
        return error, failure.cause

    # -- bodies ----------------------------------------------------------------------------------

    def _json(self, response: requests.Response, label: str) -> Any:
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise TogglResponseError(
                f"Toggl answered {label} with a body that is not JSON", response=response
            ) from None

    def _json_object(self, response: requests.Response) -> dict[str, Any]:
        label = f"{response.request.method} {_path_of(response)}"
        body = self._json(response, label)
        if not isinstance(body, dict):
            raise TogglResponseError(
                f"Toggl answered {label} with something other than an object", response=response
            )
        return body

    def _session_from(self, response: requests.Response) -> TogglSession | None:
        session = session_from_set_cookie(
            set_cookie_headers(response.raw.headers if response.raw else response.headers)
        )
        if session is not None:
            self._remember_secret(session.cookie)
        return session

    def _required_session(self, response: requests.Response, label: str) -> TogglSession:
        session = self._session_from(response)
        if session is None:
            raise TogglResponseError(f"Toggl answered {label} without a session cookie", response=response)
        return session

    def _snippet(self, response: requests.Response) -> str:
        """A short, redacted excerpt of an error body, to say why without echoing any secret."""
        text = (response.content or b"").decode("utf-8", errors="replace").strip()
        if not text or "html" in response.headers.get("Content-Type", ""):
            return ""
        # Redact before cutting: a secret crossing the cut would no longer match.
        return ": " + " ".join(self.redact(text).split())[:_SNIPPET_LENGTH]

    def redact(self, text: str) -> str:
        """``text`` with every form of every secret this client has seen replaced by ``***``."""
        return self._redactor.redact(text)

    def _remember_auth(self, auth: TogglAuth) -> None:
        for secret in auth.secrets():
            self._remember_secret(secret, user=getattr(auth, "email", None))

    def _remember_secret(self, secret: str, *, user: str | None = None) -> None:
        """Redact ``secret`` in every form a server could echo it, and hand each form to ``on_secret``."""
        for form in self._redactor.add(secret, user=user):
            if self._on_secret is not None:
                self._on_secret(form)


_UNQUOTED = " (the answer is not quoted: the request carried a secret)"


def _why_retried(error: BaseException | None) -> str:
    """Why the policy sends a request again after ``error``, for the retry log line."""
    if isinstance(error, TogglConnectionError):
        if error.reason == "connect":
            return "the request never reached Toggl"
        return "the request is safe to repeat"
    if isinstance(error, TogglRateLimitError):
        return "Toggl asked to slow down"
    if isinstance(error, TogglQuotaExceededError):
        return "the hourly quota resets within max_quota_wait"
    return "the request is safe to repeat"


def environment_verify(verify: bool | str) -> bool | str:
    """``verify``, where ``True`` means the CA bundle named by ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` if set.

    What requests does on every request when it reads the environment, done once.
    """
    if verify is True:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return verify


def environment_proxies(base_url: str) -> dict[str, str]:
    """The proxies the environment sets for ``base_url`` (none when ``NO_PROXY`` covers its host)."""
    return dict(requests.utils.get_environ_proxies(base_url))


def _path_of(response: requests.Response) -> str:
    url = response.request.url or ""
    path = url.split("://", 1)[-1]
    path = "/" + path.split("/", 1)[1] if "/" in path else "/"
    return path.split("?", 1)[0]
