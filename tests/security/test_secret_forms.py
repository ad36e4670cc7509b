"""No secret leaks when a server echoes it in another form.

A scripted loopback server answers each request with an error whose body echoes the secret it was
sent in every form a server might use: raw, JSON-escaped (ASCII or not), percent-encoded, HTML-
escaped, with its whitespace collapsed, changed or removed, and base64 of ``user:secret`` and
``secret:api_token``. The echoed forms are computed here, by the test's own encoders, not by the
code under test. Every surface the package writes to is scanned for every one of them: the error's
``str``, ``repr``, traceback with causes, structlog's dict traceback and a pickle round trip; every
log record (the retry WARNING lines included); ``TogglHook.test_connection()``'s message; and what
Airflow's masker leaves of each form once the hook registered the secret.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from airflow_toggl.client import ApiTokenAuth, ClientConfig, EmailPasswordAuth, SessionCookieAuth, TogglClient
from airflow_toggl.client.secrets import SecretRegistry, secret_forms
from airflow_toggl.client.session import TogglSession
from airflow_toggl.exceptions import TogglAPIError, TogglConnectionError, TogglError
from airflow_toggl.hooks.toggl import TogglHook
from devkit.scripted_server import Connection, Request, ScriptedClients, ScriptedServer, response
from tests.support.secrets_scan import capture_logs, exception_texts

pytestmark = pytest.mark.timeout(120)

EMAIL = "echo-scan@example.com"
PASSWORDS = {
    "double quote": 'Pw-LEAK-12"34',
    "backslash": "Pw-LEAK-56\\78",
    "non-ASCII letters": "Pw-LËAK-Ünïcødé-€90",
    "tab": "Pw-LEAK-tab\there-11",
    "two spaces": "Pw-LEAK-two  spaces-22",
}
RESET_CODES = {
    "plus and slash": "C0de+LEAK/with/slashes=33",
    "spaces": "C0de LEAK with spaces 44",
}
API_TOKEN = "7e57ec40ec40a5ed7e57ec40ec40a5ed"
COOKIE = "no-eyj.LEAKcookie-value.sig55"
PUBLIC_MARKER = "invalid-request-marker"


def echoed_forms(secret: str, user: str | None = None) -> dict[str, str]:
    """How a server might echo ``secret``: name -> text. The test's oracle, independent of the client."""
    forms = {
        "raw": secret,
        "JSON, ASCII": json.dumps(secret)[1:-1],
        "JSON, UTF-8": json.dumps(secret, ensure_ascii=False)[1:-1],
        "JSON twice": json.dumps(json.dumps(secret))[1:-1],
        "percent-encoded": quote(secret, safe=""),
        "percent-encoded, lower-case hex": quote(secret, safe="").replace("%2F", "%2f").replace("%2B", "%2b"),
        "form-encoded": quote_plus(secret),
        "HTML-escaped": html.escape(secret),
        "whitespace collapsed": " ".join(secret.split()),
        "whitespace removed": "".join(secret.split()),
        "tabs as spaces": secret.replace("\t", " "),
        "base64 of secret:api_token": base64.b64encode(f"{secret}:api_token".encode()).decode(),
    }
    if user:
        forms["base64 of user:secret"] = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return forms


def echo_body(secret: str, user: str | None) -> bytes:
    forms = echoed_forms(secret, user)
    return json.dumps(
        {"message": f"{PUBLIC_MARKER} echo " + " | ".join(forms.values())}, ensure_ascii=False
    ).encode()


def echo_script(status: int, secret: str, user: str | None = None) -> Callable[[Connection, Request], None]:
    """Answer ``status`` with every echoed form of ``secret``, plus the raw request itself."""

    def script(connection: Connection, request: Request) -> None:
        body = (
            echo_body(secret, user)[:-1]
            + b', "request": '
            + json.dumps(request.raw.decode("latin-1")).encode()
            + b"}"
        )
        connection.send(response(status, body, [("Content-Type", "application/json; charset=utf-8")]))

    return script


@dataclass
class Scan:
    """Texts the package produced during one call."""

    texts: list[tuple[str, str]]

    def leaks(self, secret: str, user: str | None = None) -> list[str]:
        found = []
        for where, text in self.texts:
            for name, form in echoed_forms(secret, user).items():
                if form in text:
                    found.append(f"{name} form in {where}")
        return found


@pytest.fixture
def echo_server() -> Iterator[Callable[..., tuple[ScriptedServer, TogglClient]]]:
    clients = ScriptedClients()

    def start(script: Any, auth: Any = None, **config: Any) -> tuple[ScriptedServer, TogglClient]:
        return clients.start(script, auth=auth, **config)

    yield start
    clients.close()


def basic_connection(server: ScriptedServer, password: str, **extra: Any) -> dict[str, Any]:
    """A ``toggl`` connection to ``server`` with email/password auth."""
    extras = {"track_api_url": server.url, "accounts_api_url": server.url, "auth_mode": "basic", **extra}
    return {
        "conn_type": "toggl",
        "login": EMAIL,
        "password": password,
        "extra": {"requests_per_second": 0, **extras},
    }


def scan_call(call: Callable[[], Any]) -> tuple[TogglError, Scan]:
    """Run ``call``, which must raise a TogglError; collect the error's renderings and every log record."""
    with capture_logs() as logs, pytest.raises(TogglError) as caught:
        call()
    return caught.value, Scan([*exception_texts(caught.value, "error"), *logs.texts("call")])


# -- the forms themselves ----------------------------------------------------------------------


@pytest.mark.parametrize("secret", [*PASSWORDS.values(), *RESET_CODES.values()])
def test_every_echoed_form_is_a_known_form(secret: str) -> None:
    """Each form the oracle echoes is either among secret_forms or caught by redaction's matching."""
    redactor = SecretRegistry()
    redactor.add(secret, user=EMAIL)
    for name, form in echoed_forms(secret, EMAIL).items():
        redacted = redactor.redact(f"<{form}>")
        assert "***" in redacted, name
        assert Scan([(name, redacted)]).leaks(secret, EMAIL) == [], name


def test_forms_of_an_empty_secret_are_none() -> None:
    assert secret_forms("") == frozenset()
    assert secret_forms("   ") == frozenset()


# -- requests that carry a secret: error answers are never quoted -------------------------------


@pytest.mark.parametrize("password", PASSWORDS.values(), ids=PASSWORDS.keys())
def test_create_session_never_quotes_an_answer_echoing_the_password(
    echo_server: Callable[..., Any], password: str
) -> None:
    server, client = echo_server(echo_script(400, password, EMAIL))
    error, scan = scan_call(lambda: client.create_session(EMAIL, password))
    assert error.status_code == 400
    assert "not quoted" in str(error)
    assert scan.leaks(password, EMAIL) == []
    assert json.loads(server.requests[0].body)["password"] == password  # it was sent, and echoed


@pytest.mark.parametrize("password", PASSWORDS.values(), ids=PASSWORDS.keys())
def test_signup_never_quotes_an_answer_echoing_the_password(
    echo_server: Callable[..., Any], password: str
) -> None:
    _server, client = echo_server(echo_script(400, password, EMAIL))
    error, scan = scan_call(lambda: client.signup(EMAIL, password, "Echo Scan"))
    assert error.status_code == 400
    assert scan.leaks(password, EMAIL) == []


@pytest.mark.parametrize("code", RESET_CODES.values(), ids=RESET_CODES.keys())
def test_reset_confirm_never_quotes_an_answer_echoing_the_code(
    echo_server: Callable[..., Any], code: str
) -> None:
    new_password = PASSWORDS["double quote"]
    server, client = echo_server(echo_script(404, code))
    error, scan = scan_call(lambda: client.confirm_password_reset(code, new_password))
    assert error.status_code == 404
    assert quote(code, safe="") in server.requests[0].path  # the code went out percent-encoded in the path
    assert scan.leaks(code) == []
    assert scan.leaks(new_password) == []


@pytest.mark.parametrize("password", PASSWORDS.values(), ids=PASSWORDS.keys())
def test_basic_auth_retries_never_log_an_echoed_password(
    echo_server: Callable[..., Any], password: str
) -> None:
    """get_me with email/password, 500 three times: the WARNING lines and the error are clean."""
    server, client = echo_server(echo_script(500, password, EMAIL), EmailPasswordAuth(EMAIL, password))
    with capture_logs() as logs:
        _, scan = scan_call(client.get_me)
    warnings = [text for _, text in logs.records if text.startswith("WARNING")]
    assert len(server.requests) == 3
    assert len(warnings) == 2
    assert all("attempt" in line and "500" in line for line in warnings)
    assert scan.leaks(password, EMAIL) == []
    assert Scan([("warning", line) for line in warnings]).leaks(password, EMAIL) == []


def test_close_account_and_token_reset_never_quote_their_answers(echo_server: Callable[..., Any]) -> None:
    _server, client = echo_server(echo_script(500, COOKIE), ApiTokenAuth(API_TOKEN))
    error, scan = scan_call(lambda: client.close_account(TogglSession.from_cookie(COOKIE)))
    assert "not quoted" in str(error)
    assert scan.leaks(COOKIE) == []
    _server, client = echo_server(echo_script(500, API_TOKEN), ApiTokenAuth(API_TOKEN))
    error, scan = scan_call(client.reset_api_token)
    assert "not quoted" in str(error)
    assert scan.leaks(API_TOKEN) == []


# -- other requests: a short, redacted quote --------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "secret"),
    [(ApiTokenAuth(API_TOKEN), API_TOKEN), (SessionCookieAuth(COOKIE), COOKIE)],
    ids=["api token", "session cookie"],
)
def test_quoted_answers_are_redacted_in_every_form(
    echo_server: Callable[..., Any], auth: Any, secret: str
) -> None:
    _server, client = echo_server(echo_script(500, secret), auth, max_retries=0)
    error, scan = scan_call(client.get_quota)
    assert isinstance(error, TogglAPIError)
    assert PUBLIC_MARKER in str(error)  # the quote is there (the scan reads something)...
    assert "***" in str(error)  # ...with the secret's forms hidden
    assert scan.leaks(secret) == []


# -- the hook: test_connection's message and Airflow's masker ---------------------------------


def test_test_connection_and_the_masker_hide_every_form(
    echo_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    password = PASSWORDS["double quote"]
    server, _ = echo_server(echo_script(500, password, EMAIL))
    monkeypatch.setenv(
        "AIRFLOW_CONN_TOGGL_DEFAULT", json.dumps(basic_connection(server, password, max_retries=1))
    )
    hook = TogglHook()
    with capture_logs() as logs:
        ok, message = hook.test_connection()
    assert ok is False
    assert "500" in message
    texts = [("test_connection", message), *logs.texts("test_connection")]
    assert Scan(texts).leaks(password, EMAIL) == []

    from airflow.sdk._shared.secrets_masker import _secrets_masker  # the Task SDK's, as mask_secret uses

    masker = _secrets_masker()
    for name, form in echoed_forms(password, EMAIL).items():
        assert form not in masker.redact(f"echo: {form} :end"), (
            f"Airflow's masker let the {name} form through"
        )


# -- the reset code in a refused connection ---------------------------------------------------


def test_a_refused_reset_confirm_keeps_the_code_out_of_every_linked_exception() -> None:
    import socket
    import traceback

    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    client = TogglClient(
        ClientConfig(track_api_url=url, accounts_api_url=url, requests_per_second=0, max_retries=1),
        sleep=lambda _seconds: None,
    )
    code = RESET_CODES["plus and slash"]
    error, scan = scan_call(lambda: client.confirm_password_reset(code, PASSWORDS["tab"]))
    assert isinstance(error, TogglConnectionError)
    assert error.detail == "refused"
    assert isinstance(error.__cause__, ConnectionRefusedError)  # kept for debugging...
    linked: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is seen for seen in linked):
            continue
        linked.append(current)
        pending += [current.__cause__, current.__context__]
    texts = [(f"linked {type(e).__name__}", "".join(traceback.format_exception(e))) for e in linked]
    texts += [(f"args of {type(e).__name__}", repr(e.args)) for e in linked]
    assert Scan([*scan.texts, *texts]).leaks(code) == []  # ...without the code anywhere in the chain
    assert "password_reset/confirm/C0de" not in "".join(text for _, text in texts)


# -- the console of a task run by Airflow ------------------------------------------------------


@pytest.mark.timeout(300)
def test_a_task_console_carries_no_form_of_an_echoed_password(airflow_db: Any) -> None:
    """``airflow tasks test`` of the health check, email/password auth, 500s echoing every form.

    The console holds what the package wrote (the retry WARNING lines, the task's error) and what
    Airflow wrote around it; ``tasks test`` runs the task once, where ``dags test`` would wait out the
    DAG's retry delay.
    """
    from devkit.airflow import run_airflow

    password = PASSWORDS["double quote"]
    with ScriptedServer([echo_script(500, password, EMAIL)]) as server:
        env = {"AIRFLOW_CONN_TOGGL_DEFAULT": json.dumps(basic_connection(server, password, max_retries=2))}
        result = run_airflow(
            "tasks",
            "test",
            "toggl_credentials_health",
            "check_credentials",
            env=env,
            check=False,
            timeout=240,
        )
    console = result.stdout + result.stderr
    assert len(server.requests) == 3  # the task ran, and every answer echoed the password
    assert "Toggl answered GET /api/v9/me/logged with 500" in console
    assert console.count("attempt") >= 2  # the retry WARNING lines are there to scan
    assert Scan([("tasks test console", console)]).leaks(password, EMAIL) == []
