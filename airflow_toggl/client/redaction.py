"""Every form in which a server could echo a secret back, and a redactor that hides them all.

A server that echoes a request (a 400 quoting the JSON body, a 404 quoting the path, a debug page
quoting the ``Authorization`` header) rarely shows the secret byte for byte: JSON escapes quotes,
backslashes and non-ASCII letters, a path is percent-encoded, a Basic header is base64 of
``user:secret``, and whitespace gets collapsed or dropped. :func:`secret_forms` is the one place
that knows those forms; the client redacts them all and registers them all with ``on_secret``
(Airflow's masker), so the second line of defence knows them too.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from airflow_toggl.client.auth import API_TOKEN_PASSWORD

REDACTED = "***"
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _json_escaped(text: str, *, ensure_ascii: bool) -> str:
    return json.dumps(text, ensure_ascii=ensure_ascii)[1:-1]


def _base64_forms(text: str) -> set[str]:
    raw = text.encode()
    standard = base64.b64encode(raw).decode("ascii")
    urlsafe = base64.urlsafe_b64encode(raw).decode("ascii")
    return {standard, standard.rstrip("="), urlsafe, urlsafe.rstrip("=")}


def _percent_forms(text: str) -> set[str]:
    forms = {quote(text, safe=""), quote(text), quote_plus(text)}
    # Servers differ in the case of the hex digits: register both.
    forms |= {_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), form) for form in forms}
    return forms


def secret_forms(secret: str, *, user: str | None = None) -> frozenset[str]:
    """``secret`` as a server could echo it: raw, stripped, JSON-escaped (ASCII or not, once and
    twice), percent-encoded (path and form style, either hex case), HTML-escaped, whitespace
    collapsed or removed, and base64 of the secret, of ``user:secret`` and of ``secret:api_token``.

    Empty for an empty secret. ``user`` is the login the secret is paired with in a Basic header.
    """
    if not secret or not secret.strip():
        return frozenset()
    bases = {secret, secret.strip(), " ".join(secret.split()), "".join(secret.split())}
    forms: set[str] = set(bases)
    for base in bases:
        for ensure_ascii in (True, False):
            escaped = _json_escaped(base, ensure_ascii=ensure_ascii)
            forms |= {escaped, _json_escaped(escaped, ensure_ascii=ensure_ascii)}
        forms |= _percent_forms(base)
        forms.add(html.escape(base, quote=True))
        forms.add(repr(base)[1:-1])
    forms |= _base64_forms(secret)
    forms |= _base64_forms(f"{secret}:{API_TOKEN_PASSWORD}")
    if user:
        forms |= _base64_forms(f"{user}:{secret}")
    return frozenset(form for form in forms if form)


def _pattern_of(form: str) -> str:
    """A regex for ``form`` that also matches it with its whitespace runs changed or removed."""
    parts = form.split()
    if len(parts) <= 1 and form == form.strip():
        return re.escape(form)
    return r"\s*".join(re.escape(part) for part in parts)


class Redactor:
    """Remembers secrets and replaces every form of each (see :func:`secret_forms`) with ``***``.

    Matching ignores case, so a percent escape or a ``\\u`` escape in either case is caught; hiding a
    harmless case variant of a secret as well is the safe side to err on.
    """

    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str, *, user: str | None = None) -> list[str]:
        """Remember ``secret``; return the forms not known before (to register with a masker)."""
        new = sorted(secret_forms(secret, user=user) - self._forms)
        if new:
            self._forms.update(new)
            self._pattern = None
        return new

    def add_all(self, secrets: Iterable[str], *, user: str | None = None) -> list[str]:
        """:meth:`add` for several secrets."""
        return [form for secret in secrets for form in self.add(secret, user=user)]

    def redact(self, text: str) -> str:
        """``text`` with every known form of every secret replaced by ``***``."""
        if not self._forms or not text:
            return text
        if self._pattern is None:
            ordered = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(_pattern_of(form) for form in ordered), re.IGNORECASE)
        return self._pattern.sub(REDACTED, text)

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and text in self._forms

    def __repr__(self) -> str:
        return f"Redactor({len(self._forms)} forms)"
