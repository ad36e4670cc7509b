"""No secret in any error: its text, repr, traceback, chained causes and pickled form."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglConnectionError,
    TogglError,
    TogglIdentityMismatchError,
    TogglPlanError,
    TogglQuotaExceededError,
    TogglRateLimitError,
    TogglResponseError,
)
from devkit.airflow_cluster import find_leaks
from devkit.doubles import MemoryVariables
from tests.support.secrets_scan import (
    HOOK_EMAIL,
    HOOK_NEW_PASSWORD,
    HOOK_PASSWORD,
    HOOK_TOKEN,
    OTHER_EMAIL,
    OTHER_PASSWORD,
    SIGNUP_EMAIL,
    SIGNUP_PASSWORD,
    STORE_KEY,
    WRONG_PASSWORD,
    WRONG_TOKEN,
    Bench,
    Ledger,
    SecretBook,
    assert_no_leaks,
    capture_logs,
    exception_texts,
    provoke,
    scan_error,
)

pytestmark = pytest.mark.timeout(600)


# -- 4. error paths ----------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _inject(bench: Bench, path: str, **fault: Any) -> None:
    bench.emulator.inject_fault(path, **fault)


def _confirm_with_fault(bench: Bench, **fault: Any) -> None:
    code = bench.reset_code()
    hook = bench.hook(max_retries=0, **fault.pop("extra", {}))
    _inject(bench, f"/api/me/password_reset/confirm/{code}", method="POST", **fault)
    hook.confirm_password_reset(code, HOOK_NEW_PASSWORD)


def _echo(what: str) -> dict[str, Any]:
    """An error body that repeats part of the request, as some gateways and debug pages do."""
    return {"message": f"internal; echo {what}"}


def _case_wrong_token(bench: Bench) -> None:
    bench.book.add("mistyped api token", WRONG_TOKEN)
    bench.hook(api_token=WRONG_TOKEN).get_me()


def _case_wrong_password_basic(bench: Bench) -> None:
    bench.book.add("mistyped password", WRONG_PASSWORD)
    bench.hook(user={**bench.user, "password": WRONG_PASSWORD}, auth_mode="basic").get_me()


def _case_wrong_password_session_create(bench: Bench) -> None:
    bench.book.add("mistyped password", WRONG_PASSWORD)
    bench.hook(user={**bench.user, "password": WRONG_PASSWORD}).create_session()


def _case_deleted_session(bench: Bench) -> None:
    session = bench.session()
    bench.hook().delete_session(session)
    bench.hook(session_cookie=session.cookie).get_me()


def _case_close_with_dead_session(bench: Bench) -> None:
    session = bench.session()
    hook = bench.hook()
    hook.delete_session(session)
    hook.close_account(session)


def _case_429(bench: Bench) -> None:
    _inject(bench, "/api/v9/me", count=None, status=429, headers={"Retry-After": "0"})
    bench.hook().get_me()


def _case_429_html(bench: Bench) -> None:
    page = f"<html><body>Too many requests for {HOOK_TOKEN} / {bench.user['password']}</body></html>"
    headers = {"Retry-After": "0", "Content-Type": "text/html"}
    _inject(bench, "/api/v9/me", count=None, status=429, headers=headers, body=page)
    bench.hook().get_me()


def _case_402_quota(bench: Bench) -> None:
    headers = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "1200"}
    _inject(bench, "/api/v9/me", status=402, headers=headers)
    bench.hook(max_quota_wait=30).get_me()


def _case_402_plan(bench: Bench) -> None:
    _inject(bench, "/api/v9/me/reset_token", status=402, body={"error": f"plan; token {HOOK_TOKEN}"})
    bench.hook().reset_api_token()


def _case_500_echo_token(bench: Bench) -> None:
    _inject(bench, "/api/v9/me", status=500, body={"message": f"internal; echo {HOOK_TOKEN}"})
    bench.hook(max_retries=0).get_me()


def _case_500_echo_session_body(bench: Bench) -> None:
    body = {"error": "internal", "echo": {"email": HOOK_EMAIL, "password": bench.user["password"]}}
    _inject(bench, "/api/sessions", method="POST", status=500, body=body)
    bench.hook().create_session()


def _case_500_echo_cookie(bench: Bench) -> None:
    session = bench.session()
    hook = bench.hook(session_cookie=session.cookie, max_retries=0)
    _inject(bench, "/api/v9/me", status=500, body=_echo(f"__Secure-accounts-session={session.cookie}"))
    hook.get_me()


def _case_500_echo_reset(bench: Bench) -> None:
    code = bench.reset_code()
    body = {"error": "internal", "path": f"/confirm/{code}", "password": HOOK_NEW_PASSWORD}
    _inject(bench, f"/api/me/password_reset/confirm/{code}", method="POST", status=500, body=body)
    bench.hook().confirm_password_reset(code, HOOK_NEW_PASSWORD)


def _case_502_html(bench: Bench) -> None:
    page = f"<html><body>Bad gateway; Cookie: {bench.session().cookie}</body></html>"
    _inject(bench, "/api/v9/me", status=502, headers={"Content-Type": "text/html"}, body=page)
    bench.hook(max_retries=0).get_me()


def _case_503_signup(bench: Bench) -> None:
    bench.book.add_password(SIGNUP_EMAIL, SIGNUP_PASSWORD)
    _inject(bench, "/api/signup", method="POST", status=503)
    bench.hook().signup(SIGNUP_EMAIL, SIGNUP_PASSWORD, "Leak Scan Signup")


def _case_503_retried(bench: Bench) -> None:
    _inject(bench, "/api/v9/me/logged", count=None, status=503, body="Service Unavailable")
    bench.hook(max_retries=1).is_logged_in()


def _case_timeout(bench: Bench) -> None:
    _inject(bench, "/api/v9/me", count=None, action="delay", delay=0.8)
    bench.hook(timeout=0.3, max_retries=0).get_me()


def _case_timeout_confirm(bench: Bench) -> None:
    _confirm_with_fault(bench, action="delay", delay=0.8, extra={"timeout": 0.3})


def _case_drop_session_create(bench: Bench) -> None:
    _inject(bench, "/api/sessions", method="POST", action="drop")
    bench.hook().create_session()


def _case_drop_mid_confirm(bench: Bench) -> None:
    _confirm_with_fault(bench, action="drop_mid_response", process=True)


def _case_truncated_me(bench: Bench) -> None:
    _inject(bench, "/api/v9/me", count=None, action="truncate", process=True)
    bench.hook(max_retries=1).get_me()


def _case_refused_confirm(bench: Bench) -> None:
    code = bench.reset_code()
    url = f"http://127.0.0.1:{closed_port()}"
    bench.hook(track_api_url=url, accounts_api_url=url, max_retries=0).confirm_password_reset(
        code, HOOK_NEW_PASSWORD
    )


def _case_tls(bench: Bench) -> None:
    secure = bench.factory(tls=True, cookie_style="no-eyj")
    user = secure.add_user(HOOK_EMAIL, HOOK_PASSWORD, api_token=HOOK_TOKEN)
    bench.hook(emulator=secure, user=user, verify=True).get_me()  # the system CAs: not the emulator's


def _case_tls_confirm(bench: Bench) -> None:
    secure = bench.factory(tls=True, cookie_style="no-eyj")
    code = bench.reset_code()  # a real code, mailed by the plain emulator; the handshake fails first
    bench.hook(emulator=secure, verify=True).confirm_password_reset(code, HOOK_NEW_PASSWORD)


def _case_malformed_me(bench: Bench) -> None:
    me = bench.hook().get_me()
    broken = (
        json.dumps({"api_token": me["api_token"], "intercom_hash": me["intercom_hash"]})[:-1] + ', "id": '
    )
    _inject(bench, "/api/v9/me", status=200, headers={"Content-Type": "application/json"}, body=broken)
    bench.hook().get_me()


def _case_malformed_token_reset(bench: Bench) -> None:
    _inject(bench, "/api/v9/me/reset_token", method="POST", action="malformed_json", process=True)
    bench.hook().reset_api_token()


def _case_identity_mismatch(bench: Bench) -> None:
    from airflow_toggl.sessions.rotation import SessionRotator
    from airflow_toggl.sessions.store import SessionStore

    other = bench.emulator.add_user(OTHER_EMAIL, OTHER_PASSWORD)
    bench.book.add_user(bench.emulator, other)
    hook = bench.hook(user=other)
    store = SessionStore(STORE_KEY, variables=MemoryVariables())
    SessionRotator(hook, store, expected_email=HOOK_EMAIL).create()


@dataclass(frozen=True)
class ErrorCase:
    """How to make one error, what it must be, and a public text its message must contain."""

    name: str
    provoke: Callable[[Bench], None]
    expected: type[TogglError]
    marker: str


ERROR_CASES = (
    ErrorCase("403 refused API token", _case_wrong_token, TogglAuthError, "GET /api/v9/me"),
    ErrorCase("403 refused password (basic)", _case_wrong_password_basic, TogglAuthError, "GET /api/v9/me"),
    ErrorCase(
        "403 refused password on session create",
        _case_wrong_password_session_create,
        TogglAuthError,
        "POST /api/sessions",
    ),
    ErrorCase("403 deleted session cookie", _case_deleted_session, TogglAuthError, "GET /api/v9/me"),
    ErrorCase(
        "403 close account with a dead session",
        _case_close_with_dead_session,
        TogglAuthError,
        "close_account",
    ),
    ErrorCase("429 after every retry", _case_429, TogglRateLimitError, "(429)"),
    ErrorCase("429 with an HTML body", _case_429_html, TogglRateLimitError, "(429)"),
    ErrorCase("402 hourly quota used up", _case_402_quota, TogglQuotaExceededError, "resets in 1200s"),
    ErrorCase("402 plan lacks the feature", _case_402_plan, TogglPlanError, "plan does not include it"),
    ErrorCase("500 body echoing the API token", _case_500_echo_token, TogglAPIError, "internal; echo ***"),
    ErrorCase(
        "500 body echoing the session create body",
        _case_500_echo_session_body,
        TogglAPIError,
        "answer is not quoted",
    ),
    ErrorCase(
        "500 body echoing the session cookie",
        _case_500_echo_cookie,
        TogglAPIError,
        "internal; echo __Secure-accounts-session=***",
    ),
    ErrorCase(
        "500 body echoing reset code and new password",
        _case_500_echo_reset,
        TogglAPIError,
        "answer is not quoted",
    ),
    ErrorCase("502 HTML page quoting the cookie", _case_502_html, TogglAPIError, "with 502"),
    ErrorCase("503 on signup (sent once)", _case_503_signup, TogglAPIError, "POST /api/signup with 503"),
    ErrorCase("503 on every retry", _case_503_retried, TogglAPIError, "Service Unavailable"),
    ErrorCase("read timeout", _case_timeout, TogglConnectionError, "(read timeout)"),
    ErrorCase("read timeout on reset confirm", _case_timeout_confirm, TogglConnectionError, "confirm/<code>"),
    ErrorCase("dropped on session create", _case_drop_session_create, TogglConnectionError, "(dropped"),
    ErrorCase(
        "dropped mid-response on reset confirm",
        _case_drop_mid_confirm,
        TogglConnectionError,
        "confirm/<code>",
    ),
    ErrorCase("truncated /me body", _case_truncated_me, TogglConnectionError, "(dropped"),
    ErrorCase(
        "connection refused on reset confirm",
        _case_refused_confirm,
        TogglConnectionError,
        "connection refused by",
    ),
    ErrorCase("TLS verification failure", _case_tls, TogglConnectionError, "TLS verification failed"),
    ErrorCase("TLS failure on reset confirm", _case_tls_confirm, TogglConnectionError, "confirm/<code>"),
    ErrorCase("malformed JSON carrying secrets", _case_malformed_me, TogglResponseError, "not JSON"),
    ErrorCase(
        "malformed JSON after a token reset", _case_malformed_token_reset, TogglResponseError, "not JSON"
    ),
    ErrorCase("identity mismatch", _case_identity_mismatch, TogglIdentityMismatchError, OTHER_EMAIL),
)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in ERROR_CASES])
def test_error_path_leaks_nothing(case: ErrorCase, bench: Bench, book: SecretBook, ledger: Ledger) -> None:
    with capture_logs() as logs:
        error = provoke(lambda: case.provoke(bench))
    book.harvest(bench.emulator)
    assert type(error) is case.expected, repr(error)
    # Positive control: the message says what failed (and, for echoed bodies, shows the redaction).
    assert case.marker in str(error), str(error)
    assert_no_leaks(scan_error(error, case.name, logs, book, ledger))


def test_identity_mismatch_names_both_emails(bench: Bench) -> None:
    """The one error that quotes values: emails and ids, never a credential."""
    error = provoke(lambda: _case_identity_mismatch(bench))
    assert isinstance(error, TogglIdentityMismatchError)
    assert (error.field, error.expected, error.actual) == ("email", HOOK_EMAIL, OTHER_EMAIL)


def test_secrets_held_by_errors_in_memory_are_never_rendered(bench: Bench, book: SecretBook) -> None:
    """Where secrets do sit in an error's object graph, no rendering or pickle reaches them.

    A network error chains a bare copy of its root cause (``ConnectionRefusedError`` here) and no
    context, so the requests exception, whose message names the URL and with it the reset code, is
    gone. An HTTP error keeps its ``response``, whose request carries the Authorization header, for
    code that digs for it; tracebacks, structlog and pickle leave it out.
    """
    code = bench.reset_code()
    url = f"http://127.0.0.1:{closed_port()}"
    refused = provoke(
        lambda: bench.hook(track_api_url=url, accounts_api_url=url, max_retries=0).confirm_password_reset(
            code, HOOK_NEW_PASSWORD
        )
    )
    assert refused.__context__ is None
    assert isinstance(refused.__cause__, ConnectionRefusedError)
    assert refused.__cause__.__context__ is None
    assert code not in repr(refused.__cause__.args)
    forbidden = provoke(lambda: bench.hook(api_token=WRONG_TOKEN).get_me())
    assert forbidden.response is not None
    sent = forbidden.response.request.headers["Authorization"]
    assert sent.startswith("Basic ")
    book.add("reset code", code)
    book.add("Authorization header sent", sent)
    texts = exception_texts(refused, "refused confirm") + exception_texts(forbidden, "403")
    assert_no_leaks(find_leaks(texts, book.values))


def test_retry_warnings_are_logged_and_clean(bench: Bench, book: SecretBook) -> None:
    """The retry path writes a warning per retry; the scan covers those records."""
    with capture_logs() as logs:
        provoke(lambda: _case_429(bench))
    warnings = [text for text in logs.of("airflow_toggl.client.sender") if text.startswith("WARNING")]
    assert len(warnings) == 2
    assert_no_leaks(find_leaks(logs.texts("429"), book.values))


def test_error_body_echoing_the_authorization_header(bench: Bench, book: SecretBook) -> None:
    from devkit.airflow_cluster import basic_credentials

    header = f"Basic {basic_credentials(HOOK_TOKEN, 'api_token')}"
    _inject(bench, "/api/v9/me", status=500, body={"error": "internal", "authorization": header})
    error = provoke(lambda: bench.hook(max_retries=0).get_me())
    assert "internal" in str(error)
    assert_no_leaks(find_leaks(exception_texts(error, "echoed Authorization"), book.values))
