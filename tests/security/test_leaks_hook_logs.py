"""No secret in the log lines of every hook method, captured at DEBUG without Airflow's masker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_toggl.exceptions import TogglAPIError, TogglConnectionError
from devkit.airflow_cluster import find_leaks
from tests.support.secrets_scan import (
    HOOK_EMAIL,
    HOOK_NEW_PASSWORD,
    HOOK_PASSWORD,
    SIGNUP_EMAIL,
    SIGNUP_PASSWORD,
    STORE_KEY,
    WRONG_TOKEN,
    Bench,
    Ledger,
    SecretBook,
    assert_no_leaks,
    capture_logs,
    exception_texts,
    provoke,
)

pytestmark = pytest.mark.timeout(600)


# -- 3. hook methods at DEBUG ------------------------------------------------------------------


def test_log_capture_is_not_masked() -> None:
    """The capture shows what the code emits: a value registered with Airflow's masker still shows."""
    import logging

    from airflow.sdk.log import mask_secret

    canary = "canary-Vb7nM2xK9"
    mask_secret(canary)
    with capture_logs() as logs:
        logging.getLogger("airflow_toggl.client.sender").debug("value %s", canary)
        logging.getLogger("urllib3.connectionpool").debug("value %s", canary)
    assert [canary in text for _, text in logs.records] == [True, True]


def test_every_hook_method_at_debug_emits_no_secret(
    bench: Bench, book: SecretBook, masked: list[Any], ledger: Ledger
) -> None:
    """All twelve methods, through all three kinds of credentials, with DEBUG records captured."""
    results: list[tuple[str, object]] = []
    store_value = {"version": 1, "session_token": "", "stale_session_tokens": []}
    with capture_logs() as logs:
        hook = bench.hook()
        results.append(
            ("get_me: public fields", {k: v for k, v in hook.get_me().items() if k in ("id", "email")})
        )
        results += [("is_logged_in", hook.is_logged_in()), ("get_quota", hook.get_quota())]
        results.append(("test_connection", hook.test_connection()))
        basic = bench.hook(auth_mode="basic")
        results += [("basic get_me id", basic.get_me()["id"]), ("basic is_logged_in", basic.is_logged_in())]
        session = hook.create_session()
        results.append(("create_session", session))
        results.append(("identity_of", hook.identity_of(session)["email"]))
        by_cookie = bench.hook(session_cookie=session.cookie)
        results += [
            ("session get_me id", by_cookie.get_me()["id"]),
            ("session test", by_cookie.test_connection()),
        ]
        store_value["session_token"] = session.cookie
        bench.monkeypatch.setenv(f"AIRFLOW_VAR_{STORE_KEY.upper()}", json.dumps(store_value))
        stored = bench.hook(auth_mode="session", session_key=STORE_KEY)
        results += [
            ("stored session", stored.current_session()),
            ("stored is_logged_in", stored.is_logged_in()),
        ]
        results += [
            ("delete_session", hook.delete_session(session)),
            ("delete again", hook.delete_session(session)),
        ]
        signed_up = hook.signup(SIGNUP_EMAIL, SIGNUP_PASSWORD, "Leak Scan Signup")
        assert signed_up is not None
        book.add_password(SIGNUP_EMAIL, SIGNUP_PASSWORD)
        newcomer = hook.identity_of(signed_up)
        book.add(f"intercom_hash of {SIGNUP_EMAIL}", newcomer["intercom_hash"])
        results += [("signup", signed_up), ("close_account", hook.close_account(signed_up))]
        results.append(("request_password_reset", hook.request_password_reset(HOOK_EMAIL)))
        code = bench.emulator.outbox(HOOK_EMAIL)[-1]
        results.append(("confirm_password_reset", hook.confirm_password_reset(code, HOOK_NEW_PASSWORD)))
        results.append(("reset_api_token: type", type(hook.reset_api_token()).__name__))
        results += [("get_me after reset", hook.get_me()["id"]), ("is_logged_in after", hook.is_logged_in())]
        refused = bench.hook(api_token=WRONG_TOKEN)
        results.append(("test_connection refused", refused.test_connection()))
    book.add("mistyped api token", WRONG_TOKEN)
    book.harvest(bench.emulator)

    records = dict(logs.texts("hook methods"))
    outputs = {f"hook result {name}": f"{value!r} {value!s}" for name, value in results}
    # Positive controls: the client's and urllib3's DEBUG records are there, and so is a public value.
    assert any("Toggl POST /api/sessions -> 200" in text for text in records.values())
    assert any('"GET /api/v9/me HTTP/1.1" 200' in text for text in records.values())
    assert find_leaks(outputs.items(), {"email": HOOK_EMAIL})
    assert results[-1][1][0] is False
    assert len(book.names_of("session cookie")) == 3  # create_session, signup, confirm_password_reset
    assert len(book.names_of(f"api_token of {HOOK_EMAIL}")) == 2

    leaks = ledger.scan("hook methods: log records at DEBUG", records.items(), book, unit="records")
    leaks += ledger.scan("hook methods: results", outputs.items(), book, unit="texts")
    assert_no_leaks(leaks)

    # Masking is the second line: every secret the hook met was handed to Airflow's masker.
    handed = {value for value in masked if isinstance(value, str)}
    assert sorted(name for name, value in book.raw_values().items() if value not in handed) == []


def test_generic_requests_at_debug_emit_no_secret(
    bench: Bench, book: SecretBook, masked: list[Any], ledger: Ledger
) -> None:
    """``request`` and ``paginate`` on every kind of answer that carries a secret, DEBUG records captured.

    ``/me`` (``api_token``, ``intercom_hash``), a session made through the accounts service (its
    ``Set-Cookie`` and the password in the body), a reset confirmed with the code in the path, a
    token reset (the answer is the token) and a refused call. What a task would return goes through
    ``without_secrets`` first, as ``TogglApiOperator`` does.
    """
    bench.emulator.add_time_entries(HOOK_EMAIL, start="2026-11-23T00:00:00Z", count=5)
    search = f"/reports/api/v3/workspace/{bench.user['default_workspace_id']}/search/time_entries"
    results: list[tuple[str, object]] = []
    with capture_logs() as logs:
        hook = bench.hook()
        results.append(("request /me", hook.without_secrets(hook.request("GET", "/api/v9/me"))))
        rows = hook.paginate(
            search, style="rows", json={"start_date": "2026-11-23", "end_date": "2026-11-29"}, page_size=2
        )
        results.append(("paginate rows", hook.without_secrets(list(rows))))
        credentials = {"email": HOOK_EMAIL, "password": HOOK_PASSWORD}
        results.append(
            ("session", hook.request("POST", "/api/sessions", service="accounts", json=credentials))
        )
        hook.request("POST", "/api/me/password_reset/request", service="accounts", json={"email": HOOK_EMAIL})
        code = bench.emulator.outbox(HOOK_EMAIL)[-1]
        confirm = f"/api/me/password_reset/confirm/{code}"
        answer = hook.request("POST", confirm, service="accounts", json={"password": HOOK_NEW_PASSWORD})
        results.append(("confirm", answer))
        with pytest.raises(TogglAPIError) as refused:
            hook.request("POST", confirm, service="accounts", json={"password": HOOK_NEW_PASSWORD})
        results.append(("confirm again", f"{refused.value} {refused.value!r}"))
        results.append(("reset_token", hook.without_secrets(hook.request("POST", "/api/v9/me/reset_token"))))
    book.harvest(bench.emulator)

    records = dict(logs.texts("generic requests"))
    outputs = {f"generic result {name}": f"{value!r} {value!s}" for name, value in results}
    assert any("Toggl POST /api/me/password_reset/confirm/<code> -> 200" in text for text in records.values())
    assert find_leaks(outputs.items(), {"email": HOOK_EMAIL})
    assert len(book.names_of("session cookie")) == 2  # the session request and the confirmed reset
    assert len(book.names_of(f"api_token of {HOOK_EMAIL}")) == 2

    leaks = ledger.scan("generic requests: log records at DEBUG", records.items(), book, unit="records")
    leaks += ledger.scan("generic requests: results", outputs.items(), book, unit="texts")
    assert_no_leaks(leaks)
    handed = {value for value in masked if isinstance(value, str)}
    assert sorted(name for name, value in book.raw_values().items() if value not in handed) == []


def test_reset_code_stays_out_of_debug_logs(bench: Bench, book: SecretBook) -> None:
    hook = bench.hook()
    code = bench.reset_code()
    with capture_logs() as logs:
        hook.confirm_password_reset(code, HOOK_NEW_PASSWORD)
    book.harvest(bench.emulator)
    assert any(
        "[urllib3.connectionpool]" in text and "/api/me/password_reset/confirm/*** HTTP/1.1" in text
        for _, text in logs.records
    )
    assert_no_leaks(find_leaks(logs.texts("confirm_password_reset"), book.values))


def test_reset_code_stays_out_of_warning_logs(bench: Bench, book: SecretBook) -> None:
    """A response whose headers are cut short, a case urllib3 warns about naming the URL, is a dropped
    connection: the client stops at the cut, before urllib3 would parse (and warn about) the headers."""
    code = bench.reset_code()
    hook = bench.hook(max_retries=0)
    bench.emulator.inject_fault(
        f"/api/me/password_reset/confirm/{code}", method="POST", action="drop_mid_response", process=True
    )
    with capture_logs() as logs:
        error = provoke(lambda: hook.confirm_password_reset(code, HOOK_NEW_PASSWORD))
    assert isinstance(error, TogglConnectionError)
    assert error.detail == "headers_cut_off"
    records = logs.texts("confirm")
    assert any("password_reset/confirm/***" in text for _, text in records)  # the records were read
    assert not any("[urllib3.connection]" in text for _, text in records if not text.startswith("DEBUG"))
    assert_no_leaks(
        find_leaks([*records, *exception_texts(error, "confirm")], book.values | {"reset code": code})
    )
