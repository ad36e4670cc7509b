"""The client methods of the matrix: each with the request it sends, the state it needs and a check of its answer.

Each hook method is a one-line delegate of one of these, so the hook meets the same policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_toggl.client import ApiTokenAuth, TogglAuth, TogglClient, TogglSession
from airflow_toggl.emulator import TogglEmulator

PASSWORD = "pw-Fault-Matrix-1"
NEW_PASSWORD = "pw-Fault-Matrix-2"
RESET_CONFIRM_PREFIX = "/api/me/password_reset/confirm/"


@dataclass
class Stage:
    """What a method's set-up works with: the emulator that will answer, its user, a plain client."""

    emulator: TogglEmulator
    user: dict[str, Any]
    slug: str
    setup: TogglClient


@dataclass
class Prepared:
    """One call ready to run: the request path it sends, its credential, the call, and its check.

    ``check`` looks at a successful result (and at the emulator) and says what is wrong, if anything.
    """

    path: str
    auth: TogglAuth | None
    call: Callable[[TogglClient], Any]
    check: Callable[[Any], str | None]


@dataclass(frozen=True)
class Method:
    """A client method (each hook method is a one-line delegate of it) and what the policy needs of it."""

    name: str
    http_method: str
    path: str
    prepare: Callable[[Stage], Prepared]
    idempotent: bool = False  # the table's "state-changing" unless said otherwise
    parses_body: bool = False  # reads the JSON body (a malformed one is a TogglResponseError)
    false_on_403: bool = False  # answers a 403 with False instead of raising TogglAuthError

    @property
    def kind(self) -> str:
        return "idempotent" if self.idempotent else "state-changing"


def _expect(condition: bool, problem: str) -> str | None:
    return None if condition else problem


def _token_auth(stage: Stage) -> ApiTokenAuth:
    return ApiTokenAuth(stage.user["api_token"])


def _prepare_get_me(stage: Stage) -> Prepared:
    email = stage.user["email"]
    return Prepared(
        "/api/v9/me",
        _token_auth(stage),
        lambda client: client.get_me(),
        lambda me: _expect(isinstance(me, dict) and me.get("email") == email, f"/me is not {email}: {me!r}"),
    )


def _prepare_is_logged_in(stage: Stage) -> Prepared:
    return Prepared(
        "/api/v9/me/logged",
        _token_auth(stage),
        lambda client: client.is_logged_in(),
        lambda logged: _expect(logged is True, f"is_logged_in returned {logged!r}"),
    )


def _prepare_get_quota(stage: Stage) -> Prepared:
    return Prepared(
        "/api/v9/me/quota",
        _token_auth(stage),
        lambda client: client.get_quota(),
        lambda quota: _expect(isinstance(quota, list), f"quota is not a list: {quota!r}"),
    )


def _live_session(emulator: TogglEmulator, session: Any) -> bool:
    return isinstance(session, TogglSession) and emulator.is_session_live(session.cookie)


def _prepare_create_session(stage: Stage) -> Prepared:
    email, emulator = stage.user["email"], stage.emulator
    return Prepared(
        "/api/sessions",
        None,
        lambda client: client.create_session(email, PASSWORD),
        lambda session: _expect(_live_session(emulator, session), "no live session was returned"),
    )


def _prepare_delete_session(stage: Stage) -> Prepared:
    emulator = stage.emulator
    session = TogglSession.from_cookie(emulator.issue_session(stage.user["email"]))

    def check(deleted: Any) -> str | None:
        if deleted is not True:
            return f"delete_session returned {deleted!r}"
        return _expect(not emulator.is_session_live(session.cookie), "the session is still live")

    return Prepared("/api/sessions", None, lambda client: client.delete_session(session), check)


def _prepare_signup(stage: Stage) -> Prepared:
    emulator, email = stage.emulator, f"new-{stage.slug}@example.com"

    def check(session: Any) -> str | None:
        account = emulator.user(email)
        if account is None or account["closed"]:
            return "no open account was created"
        return _expect(_live_session(emulator, session), "signup returned no live session")

    return Prepared("/api/signup", None, lambda client: client.signup(email, PASSWORD, "New User"), check)


def _prepare_close_account(stage: Stage) -> Prepared:
    emulator, email = stage.emulator, stage.user["email"]
    session = TogglSession.from_cookie(emulator.issue_session(email))

    def check(result: Any) -> str | None:
        account = emulator.user(email) or {}
        return _expect(result is None and account.get("closed") is True, "the account is not closed")

    return Prepared("/api/me/close_account/track", None, lambda client: client.close_account(session), check)


def _prepare_request_password_reset(stage: Stage) -> Prepared:
    emulator, email = stage.emulator, stage.user["email"]

    def check(result: Any) -> str | None:
        mailed = len(emulator.outbox(email))
        return _expect(result is None and mailed == 1, f"{mailed} reset codes were mailed, not 1")

    return Prepared(
        "/api/me/password_reset/request",
        None,
        lambda client: client.request_password_reset(email),
        check,
    )


def _prepare_confirm_password_reset(stage: Stage) -> Prepared:
    emulator, email = stage.emulator, stage.user["email"]
    stage.setup.request_password_reset(email)
    code = emulator.outbox(email)[-1]

    def check(session: Any) -> str | None:
        if (emulator.user(email) or {}).get("password") != NEW_PASSWORD:
            return "the password was not changed"
        return _expect(_live_session(emulator, session), "no live session was returned")

    return Prepared(
        RESET_CONFIRM_PREFIX + code,
        None,
        lambda client: client.confirm_password_reset(code, NEW_PASSWORD),
        check,
    )


def _prepare_reset_api_token(stage: Stage, call: Callable[[TogglClient], Any] | None = None) -> Prepared:
    """``reset_api_token`` (or ``call``, the same reset by another road): the account's new token comes back."""
    emulator, email, old = stage.emulator, stage.user["email"], stage.user["api_token"]

    def check(token: Any) -> str | None:
        current = (emulator.user(email) or {}).get("api_token")
        return _expect(token == current and token != old, "the returned token is not the account's new token")

    return Prepared(
        "/api/v9/me/reset_token", _token_auth(stage), call or (lambda client: client.reset_api_token()), check
    )


def _prepare_request_get(stage: Stage) -> Prepared:
    workspace_id = stage.user["default_workspace_id"]

    def check(workspaces: Any) -> str | None:
        ids = [w.get("id") for w in workspaces] if isinstance(workspaces, list) else workspaces
        return _expect(ids == [workspace_id], f"the workspaces are not [{workspace_id}]: {ids!r}")

    return Prepared(
        "/api/v9/me/workspaces",
        _token_auth(stage),
        lambda client: client.request("GET", "/api/v9/me/workspaces"),
        check,
    )


def _prepare_request_post(stage: Stage) -> Prepared:
    return _prepare_reset_api_token(stage, lambda client: client.request("POST", "/api/v9/me/reset_token"))


_TRACK, _ACCOUNTS = "/api/v9/me", "/api/me"
METHODS: tuple[Method, ...] = (
    Method("get_me", "GET", _TRACK, _prepare_get_me, idempotent=True, parses_body=True),
    Method(
        "is_logged_in", "GET", f"{_TRACK}/logged", _prepare_is_logged_in, idempotent=True, false_on_403=True
    ),
    Method("get_quota", "GET", f"{_TRACK}/quota", _prepare_get_quota, idempotent=True, parses_body=True),
    Method("create_session", "POST", "/api/sessions", _prepare_create_session),
    Method(
        "delete_session",
        "DELETE",
        "/api/sessions",
        _prepare_delete_session,
        idempotent=True,
        false_on_403=True,
    ),
    Method("signup", "POST", "/api/signup", _prepare_signup),
    Method("close_account", "POST", f"{_ACCOUNTS}/close_account/track", _prepare_close_account),
    Method(
        "request_password_reset",
        "POST",
        f"{_ACCOUNTS}/password_reset/request",
        _prepare_request_password_reset,
    ),
    Method(
        "confirm_password_reset", "POST", f"{RESET_CONFIRM_PREFIX}<code>", _prepare_confirm_password_reset
    ),
    Method("reset_api_token", "POST", f"{_TRACK}/reset_token", _prepare_reset_api_token, parses_body=True),
    # The generic request, once with a method retried as idempotent and once with one that is not.
    Method(
        "request_get", "GET", f"{_TRACK}/workspaces", _prepare_request_get, idempotent=True, parses_body=True
    ),
    Method("request_post", "POST", f"{_TRACK}/reset_token", _prepare_request_post, parses_body=True),
)
METHODS_BY_NAME: dict[str, Method] = {method.name: method for method in METHODS}
