"""Which failures of a Toggl task are final: they fail the task at once, without Airflow's retries.

A failure is final when trying again cannot succeed until someone changes something: a setting, the
credentials, the workspace's plan, the request. The operators raise it as Airflow's
``AirflowFailException`` (whose cause is the Toggl error, type and message intact), so a DAG's
``retries`` and ``retry_delay`` are not spent on it. Every other failure (the network, a 5xx, a used-up
quota, a rate limit, a refused stored session) is raised as it is, and Airflow retries it as the
task's ``retries`` say.

:data:`FINAL_ERRORS` and :func:`final_reason` are the one place that decides; the operators only
call :func:`fail_fast`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import ParamSpec, TypeVar

from airflow_toggl._compat import AirflowFailException
from airflow_toggl.exceptions import (
    TogglAPIError,
    TogglAuthError,
    TogglConfigError,
    TogglError,
    TogglIdentityMismatchError,
    TogglNoAccessError,
    TogglPlanError,
    TogglResponseTooLargeError,
)

FINAL_ERRORS: Mapping[type[TogglError], str] = {
    TogglConfigError: "a setting or an argument is wrong: correct the connection or the DAG",
    TogglAuthError: "Toggl refused the connection's credentials: correct them in the connection",
    TogglNoAccessError: "the user may lack access to this resource: grant it in Toggl, or correct the path or the credentials",
    TogglPlanError: "the workspace's plan does not include this feature",
    TogglIdentityMismatchError: "the credentials belong to another account than the one expected",
    TogglResponseTooLargeError: "the answer is larger than max_response_bytes: raise it or narrow the request",
}
"""Final error types and what to do about them. A subclass follows its nearest listed base class."""

RETRYABLE_CLIENT_STATUSES = frozenset({408, 409, 423, 425})
"""4xx answers that may change by themselves (timeout, conflict, locked, too early); other 4xx are final."""

SESSION_CREDENTIAL = "session"


def final_reason(error: BaseException) -> str | None:
    """Why ``error`` cannot go away by trying again, or None when a retry may succeed. Pure.

    A refused session cookie is not final: a rotation may store a newer session before the next
    try, and the task reads the store again then. A resource out of the user's reach
    (:class:`TogglNoAccessError`) is final whatever the credential: a new session does not grant access. A 4xx other than :data:`RETRYABLE_CLIENT_STATUSES`
    (and other than 402, 403 and 429, which have their own types) is final: the same request gets
    the same answer.
    """
    if (
        isinstance(error, TogglAuthError)
        and not isinstance(error, TogglNoAccessError)
        and error.credential == SESSION_CREDENTIAL
    ):
        return None
    for kind in type(error).__mro__:
        if kind in FINAL_ERRORS:
            return FINAL_ERRORS[kind]
    status = error.status_code if isinstance(error, TogglAPIError) else None
    if status is not None and 400 <= status < 500 and status not in RETRYABLE_CLIENT_STATUSES:
        return f"Toggl refused the request ({status}): the same request gets the same answer"
    return None


Params = ParamSpec("Params")
Result = TypeVar("Result")


def fail_fast(execute: Callable[Params, Result]) -> Callable[Params, Result]:
    """Wrap an operator's ``execute`` so that a final Toggl error fails the task with no retry."""

    @functools.wraps(execute)
    def run(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        try:
            return execute(*args, **kwargs)
        except TogglError as error:
            reason = final_reason(error)
            if reason is None:
                raise
            raise AirflowFailException(f"{type(error).__name__}: {error} (not retried: {reason})") from error

    return run


__all__ = ["FINAL_ERRORS", "RETRYABLE_CLIENT_STATUSES", "fail_fast", "final_reason"]
