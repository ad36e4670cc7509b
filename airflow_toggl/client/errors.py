"""Typed errors raised by the Toggl client (and, through it, the hook and operators).

Plain Python exceptions with no Airflow import, so the client works where Airflow is absent; DAG
authors import them from :mod:`airflow_toggl.exceptions`. Callers branch on the class (and on
``status_code``), never on message text. No message ever contains a credential: they name fields,
paths and status codes only.

Each error carries the facts a decision needs: :attr:`TogglError.wait_asked` (how long Toggl asked
to wait before another try) and :attr:`TogglConnectionError.may_have_arrived`. The retry decision
and the deferral decision (:mod:`airflow_toggl.client.retry`) read those facts; nothing else does.
"""

from __future__ import annotations

from typing import Protocol


class Answer(Protocol):
    """What an error keeps of the answer that caused it: the transport's
    :class:`~airflow_toggl.client.transport.Answer` (status, headers, body, the request sent)."""

    @property
    def status_code(self) -> int: ...


class TogglError(Exception):
    """Base class of every error raised by airflow-toggl.

    ``response`` is the :class:`~airflow_toggl.client.transport.Answer` that caused the error, when
    there was one (its ``request`` is what was sent); ``status_code`` its HTTP status.
    """

    def __init__(
        self,
        message: str,
        *,
        response: Answer | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.status_code = status_code if status_code is not None else _status_of(response)

    @property
    def wait_asked(self) -> float | None:
        """Seconds Toggl asked to wait before another try (a quota reset, a ``Retry-After``); None: no ask."""
        return None

    def __reduce__(self) -> tuple[object, ...]:
        # Picklable without the response (which holds the request and its credentials).
        return (_rebuild, (type(self), self.message, self.status_code, self._extra_state()))

    def _extra_state(self) -> dict[str, object]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r})"


def _status_of(response: Answer | None) -> int | None:
    return None if response is None else response.status_code


def _rebuild(
    cls: type[TogglError], message: str, status_code: int | None, state: dict[str, object]
) -> TogglError:
    error = cls.__new__(cls)
    TogglError.__init__(error, message, status_code=status_code)
    error.__dict__.update(state)
    return error


class TogglConfigError(TogglError, ValueError):
    """A connection field, extra or argument is missing or invalid; raised before any request.

    ``field`` names the offending field (``login``, ``extra.timeout``, ``min_remaining``...).
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"Invalid Toggl setting {field!r}: {problem}")
        self.field = field

    def _extra_state(self) -> dict[str, object]:
        return {"field": self.field}


class TogglAuthError(TogglError):
    """Toggl refused the credentials (403): wrong, expired, deleted or lacking rights.

    ``credential`` says which kind was refused, when known: ``api_token``, ``basic`` (an email and
    password, sent as Basic auth or in a sign-in) or ``session`` (a session cookie).
    """

    def __init__(
        self,
        message: str,
        *,
        credential: str | None = None,
        response: Answer | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, response=response, status_code=status_code)
        self.credential = credential

    def _extra_state(self) -> dict[str, object]:
        return {"credential": self.credential}


# The errors that carry data below share one shape on purpose (their data, the wait they ask for,
# their pickled state): small exception classes with data, as requests' are.


class TogglNoAccessError(TogglAuthError):
    """403 on a resource (a workspace, an organization, a report): the user may lack access to it, or
    the credentials may be wrong. ``path`` names the resource. A :class:`TogglAuthError`, so existing
    ``except`` clauses still catch it; only identity and session endpoints raise the plain one.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        credential: str | None = None,
        response: Answer | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, credential=credential, response=response, status_code=status_code)
        self.path = path

    def _extra_state(self) -> dict[str, object]:
        return {"credential": self.credential, "path": self.path}


class TogglRateLimitError(TogglError):
    """Still rate limited (429) after every allowed retry. ``retry_after`` is in seconds, if given."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        response: Answer | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, response=response, status_code=status_code)
        self.retry_after = retry_after

    @property
    def wait_asked(self) -> float | None:
        return self.retry_after

    def _extra_state(self) -> dict[str, object]:
        return {"retry_after": self.retry_after}


class TogglQuotaExceededError(TogglError):
    """An hourly quota is used up (402 whose quota headers say none remain); it resets in ``resets_in`` s.

    ``scope`` says which quota: ``"user"`` (requests naming no workspace), ``"organization:<id>"``, or
    ``"workspace:<id>"`` when the workspace's organization is not known; None when not known.
    """

    def __init__(
        self,
        message: str,
        *,
        resets_in: float,
        remaining: int | None = 0,
        scope: str | None = None,
        response: Answer | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, response=response, status_code=status_code)
        self.resets_in = resets_in
        self.remaining = remaining
        self.scope = scope

    @property
    def wait_asked(self) -> float | None:
        return self.resets_in

    def _extra_state(self) -> dict[str, object]:
        return {"resets_in": self.resets_in, "remaining": self.remaining, "scope": self.scope}


class TogglPlanError(TogglError):
    """402 that is no used-up quota (its quota headers say requests remain, or it has none): the
    workspace's plan lacks the feature. Final: failed at once, never retried nor waited for."""


class TogglAPIError(TogglError):
    """Any other HTTP error answer from Toggl; ``status_code`` says which."""


class TogglResponseError(TogglAPIError):
    """A successful status with a body that is not what the endpoint returns (malformed JSON...)."""


class TogglResponseTooLargeError(TogglResponseError):
    """A successful answer longer than ``limit`` bytes (``max_response_bytes``, decompressed); not read further."""

    def __init__(
        self, message: str, *, limit: int, response: Answer | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, response=response, status_code=status_code)
        self.limit = limit

    def _extra_state(self) -> dict[str, object]:
        return {"limit": self.limit}


class TogglIdentityMismatchError(TogglError):
    """The account behind some credentials is not the one expected; names the field and both values."""

    def __init__(self, field: str, expected: object, actual: object) -> None:
        super().__init__(f"Toggl identity mismatch on {field!r}: expected {expected!r}, got {actual!r}")
        self.field = field
        self.expected = expected
        self.actual = actual

    def _extra_state(self) -> dict[str, object]:
        return {"field": self.field, "expected": self.expected, "actual": self.actual}


class TogglConnectionError(TogglError):
    """The request could not be completed on the network.

    ``reason`` tells how far it got: ``"connect"`` (never reached Toggl, safe to re-send),
    ``"tls"`` (certificate verification or handshake failed), ``"timeout"`` (no answer in time) or
    ``"dropped"`` (the connection broke after the request was sent). The last two may have been
    applied by Toggl. ``detail`` names the failure more finely (``refused``, ``dns``,
    ``connect_timeout``, ``connect_failed``, ``tls``, ``read_timeout``, ``deadline``,
    ``headers_cut_off``, ``dropped``); ``host`` and ``port`` say where it happened.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str = "dropped",
        detail: str | None = None,
        host: str | None = None,
        port: int | None = None,
        response: Answer | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, response=response, status_code=status_code)
        self.reason = reason
        self.detail = detail or reason
        self.host = host
        self.port = port

    @property
    def may_have_arrived(self) -> bool:
        """Whether Toggl may have received (and acted on) the request."""
        return self.reason in ("timeout", "dropped")

    def _extra_state(self) -> dict[str, object]:
        return {"reason": self.reason, "detail": self.detail, "host": self.host, "port": self.port}


__all__ = [
    "TogglAPIError",
    "TogglAuthError",
    "TogglConfigError",
    "TogglConnectionError",
    "TogglError",
    "TogglIdentityMismatchError",
    "TogglNoAccessError",
    "TogglPlanError",
    "TogglQuotaExceededError",
    "TogglRateLimitError",
    "TogglResponseError",
    "TogglResponseTooLargeError",
]
