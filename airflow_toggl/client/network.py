"""What went wrong on the network, said plainly: where (host and port) and why, in one word and a phrase.

``requests`` and urllib3 wrap a failure two or three times, and their texts carry the full URL, which
for a password reset holds the code. :func:`network_failure` finds the root cause, names it (refused,
DNS, connect timeout, read timeout, the attempt's deadline, dropped, TLS) and returns a fresh copy of
the lowest-level exception to chain as the cause: same type and arguments, nothing that holds a URL.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from airflow_toggl.client.errors import TogglConnectionError
from airflow_toggl.client.wire import DeadlineExceeded, HeadersCutOff

_LOW_LEVEL_MODULES = ("builtins", "socket", "ssl", "http.client", "airflow_toggl.client.wire")


@dataclass(frozen=True)
class NetworkFailure:
    """A classified network failure.

    ``reason`` is what the retry policy reads (``connect``: nothing was sent; ``tls``; ``timeout``
    and ``dropped``: the request may have arrived). ``detail`` says which failure it was: ``refused``,
    ``dns``, ``connect_timeout``, ``connect_failed``, ``tls``, ``read_timeout``, ``deadline``,
    ``headers_cut_off`` or ``dropped``.
    """

    reason: str
    detail: str
    host: str
    port: int
    text: str
    cause: BaseException | None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """Every exception linked to ``exc`` (arguments, ``reason``, cause, context), outermost first."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                pending.append(linked)


def _first(
    chain: list[BaseException], kind: type[BaseException] | tuple[type[BaseException], ...]
) -> BaseException | None:
    return next((exc for exc in chain if isinstance(exc, kind)), None)


def _fresh_copy(exc: BaseException, redact: Callable[[str], str]) -> BaseException:
    """``exc`` rebuilt from its arguments, with no traceback, cause or context; redacted if need be."""
    args = tuple(b"" if isinstance(arg, (bytes, bytearray)) else arg for arg in exc.args)  # partial bodies
    try:
        copy = type(exc)(*args)
    except Exception:
        copy = OSError(str(exc))
    if redact(str(copy)) != str(copy) or redact(repr(copy)) != repr(copy):
        copy = OSError(redact(str(copy)))
    return copy


def _root(chain: list[BaseException]) -> BaseException | None:
    """The deepest exception of the standard library's socket, TLS or HTTP layers.

    urllib3 raises a body cut short as its own ``IncompleteRead``, with nothing beneath it: that
    becomes the standard library's, holding only the count of missing bytes.
    """
    low_level = [exc for exc in chain if type(exc).__module__ in _LOW_LEVEL_MODULES]
    if low_level:
        return low_level[-1]
    cut = _first(chain, http.client.IncompleteRead)
    if cut is not None:
        expected = getattr(cut, "expected", None)
        return http.client.IncompleteRead(b"", expected if isinstance(expected, int) else None)
    return None


def host_and_port(url: str) -> tuple[str, int]:
    """The host and port ``url`` connects to (the scheme's default port when none is given)."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        port = default
    return parts.hostname or "?", port


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def network_failure(
    exc: BaseException, url: str, timeout: float, redact: Callable[[str], str] = lambda text: text
) -> NetworkFailure:
    """Classify a failed request to ``url``; ``timeout`` is the configured per-attempt timeout."""
    host, port = host_and_port(url)
    chain = list(_chain(exc))
    root = _root(chain)
    cause = _fresh_copy(root, redact) if root is not None else None
    where, seconds = _where(host, port), f"{timeout:g}s"
    reason, detail, text = (
        _cut_short(chain, where, seconds)
        or _not_connected(chain, root, host, where, seconds)
        or _after_sending(chain, root, where, seconds)
    )
    return NetworkFailure(reason, detail, host, port, text, cause)


_Classified = tuple[str, str, str]
"""``(reason, detail, text)`` of a network failure."""


def _cut_short(chain: list[BaseException], where: str, seconds: str) -> _Classified | None:
    """The attempt's deadline passed, or the headers were cut off: the guards of :mod:`.wire`."""
    if _first(chain, DeadlineExceeded):
        text = f"{where} did not finish answering within the {seconds} an attempt may take (deadline)"
        return "timeout", "deadline", text
    if _first(chain, HeadersCutOff):
        return (
            "dropped",
            "headers_cut_off",
            f"{where} closed the connection inside the response headers (dropped)",
        )
    return None


def _not_connected(
    chain: list[BaseException], root: BaseException | None, host: str, where: str, seconds: str
) -> _Classified | None:
    """No connection (or no TLS session) was made: nothing reached Toggl."""
    if _first(chain, (requests.exceptions.SSLError, ssl.SSLError)):
        return "tls", "tls", _tls_text(_first(chain, ssl.SSLError), where)
    if _first(chain, socket.gaierror):
        return "connect", "dns", f"the host name {host!r} could not be resolved (DNS)"
    if _first(chain, ConnectionRefusedError):
        return "connect", "refused", f"connection refused by {where} (nothing is listening there)"
    # urllib3's NewConnectionError is a ConnectTimeoutError too, whatever the failure was.
    connect_timeout = [
        e for e in chain if isinstance(e, ConnectTimeoutError) and not isinstance(e, NewConnectionError)
    ]
    if connect_timeout or _first(chain, requests.exceptions.ConnectTimeout):
        return "connect", "connect_timeout", f"no connection to {where} within {seconds} (connect timeout)"
    if _first(chain, NewConnectionError):
        why = getattr(root, "strerror", None) or type(root).__name__ if root is not None else "unknown error"
        return "connect", "connect_failed", f"could not connect to {where} ({why})"
    return None


def _after_sending(
    chain: list[BaseException], root: BaseException | None, where: str, seconds: str
) -> _Classified:
    """The request went out: no answer in time, or the connection broke during it."""
    if _first(chain, (requests.exceptions.Timeout, TimeoutError)):
        return "timeout", "read_timeout", f"{where} sent nothing for {seconds} (read timeout)"
    text = f"{where} closed the connection before the answer was complete (dropped{_drop_reason(root)})"
    return "dropped", "dropped", text


def connection_error(
    exc: BaseException, url: str, label: str, timeout: float, redact: Callable[[str], str]
) -> tuple[TogglConnectionError, BaseException | None]:
    """The typed error for a failed attempt, and a secret-free copy of its root cause to chain."""
    failure = network_failure(exc, url, timeout, redact)
    error = TogglConnectionError(
        f"Toggl {label} failed: {failure.text}",
        reason=failure.reason,
        detail=failure.detail,
        host=failure.host,
        port=failure.port,
    )
    return error, failure.cause


def _tls_text(cause: BaseException | None, where: str) -> str:
    """What the TLS layer refused; points at the ``verify`` extra when the certificate was the problem."""
    if isinstance(cause, ssl.SSLCertVerificationError):
        detail = cause.verify_message or cause.reason or "certificate verification failed"
        return (
            f"TLS verification failed with {where} ({detail}): set the connection's 'verify' extra to the "
            "path of a CA bundle that signs the server's certificate, and use a host name the certificate names"
        )
    detail = getattr(cause, "reason", None) or (type(cause).__name__ if cause is not None else "TLS error")
    return f"TLS handshake failed with {where} ({detail}); check the URL's scheme and port and the 'verify' extra"


def _drop_reason(root: BaseException | None) -> str:
    if isinstance(root, http.client.IncompleteRead):
        return ": the body was cut short"
    if isinstance(root, ConnectionResetError):
        return ": connection reset"
    if isinstance(root, http.client.RemoteDisconnected):
        return ": no answer at all"
    return ""
