"""What an answer means: the status mapped to a typed error (beside the errors it builds), the quota
headers read, and a successful body parsed.

:func:`error_for` is the one place a status becomes an error; :func:`quota_of` the one place the
hourly quota headers are read. Error messages name the call and the status; a body is quoted (short,
redacted) only for requests that carried no secret.
"""

from __future__ import annotations

from collections.abc import Callable

from airflow_toggl.client.endpoint import Call
from airflow_toggl.client.errors import (
    TogglAPIError,
    TogglAuthError,
    TogglError,
    TogglPlanError,
    TogglQuotaExceededError,
    TogglRateLimitError,
    TogglResponseError,
    TogglResponseTooLargeError,
)
from airflow_toggl.client.limits import QUOTA_WINDOW, Quota, has_quota_headers, parse_quota
from airflow_toggl.client.retry import parse_retry_after
from airflow_toggl.client.transport import Answer
from airflow_toggl.client.values import JSON

SNIPPET_LENGTH = 200
SIGN_IN = "POST /api/sessions"
"""The label of a sign-in: a session created from an email and password."""
UNQUOTED = " (the answer is not quoted: the request carried a secret)"


def quota_of(answer: Answer) -> Quota | None:
    """The hourly quota an answer reports, or None when it carries no quota header that parses."""
    return parse_quota(answer.headers)


def error_for(
    answer: Answer,
    label: str,
    *,
    limit: int,
    quote: bool = True,
    redact: Callable[[str], str] = str,
    credential: str | None = None,
) -> TogglError | None:
    """The typed error for a non-2xx answer (or a 2xx one too large or undecodable), or None for success.

    ``limit`` is the size cap a too-large answer passed; ``quote`` whether the body may be quoted;
    ``credential`` the kind of auth the request carried (``api_token``, ``basic``, ``session``).
    """
    status = answer.status_code
    if answer.ok:
        return _incomplete_error(answer, label, limit)
    if status == 402:
        return _payment_error(answer, label)
    if status == 403:
        return _refusal(answer, label, credential)
    if status == 429:
        retry_after = parse_retry_after(answer.headers.get("Retry-After"))
        return TogglRateLimitError(
            f"Toggl rate limit hit for {label} (429)", retry_after=retry_after, response=answer
        )
    body = snippet(answer, redact) if quote and answer.complete else UNQUOTED
    return TogglAPIError(f"Toggl answered {label} with {status}{body}", response=answer)


def _refusal(answer: Answer, label: str, credential: str | None) -> TogglAuthError:
    """403: the credentials were refused (a sign-in's email and password travel in its body)."""
    if label == SIGN_IN:  # never say which of the two was wrong
        return TogglAuthError(
            f"Toggl refused the email or password for {label} (403)", credential="basic", response=answer
        )
    return TogglAuthError(
        f"Toggl refused the credentials for {label} (403): wrong, expired or revoked",
        credential=credential if credential != "none" else None,
        response=answer,
    )


def _incomplete_error(answer: Answer, label: str, limit: int) -> TogglError | None:
    if answer.complete is None:
        return TogglResponseError(
            f"Toggl answered {label} with a body that could not be decoded", response=answer
        )
    if not answer.complete:
        return TogglResponseTooLargeError(
            f"Toggl answered {label} with more than {limit} bytes (max_response_bytes); not read further",
            limit=limit,
            response=answer,
        )
    return None


def _payment_error(answer: Answer, label: str) -> TogglError:
    """402: a used-up hourly quota when quota headers came with it, else a plan refusal.

    A quota answer is temporary, so one whose figures do not parse is still one: taking it for a plan
    refusal would fail for good what an hour's wait fixes. With no reset announced, the window's
    length is the longest it can take.
    """
    quota = quota_of(answer)
    if quota is None and has_quota_headers(answer.headers):
        quota = Quota(remaining=None, resets_in=None)
    if quota is None:
        return TogglPlanError(
            f"Toggl refused {label} (402): the workspace's plan does not include it", response=answer
        )
    resets_in = quota.resets_in if quota.resets_in is not None else QUOTA_WINDOW
    return TogglQuotaExceededError(
        f"Toggl hourly quota used up for {label} (402); it resets in {resets_in:.0f}s",
        resets_in=resets_in,
        remaining=quota.remaining,
        response=answer,
    )


def snippet(answer: Answer, redact: Callable[[str], str]) -> str:
    """A short, redacted excerpt of an error body, to say why without echoing any secret."""
    text = answer.content.decode("utf-8", errors="replace").strip()
    if not text or "html" in answer.headers.get("Content-Type", ""):
        return ""
    # Redact before cutting: a secret crossing the cut would no longer match.
    return ": " + " ".join(redact(text).split())[:SNIPPET_LENGTH]


def parsed(answer: Answer, call: Call) -> JSON:
    """The JSON body of a successful answer; a TogglResponseError when it is not JSON."""
    try:
        body: JSON = answer.json()
        return body
    except (ValueError, RecursionError, LookupError):
        raise TogglResponseError(
            f"Toggl answered {call.label} with a body that is not JSON", response=answer
        ) from None


def parsed_object(answer: Answer, call: Call) -> dict[str, JSON]:
    """The JSON object of a successful answer; a TogglResponseError for anything else."""
    body = parsed(answer, call)
    if not isinstance(body, dict):
        raise TogglResponseError(
            f"Toggl answered {call.label} with something other than an object", response=answer
        )
    return body
