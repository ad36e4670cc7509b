"""Test-side control of the emulator: ``Controller`` in Python, ``ControlApi`` over HTTP.

``Controller`` is the public surface: ``TogglEmulator`` is a ``Controller`` with a server around
it. ``ControlApi`` serves the same operations under ``/_emulator/`` so another process (an
Airflow task, a demo script) can seed users, inject faults and read counters of an emulator
started elsewhere. Control requests are never counted, limited, metered or faulted.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from airflow_toggl.emulator.app import TogglApp
from airflow_toggl.emulator.faults import Fault, make_fault
from airflow_toggl.emulator.quotas import USER_SCOPE
from airflow_toggl.emulator.request import Request, allowed_methods, handler_for
from airflow_toggl.emulator.responses import Response, control_error, json_response, method_not_allowed
from airflow_toggl.emulator.seeding import DataControls
from airflow_toggl.emulator.state import Counters, EmulatorState, User

CONTROL_PREFIX = "/_emulator"


def parameter_names(function: Callable[..., Any]) -> tuple[str, ...]:
    """The named parameters of ``function`` (``self`` left out): the fields an HTTP body may carry."""
    return tuple(
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if name != "self" and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    )


# The HTTP bodies take exactly the parameters of the functions that own each signature.
_USER_FIELDS = parameter_names(EmulatorState.add_user)
_FAULT_FIELDS = parameter_names(make_fault)


class Controller(DataControls):
    """The operations tests use to arrange and inspect the emulator (seeding data among them)."""

    def __init__(self, state: EmulatorState, app: TogglApp) -> None:
        """Operate on ``state`` through ``app`` (for sessions)."""
        self.state = state
        self.app = app

    def add_user(self, email: str, password: str, **fields: Any) -> dict[str, Any]:
        """Create an account; return its record (id, api_token, toggl_accounts_id, ...).

        ``fields``: ``api_token``, ``fullname``, ``timezone``, ``default_workspace_id``, as
        ``EmulatorState.add_user`` takes them.
        """
        with self.state.lock:
            return self.state.add_user(email, password, **fields).record()

    def user(self, email: str) -> dict[str, Any] | None:
        """The newest account with that email, closed or not."""
        with self.state.lock:
            user = self.state.latest_by_email(email)
            return user.record() if user is not None else None

    def configure(self, **options: Any) -> dict[str, Any]:
        """Change limits, session lifetime or cookie style; return the settings now in force."""
        with self.state.lock:
            self.state.config.update(**options)
            return self.state.config.public()

    def inject_fault(self, path: str, **options: Any) -> Fault:
        """Make the next matching requests to ``path`` fail; ``options`` as ``make_fault`` takes them.

        ``method``, ``count`` (``None``: until cleared), ``action``, ``status``, ``headers``,
        ``body``, ``delay`` and ``process`` (apply the request, then lose or replace its answer).
        """
        fault = make_fault(path, **options)
        with self.state.lock:
            self.state.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        with self.state.lock:
            self.state.faults.clear()

    def counters(self) -> dict[str, Any]:
        """A snapshot of what was received and sent."""
        with self.state.lock:
            return self.state.counters.snapshot()

    def reset_counters(self) -> None:
        """Start counting from zero."""
        with self.state.lock:
            self.state.counters = Counters()

    def live_sessions(
        self, email: str | None = None, *, include_cookies: bool = False
    ) -> list[dict[str, Any]]:
        """Unexpired, undeleted sessions of open accounts (of one email when given).

        ``include_cookies`` adds each cookie value, so a leak check can search logs for it.
        """
        with self.state.lock:
            now = self.state.now()
            result = []
            for jti in list(self.state.sessions):
                record = self.state.live_session(jti, now)
                if record is None:
                    continue
                user = self.state.users[record.user_id]
                if email is not None and user.email.lower() != email.lower():
                    continue
                entry = {"jti": jti, "email": user.email, "user_id": user.id, "expires_at": record.expires_at}
                if include_cookies:
                    entry["cookie"] = record.cookie
                result.append(entry)
            return result

    def issued_sessions(self, email: str | None = None) -> list[dict[str, Any]]:
        """Every session ever issued (deleted and expired ones too), with its cookie value.

        For leak checks, which must look for old cookies as well as the live one.
        """
        with self.state.lock:
            now = self.state.now()
            result = []
            for jti, record in self.state.sessions.items():
                user = self.state.users[record.user_id]
                if email is not None and user.email.lower() != email.lower():
                    continue
                live = self.state.live_session(jti, now) is not None
                result.append(
                    {
                        "jti": jti,
                        "email": user.email,
                        "user_id": user.id,
                        "expires_at": record.expires_at,
                        "deleted": record.deleted,
                        "live": live,
                        "cookie": record.cookie,
                    }
                )
            return result

    def quota(self, email: str) -> dict[str, Any]:
        """The user quota of an account, without spending a request (``None`` values when off)."""
        with self.state.lock:
            entry = self.app.quotas.entry(USER_SCOPE, self._open_account(email))
            if entry is None:
                return {"organization_id": None, "remaining": None, "resets_in_secs": None, "total": None}
            return entry

    def quotas(self, email: str) -> list[dict[str, Any]]:
        """Every quota of an account as ``/me/quota`` lists them, without spending a request."""
        with self.state.lock:
            user = self._open_account(email)
            self.app.store.ensure(user)
            return self.app.quotas.listing(user)

    def _open_account(self, email: str) -> User:
        """The open account with that email; LookupError (the control API's 404) when none."""
        user = self.state.find_by_email(email)
        if user is None:
            raise LookupError("no open account with that email")
        return user

    def is_session_live(self, cookie_value: str) -> bool:
        """Whether a cookie value would authenticate right now."""
        with self.state.lock:
            return self.app.live_record(cookie_value) is not None

    def issue_session(self, email: str) -> str:
        """Open a session for an account directly (no request) and return the cookie value."""
        with self.state.lock:
            user = self.state.find_by_email(email)
            if user is None:
                raise ValueError("no open account with that email")
            token, _ = self.app.issue_session(user)
            return token

    def outbox(self, email: str) -> list[str]:
        """Password reset codes sent to ``email``, oldest first."""
        with self.state.lock:
            return list(self.state.outboxes.get(email.lower(), []))


_TIME_ENTRY_FIELDS = parameter_names(Controller.add_time_entries)
_SEED_FIELDS = parameter_names(Controller.seed)


class ControlApi:
    """The ``Controller``'s operations as HTTP routes under ``/_emulator/``."""

    def __init__(self, controller: Controller) -> None:
        """Serve ``controller``'s operations."""
        self.controller = controller
        self.routes: dict[str, dict[str, Callable[[Request], Response]]] = {
            "/health": {"GET": lambda r: json_response(200, {"status": "ok"})},
            "/users": {"GET": self._http_get_user, "POST": self._http_add_user},
            "/faults": {"POST": self._http_add_fault, "DELETE": self._http_clear_faults},
            "/counters": {"GET": lambda r: json_response(200, controller.counters())},
            "/counters/reset": {"POST": self._http_reset_counters},
            "/sessions": {"GET": self._http_sessions},
            "/quota": {"GET": _of_account(controller.quota)},  # the user quota
            "/outbox": {"GET": self._http_outbox},
            "/time_entries": {"POST": self._http_add_time_entries},
            "/quotas": {"GET": _of_account(controller.quotas)},  # every quota
            "/organizations": {"POST": self._http_add_organization},
            "/plan": {"POST": self._http_set_plan},
            "/workspaces": {"POST": self._http_add_workspace},
            "/records": {"POST": self._http_add_record},
            "/seed": {"POST": self._http_seed},
            "/config": {"GET": self._http_get_config, "POST": self._http_configure},
        }

    def handle(self, request: Request) -> Response:
        """Answer one ``/_emulator/...`` request."""
        handlers = self.routes.get(request.path[len(CONTROL_PREFIX) :].rstrip("/") or "/")
        if handlers is None:
            return control_error(404, "not found")
        handler = handler_for(handlers, request.method)
        if handler is None:
            return method_not_allowed(allowed_methods(handlers), control=True)
        try:
            return handler(request)
        except (TypeError, ValueError) as exc:
            return control_error(400, str(exc))

    def _http_add_user(self, request: Request) -> Response:
        """``POST /_emulator/users``: create an account."""
        data = _body(request, _USER_FIELDS)
        return json_response(
            201, self.controller.add_user(data.pop("email", None), data.pop("password", None), **data)
        )

    def _http_get_user(self, request: Request) -> Response:
        """``GET /_emulator/users?email=``: an account's record."""
        record = self.controller.user(request.query_value("email") or "")
        return json_response(200, record) if record is not None else control_error(404, "no such user")

    def _http_add_fault(self, request: Request) -> Response:
        """``POST /_emulator/faults``: queue a fault."""
        data = _body(request, _FAULT_FIELDS)
        return json_response(201, self.controller.inject_fault(data.pop("path", None), **data).describe())

    def _http_clear_faults(self, request: Request) -> Response:
        """``DELETE /_emulator/faults``: forget all faults."""
        self.controller.clear_faults()
        return json_response(200, {})

    def _http_reset_counters(self, request: Request) -> Response:
        """``POST /_emulator/counters/reset``: zero the counters."""
        self.controller.reset_counters()
        return json_response(200, {})

    def _http_sessions(self, request: Request) -> Response:
        """``GET /_emulator/sessions[?email=&include_cookies=true&issued=true]``: live (or all issued) sessions."""
        email = request.query_value("email")
        if _flag(request, "issued"):
            return json_response(200, self.controller.issued_sessions(email))
        return json_response(
            200, self.controller.live_sessions(email, include_cookies=_flag(request, "include_cookies"))
        )

    def _http_outbox(self, request: Request) -> Response:
        """``GET /_emulator/outbox?email=``: reset codes sent."""
        email = request.query_value("email")
        if not email:
            return control_error(400, "email is required")
        return json_response(200, self.controller.outbox(email))

    def _http_add_time_entries(self, request: Request) -> Response:
        """``POST /_emulator/time_entries``: seed an account's time entries."""
        data = _body(request, _TIME_ENTRY_FIELDS)
        return json_response(201, {"added": self.controller.add_time_entries(data.pop("email", ""), **data)})

    def _http_add_organization(self, request: Request) -> Response:
        """``POST /_emulator/organizations``: ``{email, name, plan}``."""
        data = _body(request, ("email", "name", "plan"))
        return json_response(
            201, self.controller.add_organization(data.pop("email", ""), data.pop("name", ""), **data)
        )

    def _http_set_plan(self, request: Request) -> Response:
        """``POST /_emulator/plan``: ``{organization_id, plan}``."""
        data = _body(request, ("organization_id", "plan"))
        try:
            self.controller.set_plan(data.get("organization_id", 0), data.get("plan", ""))
        except LookupError:
            return control_error(404, "no such organization")
        return json_response(200, {})

    def _http_add_workspace(self, request: Request) -> Response:
        """``POST /_emulator/workspaces``: ``{email, name, organization_id}``."""
        data = _body(request, ("email", "name", "organization_id"))
        return json_response(
            201, self.controller.add_workspace(data.pop("email", ""), data.pop("name", ""), **data)
        )

    def _http_add_record(self, request: Request) -> Response:
        """``POST /_emulator/records``: ``{email, resource, fields}``."""
        data = _body(request, ("email", "resource", "fields"))
        fields = data.get("fields") or {}
        if not isinstance(fields, dict):
            raise ValueError("fields must be a JSON object")
        return json_response(
            201, self.controller.add_record(data.get("email", ""), data.get("resource", ""), **fields)
        )

    def _http_seed(self, request: Request) -> Response:
        """``POST /_emulator/seed``: numbered workspaces, projects, clients, tags and time entries."""
        data = _body(request, _SEED_FIELDS)
        return json_response(201, self.controller.seed(data.pop("email", ""), **data))

    def _http_get_config(self, request: Request) -> Response:
        """``GET /_emulator/config``: the settings in force."""
        return json_response(200, self.controller.configure())

    def _http_configure(self, request: Request) -> Response:
        """``POST /_emulator/config``: change settings (not the clock)."""
        data = _body(request, tuple(self.controller.configure()))
        return json_response(200, self.controller.configure(**data))


def _of_account(read: Callable[[str], Any]) -> Callable[[Request], Response]:
    """A ``GET ?email=`` route answering ``read(email)``; 404 when no open account has that email."""

    def handler(request: Request) -> Response:
        try:
            return json_response(200, read(request.query_value("email") or ""))
        except LookupError:
            return control_error(404, "no such user")

    return handler


def _flag(request: Request, name: str) -> bool:
    """Whether the query sets ``name`` to ``true`` (or ``1``)."""
    return (request.query_value(name) or "").lower() in ("true", "1")


def _body(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The JSON object body, refusing fields the operation does not take."""
    data = request.json_object()
    if data is None:
        raise ValueError("body must be a JSON object")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    return data
