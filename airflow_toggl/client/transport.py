"""The transport: one attempt of a :class:`~airflow_toggl.client.endpoint.Call` on the wire, and the
:class:`Answer` it brings back, read whole within the size cap and the attempt's deadline.

Like an httpx transport it knows nothing of retries, pacing or what a status means: bytes go out,
bytes come in. The body is read here, from the raw stream, into the answer's own ``content``; the
``requests.Response`` is a means of transport, released once read. A network failure becomes a
:class:`~airflow_toggl.client.errors.TogglConnectionError` that names host, port and cause, never
the URL (a reset code is part of one).
"""

from __future__ import annotations

import http.client
import json
import os
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
import urllib3
from requests.utils import get_encoding_from_headers, guess_json_utf
from urllib3 import HTTPHeaderDict

from airflow_toggl import __version__
from airflow_toggl.client.auth import TogglAuth
from airflow_toggl.client.body import ACCEPT_ENCODING, UnsupportedEncoding, read_body
from airflow_toggl.client.config import ClientConfig
from airflow_toggl.client.endpoint import Call, Service
from airflow_toggl.client.network import connection_error
from airflow_toggl.client.secrets import hide_path_secrets_from_urllib3
from airflow_toggl.client.wire import attempt_deadline, guard_session

USER_AGENT = f"airflow-toggl/{__version__} python-requests/{requests.__version__}"
ERROR_BODY_LIMIT = 64 * 1024
"""How much of an error answer is read (for its snippet); the rest is left unread."""
_WIRE_ERRORS = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer as the client sees it: status, headers, and the body as bytes.

    ``complete`` says whether the body was read whole (False: it passed the size cap and was
    dropped; None: its encoding could not be decoded). ``set_cookies`` keeps every ``Set-Cookie``
    header apart (a merged header cannot be split back). ``request`` is what was sent.
    """

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    complete: bool | None
    request: requests.PreparedRequest = field(repr=False)
    set_cookies: tuple[str, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        """Whether the status is a success (2xx)."""
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        """The body decoded by its declared charset (UTF-8 when none is declared), errors replaced."""
        encoding = get_encoding_from_headers(self.headers) or "utf-8"
        try:
            return self.content.decode(encoding, errors="replace")
        except (LookupError, TypeError):
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:  # whatever json.loads returns; parsed() types it
        """The body parsed as JSON, as ``requests.Response.json`` reads it; ValueError when it is not."""
        if not get_encoding_from_headers(self.headers) and len(self.content) > 3:
            guessed = guess_json_utf(self.content)  # type: ignore[no-untyped-call]  # unannotated in types-requests
            if guessed is not None:
                try:
                    return json.loads(self.content.decode(guessed))
                except UnicodeDecodeError:
                    pass
        return json.loads(self.text)


class Transport:
    """Sends one attempt of a call through a ``requests.Session`` and reads its answer whole.

    Proxies and the CA bundle come from the environment, read once here rather than on every
    request; redirects are never followed (credentials and password bodies stay where they were
    sent); cookies are sent explicitly by the credentials, never from a jar.
    """

    def __init__(
        self, config: ClientConfig, http: requests.Session | None, redact: Callable[[str], str]
    ) -> None:
        hide_path_secrets_from_urllib3()
        self._config = config
        self._redact = redact
        self._http = guard_session(http or requests.Session())
        self._http.headers["User-Agent"] = USER_AGENT
        self._http.headers["Accept-Encoding"] = ACCEPT_ENCODING
        self._http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self._http.trust_env = False
        self._verify = environment_verify(config.verify)
        self._proxies = {service: environment_proxies(self.base_url(service)) for service in Service}

    def base_url(self, service: Service) -> str:
        """The configured base URL of ``service``."""
        return self._config.track_api_url if service is Service.TRACK else self._config.accounts_api_url

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def send(self, call: Call, auth: TogglAuth) -> Answer:
        """One attempt, over within ``timeout`` of going out; a TogglConnectionError when the network fails."""
        url = self.base_url(call.service) + call.path
        outcome = self._exchange(call, url, auth)
        if isinstance(outcome, BaseException):
            # Raised here, outside any except block, so the wrapped error (whose text holds the URL)
            # is neither the cause nor the context; the cause is a bare copy of the root failure.
            failure, cause = connection_error(outcome, url, call.label, self._config.timeout, self._redact)
            raise failure from cause
        return outcome

    def _exchange(self, call: Call, url: str, auth: TogglAuth) -> Answer | BaseException:
        """Send and read under the attempt's deadline; a network failure is returned, not raised."""
        with attempt_deadline(self._config.timeout):
            try:
                response = self._http.request(
                    call.method,
                    url,
                    auth=auth,
                    json=call.json,
                    params=call.params,
                    timeout=self._config.timeout,
                    verify=self._verify,
                    proxies=self._proxies[call.service],
                    allow_redirects=False,
                    stream=True,  # read below, with a size cap
                )
                return self._read(response)
            except _WIRE_ERRORS as exc:
                return exc

    def _read(self, response: requests.Response) -> Answer:
        """The answer with its body (2xx up to ``max_response_bytes``, errors up to 64 KiB).

        The connection goes back to the pool only when all of the body was read.
        """
        ok = 200 <= response.status_code < 300
        limit = self._config.max_response_bytes if ok else ERROR_BODY_LIMIT
        complete: bool | None
        try:
            body, complete = read_body(response.raw, response.headers.get("Content-Encoding", ""), limit)
        except (UnsupportedEncoding, zlib.error):
            body, complete = b"", None
        if not complete:
            response.raw.close()  # the rest is unread: this connection cannot carry another request
        response.raw.release_conn()
        return Answer(
            status_code=response.status_code,
            headers=response.headers,
            content=body,
            complete=complete,
            request=response.request,
            set_cookies=set_cookie_headers(response.raw.headers),
        )


def set_cookie_headers(headers: Mapping[str, str]) -> tuple[str, ...]:
    """Every ``Set-Cookie`` value of an answer: urllib3 keeps a repeated header's values apart."""
    if isinstance(headers, HTTPHeaderDict):
        return tuple(headers.getlist("Set-Cookie"))
    value = headers.get("Set-Cookie")
    return (value,) if value else ()


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
