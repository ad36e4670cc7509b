"""Response bodies and error answers, from canned HTTP responses built without a server.

A transport adapter answers every request with one canned response (built by requests' own
``HTTPAdapter.build_response`` from a urllib3 response), so the client's public methods run their
whole path: pacing, retry policy, error mapping, JSON parsing and Set-Cookie reading.
"""

from __future__ import annotations

import io
import json
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPHeaderDict, HTTPResponse

from airflow_toggl.client import ApiTokenAuth, ClientConfig, TogglClient, TogglSession
from airflow_toggl.client.answers import error_for
from airflow_toggl.client.auth import SESSION_COOKIE_NAME
from airflow_toggl.client.transport import Answer
from airflow_toggl.exceptions import TogglError, TogglResponseError
from tests.support.strategies import fuzz, json_equal, json_values, secrets

Headers = list[tuple[str, str]]

_BUILDER = HTTPAdapter()

content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/html", "text/html; charset=iso-8859-1",
     "text/plain; charset=utf-16", "application/json; charset=latin-1", "text/plain; charset=ascii",
     "application/problem+json", "text/plain; charset=no-such-charset", "text/plain; charset=utf-7"]
)  # fmt: skip
# Charsets whose decoders reject errors="replace", which requests uses to build ``Response.text``.
TEXT_BREAKING_CHARSETS = ("idna", "punycode", "undefined")
quota_headers = st.lists(
    st.tuples(
        st.sampled_from(["X-Toggl-Quota-Remaining", "X-Toggl-Quota-Resets-In"]),
        st.one_of(st.integers(min_value=-5, max_value=10**6).map(str), st.text(max_size=10)),
    ),
    max_size=2,
)
retry_after = st.lists(
    st.tuples(st.just("Retry-After"), st.one_of(st.integers(0, 10**6).map(str), st.text(max_size=30))),
    max_size=1,
)
# Redirect targets: the same host, another host (both answered by the canned transport), nothing.
LOCATIONS = ["/api/v9/me", "https://elsewhere.example/collect", "", "//elsewhere.example/x"]
TOGGL_HOST = "api.track.toggl.com"
RESULT_TYPES: dict[str, type] = {
    "get_me": dict,
    "get_quota": list,
    "is_logged_in": bool,
    "reset_api_token": str,
}
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@st.composite
def response_headers(draw: st.DrawFn) -> Headers:
    headers: Headers = []
    if draw(st.booleans()):
        headers.append(("Content-Type", draw(content_types)))
    headers += draw(quota_headers) + draw(retry_after)
    headers += draw(
        st.lists(st.tuples(st.from_regex(r"X-[A-Za-z-]{1,10}", fullmatch=True), header_text), max_size=2)
    )
    if draw(st.integers(0, 5)) == 0:
        headers.append(("Location", draw(st.sampled_from(LOCATIONS))))
    return headers


def canned_response(
    request: requests.PreparedRequest, status: int, headers: Headers, body: bytes
) -> requests.Response:
    raw = HTTPResponse(
        body=io.BytesIO(body),
        headers=HTTPHeaderDict(headers),
        status=status,
        preload_content=False,
        decode_content=False,
        request_method=request.method,
    )
    return _BUILDER.build_response(request, raw)


class CannedTransport(BaseAdapter):
    """Answers every request with the same status, headers and body; records what was sent."""

    def __init__(self, status: int, headers: Headers, body: bytes) -> None:
        super().__init__()
        self.status, self.headers, self.body = status, headers, body
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        return canned_response(request, self.status, self.headers, self.body)

    def close(self) -> None:
        pass


def client_for(transport: CannedTransport, secret: str | None = None) -> TogglClient:
    http = requests.Session()
    http.trust_env = False
    http.mount("https://", transport)
    config = ClientConfig(requests_per_second=0, max_retries=0)
    return TogglClient(config, ApiTokenAuth(secret) if secret else None, http=http, sleep=lambda _s: None)


def read_answer(status: int, headers: Headers, body: bytes) -> Answer:
    """A canned answer, read whole, as the transport hands it to the error mapping."""
    return Answer(
        status_code=status, headers=HTTPHeaderDict(headers), content=body, complete=True, request=prepared()
    )


def error_of(client: TogglClient, answer: Answer) -> TogglError | None:
    """What the client's error mapping makes of ``answer`` (quoting it, redacted by the client)."""
    return error_for(answer, "GET /api/v9/me", limit=client.config.max_response_bytes, redact=client.redact)


def prepared(
    method: str = "GET", url: str = "https://api.track.toggl.com/api/v9/me"
) -> requests.PreparedRequest:
    return requests.Request(method, url).prepare()


def outcome(call: Callable[[], Any]) -> Any:
    """The value of ``call()``, or the TogglError it raised; anything else propagates."""
    try:
        return call()
    except TogglError as error:
        return error


def assert_no_secret(error: BaseException, secret: str) -> None:
    for text in (str(error), repr(error), "".join(traceback.format_exception(error))):
        assert secret not in text


# -- 2xx bodies ------------------------------------------------------------------------------------


@fuzz(300)
@given(body=st.binary(max_size=300), content_type=st.one_of(st.none(), content_types), secret=secrets())
def test_any_bytes_give_the_object_or_a_response_error(
    body: bytes, content_type: str | None, secret: str
) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    body = body + secret.strip().encode()
    result = outcome(client_for(CannedTransport(200, headers, body), secret).get_me)
    assert isinstance(result, (dict, TogglResponseError)), result
    if isinstance(result, TogglResponseError):
        assert result.status_code == 200
        assert_no_secret(result, secret.strip())


@fuzz(300)
@given(
    payload=json_values,
    ensure_ascii=st.booleans(),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", None]),
)
def test_json_bodies_of_any_shape(payload: Any, ensure_ascii: bool, content_type: str | None) -> None:
    body = json.dumps(payload, ensure_ascii=ensure_ascii).encode("utf-8")
    headers = [("Content-Type", content_type)] if content_type else []
    expected = json.loads(body)

    me = outcome(client_for(CannedTransport(200, headers, body)).get_me)
    if isinstance(payload, dict):
        assert json_equal(me, expected)
    else:
        assert isinstance(me, TogglResponseError)

    quota = outcome(client_for(CannedTransport(200, headers, body)).get_quota)
    if isinstance(payload, list):
        assert json_equal(quota, expected)
    else:
        assert isinstance(quota, TogglResponseError)

    token = outcome(client_for(CannedTransport(200, headers, body), "BCDFGHJKMNPQRST").reset_api_token)
    if isinstance(payload, str) and payload.strip():
        assert token == payload
    else:
        assert isinstance(token, TogglResponseError)
        assert_no_secret(token, "BCDFGHJKMNPQRST")


@fuzz(150)
@given(body=st.binary(max_size=200), old=secrets(wrapped=False))
def test_reset_token_bodies(body: bytes, old: str) -> None:
    client = client_for(CannedTransport(200, [("Content-Type", "application/json")], body), old)
    result = outcome(client.reset_api_token)
    assert isinstance(result, (str, TogglResponseError))
    if isinstance(result, TogglResponseError):
        assert_no_secret(result, old)
    else:
        assert result.strip()
        assert client.redact(result) == "***"  # the new token is redacted from now on


@pytest.mark.parametrize("method", ["get_me", "get_quota", "reset_api_token"])
def test_deeply_nested_body_is_a_response_error(method: str) -> None:
    client = client_for(
        CannedTransport(200, [("Content-Type", "application/json")], b"[" * 100_000), "BCDFGHJKMNPQRST"
    )
    with pytest.raises(TogglResponseError):
        getattr(client, method)()


# -- error answers ---------------------------------------------------------------------------------


statuses = st.one_of(
    st.integers(min_value=100, max_value=599),
    st.sampled_from([402, 403, 429, 500, 503, 410]),
    st.integers(min_value=0, max_value=999),
)


@fuzz(400)
@given(
    status=statuses,
    headers=response_headers(),
    secret=secrets(),
    before=st.text(max_size=300),
    after=st.text(max_size=60),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]),
)
def test_error_for_any_answer(
    status: int, headers: Headers, secret: str, before: str, after: str, encoding: str
) -> None:
    client = client_for(CannedTransport(200, [], b""), secret)
    known = secret.strip()  # the token as ApiTokenAuth holds it
    body = json.dumps({"message": before + known + after}, ensure_ascii=False).encode(encoding, "replace")
    error = error_of(client, read_answer(status, headers, body))
    if 200 <= status < 300:
        assert error is None
        return
    assert isinstance(error, TogglError)
    assert error.status_code == status
    assert_no_secret(error, known)


@fuzz(250)
@given(status=statuses, headers=response_headers(), secret=secrets(), body=st.binary(max_size=200))
def test_error_for_any_bytes(status: int, headers: Headers, secret: str, body: bytes) -> None:
    client = client_for(CannedTransport(200, [], b""), secret)
    known = secret.strip()
    body = body[: len(body) // 2] + known.encode() + body[len(body) // 2 :]
    error = error_of(client, read_answer(status, headers, body))
    if 200 <= status < 300:
        assert error is None
    else:
        assert isinstance(error, TogglError)
        assert_no_secret(error, known)


@fuzz(250)
@given(
    status=statuses,
    headers=response_headers(),
    secret=secrets(),
    body=st.one_of(st.binary(max_size=120), st.text(max_size=120).map(str.encode)),
    method=st.sampled_from(["get_me", "get_quota", "is_logged_in", "reset_api_token"]),
)
def test_public_calls_on_any_answer(
    status: int, headers: Headers, secret: str, body: bytes, method: str
) -> None:
    transport = CannedTransport(status, headers, b"")
    client = client_for(transport, secret)
    known = secret.strip()
    transport.body = known.encode() + b" " + body + b" " + known.encode()
    result = outcome(getattr(client, method))
    assert isinstance(result, (TogglError, RESULT_TYPES[method])), result
    if isinstance(result, TogglError):
        assert_no_secret(result, known)
    for request in transport.sent:
        credentials = request.headers.get("Authorization") or request.headers.get("Cookie")
        if urlsplit(request.url or "").hostname == TOGGL_HOST:
            assert credentials is not None
            assert credentials.startswith("Basic ")
        else:  # a redirect elsewhere must not carry the credential along
            assert credentials is None


@pytest.mark.parametrize("charset", TEXT_BREAKING_CHARSETS)
def test_error_body_in_a_charset_that_cannot_replace(charset: str) -> None:
    client = client_for(CannedTransport(200, [], b""), "BCDFGHJKMNPQRST")
    answer = read_answer(500, [("Content-Type", f"text/plain; charset={charset}")], b"oops \xff")
    assert isinstance(error_of(client, answer), TogglError)


@pytest.mark.parametrize("status", [307, 308])
def test_state_changing_request_body_never_leaves_for_another_host(status: int) -> None:
    transport = CannedTransport(status, [("Location", "https://elsewhere.example/collect")], b"")
    http = requests.Session()
    http.trust_env = False
    http.mount("https://", transport)
    client = TogglClient(ClientConfig(requests_per_second=0, max_retries=0), http=http)
    outcome(lambda: client.create_session("me@example.com", "pw-BCDFGHJKMNPQ"))
    for request in transport.sent:
        if urlsplit(request.url or "").hostname != "accounts.toggl.com":
            assert b"pw-BCDFGHJKMNPQ" not in (request.body or b"")


# -- sessions from Set-Cookie ----------------------------------------------------------------------


@fuzz(200)
@given(
    set_cookies=st.lists(
        st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80), max_size=4
    ),
    body=st.binary(max_size=40),
    password=secrets(),
)
def test_create_session_on_any_set_cookie(set_cookies: list[str], body: bytes, password: str) -> None:
    seen: list[str] = []
    transport = CannedTransport(200, [("Set-Cookie", value) for value in set_cookies], body)
    http = requests.Session()
    http.trust_env = False
    http.mount("https://", transport)
    client = TogglClient(ClientConfig(requests_per_second=0, max_retries=0), http=http, on_secret=seen.append)
    result = outcome(lambda: client.create_session("me@example.com", password))
    assert isinstance(result, (TogglSession, TogglResponseError))
    if isinstance(result, TogglSession):
        assert result.cookie in seen
    else:
        assert_no_secret(result, password)


@fuzz(150)
@given(
    value=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!$%&'()*+/:<=>?@[]^`{|}", min_size=1, max_size=60),
    others=st.lists(st.from_regex(r"[a-z]{1,8}=[a-z0-9]{0,8}(; Path=/)?", fullmatch=True), max_size=4),
    position=st.integers(min_value=0),
)  # fmt: skip
def test_create_session_reads_the_cookie_from_repeated_headers(
    value: str, others: list[str], position: int
) -> None:
    headers = [("Set-Cookie", other) for other in others]
    headers.insert(
        position % (len(others) + 1),
        ("Set-Cookie", f"{SESSION_COOKIE_NAME}={value}; Path=/; Secure; HttpOnly"),
    )
    http = requests.Session()
    http.trust_env = False
    http.mount("https://", CannedTransport(200, headers, b"{}"))
    client = TogglClient(ClientConfig(requests_per_second=0, max_retries=0), http=http)
    session = client.create_session("me@example.com", "pw-BCDFGHJKMNPQ")
    assert session.cookie == value
    assert client.redact(f"x {value} y") == "x *** y"


def test_canned_responses_look_like_real_ones() -> None:
    response = canned_response(
        prepared(), 200, [("Content-Type", "application/json; charset=utf-8")], b'{"a": 1}'
    )
    assert response.headers.get("content-type") == "application/json; charset=utf-8"
    assert response.encoding == "utf-8"
    assert response.json() == {"a": 1}
