"""Toggl's behaviour: authentication, the leaky bucket, the hourly quota and each endpoint.

Both services live here side by side because their paths do not collide: the accounts paths
(``/api/sessions``, ``/api/signup``, ``/api/me/...``) and the Track v9 paths (``/api/v9/...``).
Every method expects the caller to hold ``state.lock``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_toggl.emulator.api import Failure, Params, Route, Router, TrackApi
from airflow_toggl.emulator.entries import TimeEntries
from airflow_toggl.emulator.quotas import Quotas
from airflow_toggl.emulator.reports import Reports
from airflow_toggl.emulator.request import SESSION_COOKIE, Request, allowed_methods, handler_for
from airflow_toggl.emulator.resources import RESOURCES, BadInput
from airflow_toggl.emulator.responses import (
    Response,
    empty,
    error,
    http_date,
    json_response,
    method_not_allowed,
    not_found_page,
    too_many_requests,
)
from airflow_toggl.emulator.state import EmulatorState, SessionRecord, User, iso_timestamp
from airflow_toggl.emulator.store import Store
from airflow_toggl.emulator.tokens import SessionSigner

RESET_CONFIRM_PREFIX = "/api/me/password_reset/confirm/"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_FORBIDDEN = "authentication failed"


@dataclass(frozen=True)
class Credential:
    """Who a request claims to be: the kind of credential sent and the account it proved."""

    kind: str  # "token", "basic", "session" or "none"
    user: User | None = None
    session: SessionRecord | None = None

    def label(self) -> str:
        """``kind:email`` for the counters (``-`` when no account was proved); never a secret."""
        return f"{self.kind}:{self.user.email if self.user else '-'}"


Handler = Callable[[Request, Credential], Response]


class TogglApp:
    """Answers requests to the emulated accounts and Track services."""

    def __init__(self, state: EmulatorState, signer: SessionSigner) -> None:
        """Bind the routes to ``state`` and the session ``signer``."""
        self.state = state
        self.signer = signer
        self.store = Store(state)
        self.quotas = Quotas(state, self.store)
        api = TrackApi(self.store)
        self.entries = TimeEntries(api)
        me = [
            Route("/api/v9/me", {"GET": self.me}),
            Route("/api/v9/me/logged", {"GET": self.logged}),
            Route("/api/v9/me/quota", {"GET": self.quota}),
            Route("/api/v9/me/reset_token", {"POST": self.reset_token}),
        ]
        self.router = Router(me + api.routes() + self.entries.routes() + Reports(self.store).routes())
        self.routes: dict[str, dict[str, Handler]] = {
            "/api/sessions": {"POST": self.create_session, "DELETE": self.delete_session},
            "/api/signup": {"POST": self.signup},
            "/api/me/close_account/track": {"POST": self.close_account},
            "/api/me/password_reset/request": {"POST": self.request_password_reset},
        }

    # Authentication ----------------------------------------------------------------------

    def identify(self, request: Request) -> Credential:
        """Resolve the request's credential.

        When both an Authorization header and a session cookie are sent, the Authorization
        header is the credential and the cookie is ignored: it is the one the client chose
        explicitly, and a broken header must fail (403) rather than be hidden by a cookie.
        """
        if request.authorization is not None:
            return self._basic(request.authorization)
        cookie = request.session_cookie()
        if cookie is not None:
            return self._session(cookie)
        return Credential("none")

    def _basic(self, header: str) -> Credential:
        """HTTP Basic with ``email:password`` or ``<api_token>:api_token``."""
        scheme, _, encoded = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return Credential("basic")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return Credential("basic")
        name, sep, rest = decoded.partition(":")
        if not sep:
            return Credential("basic")
        if rest == "api_token":
            user = self.state.find_by_token(name)
            if user is not None:
                return Credential("token", user)
        user = self._check_password(name, rest)
        if user is not None:
            return Credential("basic", user)
        return Credential("token" if rest == "api_token" else "basic")

    def _check_password(self, email: str, password: str) -> User | None:
        """The open account if ``password`` is its password."""
        user = self.state.find_by_email(email)
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            return None
        return user

    def _session(self, cookie: str) -> Credential:
        """A session cookie: valid signature, within nbf/exp, and its jti still live."""
        record = self.live_record(cookie)
        if record is None:
            return Credential("session")
        return Credential("session", self.state.users[record.user_id], record)

    def live_record(self, cookie: str) -> SessionRecord | None:
        """The live session a cookie stands for, or ``None``."""
        claims = self.signer.verify(cookie)
        now = self.state.now()
        if claims is None or not claims["nbf"] <= now < claims["exp"]:
            return None
        record = self.state.live_session(str(claims.get("jti")), now)
        if record is None or self.state.users[record.user_id].toggl_accounts_id != claims.get("sub"):
            return None
        return record

    def issue_session(self, user: User) -> tuple[str, str]:
        """Create a session for ``user``; return the cookie value and its ``Set-Cookie`` header."""
        config = self.state.config
        token, claims = self.signer.issue(
            user.toggl_accounts_id, int(self.state.now()), config.session_ttl, config.cookie_style
        )
        self.state.sessions[claims["jti"]] = SessionRecord(claims["jti"], user.id, claims["exp"], token)
        set_cookie = (
            f"{SESSION_COOKIE}={token}; Path=/; Expires={http_date(claims['exp'])}; "
            f"Max-Age={config.session_ttl}; HttpOnly; Secure; SameSite=Lax"
        )
        return token, set_cookie

    # Dispatch ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Rate limit, route, authenticate, meter and answer one request."""
        credential = self.identify(request)
        limited = self._rate_limit(request, credential)
        if limited is not None:
            return limited
        found = self.router.match(request.path)
        if found is not None:
            return self._track(request, credential, *found)
        handlers = self._handlers(request.path)
        if handlers is None:
            return not_found_page()
        handler = handler_for(handlers, request.method)
        if handler is None:
            return method_not_allowed(allowed_methods(handlers))
        return handler(request, credential)

    def _track(self, request: Request, credential: Credential, route: Route, params: Params) -> Response:
        """A Track or Reports request: authenticated, counted against its quota, with the quota headers."""
        action = handler_for(route.actions, request.method)
        if action is None:
            return method_not_allowed(allowed_methods(route.actions))
        user = credential.user
        if user is None:
            return error(403, _FORBIDDEN)
        self.store.ensure(user)
        scope, admitted = self.quotas.admit(request.path, user)
        if not admitted:
            response = self.quotas.refusal()
        else:
            try:
                response = action(request, user, params)
            except BadInput as problem:
                response = error(400, str(problem))
            except Failure as failure:
                response = error(failure.status, str(failure))
        response.headers += self.quotas.headers(scope, user)
        return response

    def _handlers(self, path: str) -> dict[str, Handler] | None:
        """The handlers of an accounts path, including the reset-confirm path with its code."""
        if path.startswith(RESET_CONFIRM_PREFIX) and len(path) > len(RESET_CONFIRM_PREFIX):
            return {"POST": self.confirm_password_reset}
        return self.routes.get(path)

    def _rate_limit(self, request: Request, credential: Credential) -> Response | None:
        """The leaky bucket per (identity, client IP); a 429 when it overflows."""
        config = self.state.config
        settings = config.bucket()
        if settings is None:
            return None
        rps, capacity, tolerance = settings
        now = self.state.now()
        bucket = self.state.bucket((*self._bucket_identity(request, credential), request.client_ip))
        wait = bucket.offer(now, rps, capacity, tolerance)
        if wait is None:
            return None
        self.state.counters.rate_limited += 1
        retry_after = config.rate_limit_retry_after
        if retry_after is None:
            return too_many_requests(None)
        if retry_after == "http-date":
            return too_many_requests(http_date(now + max(1, math.ceil(wait))))
        return too_many_requests(str(math.ceil(float(retry_after))))

    def _bucket_identity(self, request: Request, credential: Credential) -> tuple[str, ...]:
        """Whom a bucket counts: the proved account, or the credential exactly as sent.

        Per account, every credential of one account (token, password, each session cookie)
        shares a bucket and unproved requests share an anonymous one. Per credential, each
        distinct Authorization header or session cookie has its own bucket, valid or not. The
        credential is kept only as a digest.
        """
        if self.state.config.rate_limit_key == "account":
            return ("account", str(credential.user.id)) if credential.user else ("anonymous",)
        sent = request.authorization if request.authorization is not None else request.session_cookie()
        if sent is None:
            return ("anonymous",)
        return ("credential", hashlib.sha256(sent.encode("utf-8", "surrogateescape")).hexdigest())

    # Track API ---------------------------------------------------------------------------

    def user_json(self, user: User) -> dict[str, Any]:
        """The ``/me`` shape of an account."""
        updated = iso_timestamp(user.updated_at)
        return {
            "id": user.id,
            "api_token": user.api_token,
            "email": user.email,
            "fullname": user.fullname,
            "timezone": user.timezone,
            "toggl_accounts_id": user.toggl_accounts_id,
            "default_workspace_id": user.default_workspace_id,
            "beginning_of_week": 1,
            "image_url": "https://assets.track.toggl.com/images/profile.png",
            "created_at": iso_timestamp(user.created_at),
            "updated_at": updated,
            "at": updated,
            "openid_email": None,
            "openid_enabled": False,
            "country_id": None,
            "has_password": True,
            "intercom_hash": user.intercom_hash,
            "oauth_providers": [],
            "authorization_updated_at": updated,
        }

    def me(self, request: Request, user: User, params: Params) -> Response:
        """``GET /api/v9/me``; ``with_related_data`` adds the user's workspaces, projects and the rest."""
        payload = self.user_json(user)
        if (request.query_value("with_related_data") or "").lower() in ("true", "1"):
            workspaces = self.store.workspaces_of(user)
            payload["workspaces"] = [RESOURCES["workspaces"].render(w) for w in workspaces]
            for name in ("clients", "projects", "tags", "tasks"):
                records = [r for w in workspaces for r in self.store.records(name, w["id"])]
                payload[name] = [
                    RESOURCES[name].render(r) for r in sorted(records, key=RESOURCES[name].sort_key)
                ]
            payload["time_entries"] = [RESOURCES["time_entries"].render(r) for r in self.entries.mine(user)]
        return json_response(200, payload)

    def logged(self, request: Request, user: User, params: Params) -> Response:
        """``GET /api/v9/me/logged``: 200 with an empty body when the credentials work."""
        return empty(200)

    def quota(self, request: Request, user: User, params: Params) -> Response:
        """``GET /api/v9/me/quota``: each organization's quota and the user's (an empty list when quotas are off)."""
        return json_response(200, self.quotas.listing(user))

    def reset_token(self, request: Request, user: User, params: Params) -> Response:
        """``POST /api/v9/me/reset_token``: a new token as a JSON string."""
        return json_response(200, self.state.reset_token(user))

    # Accounts ----------------------------------------------------------------------------

    def create_session(self, request: Request, credential: Credential) -> Response:
        """``POST /api/sessions`` with JSON email/password (or Basic email:password)."""
        data = request.json_object()
        if data is None:
            return error(400, "body must be a JSON object")
        if "email" in data or "password" in data:
            email, password = data.get("email"), data.get("password")
            user = None
            if isinstance(email, str) and isinstance(password, str):
                user = self._check_password(email, password)
        else:
            # Only a password proves enough to open a session: an API token never does.
            user = credential.user if credential.kind == "basic" else None
        if user is None:
            return error(403, _FORBIDDEN)
        _, set_cookie = self.issue_session(user)
        return json_response(200, {}, [("Set-Cookie", set_cookie)])

    def delete_session(self, request: Request, credential: Credential) -> Response:
        """``DELETE /api/sessions``: ends the session named by the cookie."""
        if credential.kind != "none" and credential.user is None:
            return error(403, _FORBIDDEN)
        cookie = request.session_cookie()
        record = self.live_record(cookie) if cookie is not None else None
        if record is None:
            return error(403, _FORBIDDEN)
        record.deleted = True
        return json_response(200, {})

    def signup(self, request: Request, credential: Credential) -> Response:
        """``POST /api/signup``: a new account and a session for it."""
        data = request.json_object()
        if data is None:
            return error(400, "body must be a JSON object")
        problem = _signup_problem(data)
        if problem is not None:
            return error(400, problem)
        if self.state.find_by_email(data["email"]) is not None:
            return error(400, "email is already taken")
        user = self.state.add_user(
            data["email"],
            data["password"],
            fullname=data.get("display_name") or None,
            timezone=data.get("timezone") or "UTC",
        )
        _, set_cookie = self.issue_session(user)
        return json_response(201, self.user_json(user), [("Set-Cookie", set_cookie)])

    def close_account(self, request: Request, credential: Credential) -> Response:
        """``POST /api/me/close_account/track``: session cookie only."""
        if credential.kind != "session" or credential.user is None:
            return error(403, _FORBIDDEN)
        self.state.close_account(credential.user)
        return json_response(200, {})

    def request_password_reset(self, request: Request, credential: Credential) -> Response:
        """``POST /api/me/password_reset/request``: 200 whether or not the account exists."""
        data = request.json_object()
        if data is None or not isinstance(data.get("email"), str):
            return error(400, "email is required")
        user = self.state.find_by_email(data["email"])
        if user is not None:
            self.state.issue_reset_code(user)
        return json_response(200, {})

    def confirm_password_reset(self, request: Request, credential: Credential) -> Response:
        """``POST /api/me/password_reset/confirm/<code>``: new password, new session."""
        data = request.json_object()
        password = data.get("password") if data is not None else None
        if not isinstance(password, str) or not password:
            return error(400, "password is required")
        user = self.state.redeem_reset_code(request.path[len(RESET_CONFIRM_PREFIX) :])
        if user is None:
            return error(400, "invalid or used password reset code")
        user.password = password
        user.updated_at = self.state.now()
        _, set_cookie = self.issue_session(user)
        return json_response(200, {}, [("Set-Cookie", set_cookie)])


def _signup_problem(data: dict[str, Any]) -> str | None:
    """Why a signup body is refused, or ``None`` when it is acceptable."""
    email, password = data.get("email"), data.get("password")
    if not isinstance(email, str) or not _EMAIL.fullmatch(email):
        return "email is missing or invalid"
    if not isinstance(password, str) or not password:
        return "password is missing or invalid"
    for name in ("display_name", "timezone", "tos_accepted_for"):
        if name in data and not isinstance(data[name], str):
            return f"{name} must be a string"
    if "remember_me" in data and not isinstance(data["remember_me"], bool):
        return "remember_me must be a boolean"
    return None
