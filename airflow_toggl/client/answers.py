"""What an answer means: the status mapped to a typed error (beside the errors it builds), and a
successful body parsed.

:func:`error_for` is the one place a status becomes an error (the quota headers themselves are read
by :func:`~airflow_toggl.client.limits.parse_quota`). Error messages name the call and the status;
Toggl's own text (:func:`toggl_text`: once, short, redacted) is shown only for requests that are
not sensitive (no password, reset code or secret answer).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

from airflow_toggl.client.endpoint import Call, Service
from airflow_toggl.client.errors import (
    TogglAPIError,
    TogglAuthError,
    TogglError,
    TogglNoAccessError,
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
HTML_TEXT_LENGTH = 120
"""An HTML error page is reduced to its title (or first heading), this short."""
SIGN_IN = "POST /api/sessions"
"""The label of a sign-in: a session created from an email and password."""
UNQUOTED = " (the answer is not quoted: the request carried a secret)"
_OWN_DATA = re.compile(r"/api/v9/me(?:/|$)")
_TAG = re.compile(r"<[^>]*>")
_HEADING = re.compile(r"<(title|h1|h2)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)


def names_resource(call: Call) -> bool:
    """Whether a 403 to ``call`` may mean no access to what it names, rather than refused credentials.

    Only identity and session endpoints (the accounts service, the user's own ``/api/v9/me...``)
    cannot be out of a user's reach: a 403 there is the credentials refused.
    """
    return call.service is not Service.ACCOUNTS and not _OWN_DATA.match(call.path)


def error_for(
    answer: Answer,
    label: str,
    *,
    limit: int,
    quote: bool = True,
    redact: Callable[[str], str] = str,
    credential: str | None = None,
    resource: bool = False,
    scope: str | None = None,
) -> TogglError | None:
    """The typed error for a non-2xx answer (or a 2xx one too large or undecodable), or None for success.

    ``limit`` is the size cap a too-large answer passed; ``quote`` whether Toggl's text may be shown;
    ``credential`` the kind of auth the request carried (``api_token``, ``basic``, ``session``);
    ``resource`` whether a 403 may mean no access (:func:`names_resource`); ``scope`` the quota the
    request counts against.
    """
    if answer.ok:
        return _incomplete_error(answer, label, limit)
    text = toggl_text(answer, redact) if quote and answer.complete else ""
    status = answer.status_code
    if status == 402:
        return _payment_error(answer, label, scope, text)
    if status == 403:
        return _refusal(answer, label, credential, resource, text)
    if status == 429:
        retry_after = parse_retry_after(answer.headers.get("Retry-After"))
        return TogglRateLimitError(
            f"Toggl rate limit hit for {label} (429){_says(text)}", retry_after=retry_after, response=answer
        )
    body = f": {text}" if text else ("" if quote else UNQUOTED)
    return TogglAPIError(f"Toggl answered {label} with {status}{body}", response=answer)


def _says(text: str) -> str:
    return f"; Toggl says: {text}" if text else ""


def _refusal(answer: Answer, label: str, credential: str | None, resource: bool, text: str) -> TogglAuthError:
    """403: no access to a resource, or the credentials refused (a sign-in's travel in its body)."""
    credential = credential if credential != "none" else None
    if label == SIGN_IN:  # never say which of the two was wrong
        return TogglAuthError(
            f"Toggl refused the email or password for {label} (403)", credential="basic", response=answer
        )
    if resource:
        path = label.partition(" ")[2]
        return TogglNoAccessError(
            f"Toggl refused {label} (403): the user may lack access to {path}, "
            f"or the credentials may be wrong{_says(text)}",
            path=path,
            credential=credential,
            response=answer,
        )
    return TogglAuthError(
        f"Toggl refused the credentials for {label} (403): wrong, expired or revoked{_says(text)}",
        credential=credential,
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


def _payment_error(answer: Answer, label: str, scope: str | None, text: str) -> TogglError:
    """402: a used-up hourly quota when its headers say none remain (or cannot be read), else a plan refusal.

    Toggl sends the quota headers on every answer, so their presence proves nothing: a 402 with
    requests remaining is the plan refusing, and waiting would never change it. A quota answer whose
    figures do not parse is still one: taking it for a plan refusal would fail for good what an
    hour's wait fixes. With no reset announced, the window's length is the longest it can take.
    """
    quota = parse_quota(answer.headers)
    if quota is None and has_quota_headers(answer.headers):
        quota = Quota(remaining=None, resets_in=None)
    if quota is None or (quota.remaining is not None and quota.remaining > 0):
        return TogglPlanError(
            f"Toggl refused {label} (402): the workspace's plan does not include it{_says(text)}",
            response=answer,
        )
    resets_in = quota.resets_in if quota.resets_in is not None else QUOTA_WINDOW
    which = f"the {scope} quota" if scope else "the hourly quota"
    return TogglQuotaExceededError(
        f"Toggl hourly quota used up for {label} (402, {which}); it resets in {resets_in:.0f}s",
        resets_in=resets_in,
        remaining=quota.remaining,
        scope=scope,
        response=answer,
    )


def toggl_text(answer: Answer, redact: Callable[[str], str]) -> str:
    """Toggl's own words in an error answer, once and unquoted, short and redacted; "" when none.

    The body may be a JSON string (``"Invalid project color"``), an object with a message, plain
    text or an HTML page (reduced to its title or first heading, no markup).
    """
    raw = answer.content.decode("utf-8", errors="replace").strip()
    if not raw:
        return ""
    is_html = "html" in answer.headers.get("Content-Type", "").lower() or raw.startswith("<")
    text = _html_text(raw) if is_html else _json_text(raw)
    # Redact before cutting: a secret crossing the cut would no longer match.
    text = " ".join(redact(text).split())
    return text[:HTML_TEXT_LENGTH] if is_html else text[:SNIPPET_LENGTH]


def _json_text(raw: str) -> str:
    """The message of a JSON string or object body; the body itself when it is neither."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return raw
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        for key in ("message", "error", "error_message"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return raw


def _html_text(raw: str) -> str:
    """An HTML page's title (else its first heading), entities decoded; "" when it has neither.

    Only the page's name: its body text is where gateways and debug pages echo the request.
    """
    heading = _HEADING.search(raw)
    return html.unescape(_TAG.sub(" ", heading.group(2))) if heading else ""


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
