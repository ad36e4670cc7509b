"""Session cookies as EdDSA (Ed25519) signed JWTs, shaped like the accounts service's.

Each emulator owns its own key, so a cookie from one emulator is refused by another, and a
cookie whose signature, expiry or audience is wrong is refused like a forged one.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from airflow_toggl.emulator.request import parse_json

ISSUER = "https://accounts.toggl.com"
AUDIENCE = "track"
# The accounts service backdates nbf so small clock skews do not reject a fresh cookie.
NOT_BEFORE_SKEW = 300
# Airflow's log masking hides anything matching this, so "no-eyj" cookies must never contain it.
MASKED_PREFIX = "eyJ"
_MAX_ATTEMPTS = 1000


def b64url_encode(data: bytes) -> str:
    """Base64url without padding, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, refusing characters outside the alphabet."""
    raw = text.encode("ascii")
    altchars = raw.replace(b"-", b"+").replace(b"_", b"/")
    return base64.b64decode(altchars + b"=" * (-len(raw) % 4), validate=True)


def encode_json(obj: dict[str, Any], style: str) -> bytes:
    """Serialise a JWT segment: compact, or with a space after ``{`` so base64 starts ``eyAi``."""
    if style == "no-eyj":
        text = "{ " + json.dumps(obj, separators=(", ", ": "))[1:]
    else:
        text = json.dumps(obj, separators=(",", ":"))
    return text.encode("utf-8")


class SessionSigner:
    """Issues and verifies this emulator's session JWTs."""

    def __init__(self) -> None:
        """Create a fresh Ed25519 key and a key id that keeps no-eyj headers free of ``eyJ``."""
        self._key = Ed25519PrivateKey.generate()
        self._public = self._key.public_key()
        self.kid = self._pick_kid()

    def _pick_kid(self) -> str:
        """A random key id whose no-eyj header segment cannot trip the log masker."""
        for _ in range(_MAX_ATTEMPTS):
            kid = f"emulator-{secrets.token_hex(4)}"
            if MASKED_PREFIX not in b64url_encode(encode_json(self._header(kid), "no-eyj")):
                return kid
        raise RuntimeError("could not choose a key id")  # pragma: no cover - practically unreachable

    @staticmethod
    def _header(kid: str) -> dict[str, str]:
        """The JOSE header for ``kid``."""
        return {"alg": "EdDSA", "kid": kid, "typ": "JWT"}

    def issue(self, subject: str, issued_at: int, ttl: int, style: str) -> tuple[str, dict[str, Any]]:
        """Sign a session for ``subject``; return the compact JWT and its claims."""
        header = b64url_encode(encode_json(self._header(self.kid), style))
        for _ in range(_MAX_ATTEMPTS):
            claims: dict[str, Any] = {
                "aud": [AUDIENCE],
                "exp": issued_at + ttl,
                "iat": issued_at,
                "iss": ISSUER,
                "jti": secrets.token_hex(16),
                "nbf": issued_at - NOT_BEFORE_SKEW,
                "sub": subject,
            }
            body = b64url_encode(encode_json(claims, style))
            signing_input = f"{header}.{body}"
            signature = b64url_encode(self._key.sign(signing_input.encode("ascii")))
            token = f"{signing_input}.{signature}"
            # A new jti changes the claims and the signature; retry until the masker cannot match.
            if style != "no-eyj" or MASKED_PREFIX not in token:
                return token, claims
        raise RuntimeError("could not sign a session without 'eyJ'")  # pragma: no cover

    def verify(self, token: str) -> dict[str, Any] | None:
        """Return the claims of a token this signer issued, or ``None`` if it is not one."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            signature = b64url_decode(parts[2])
            self._public.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
            header = parse_json(b64url_decode(parts[0]))
            claims = parse_json(b64url_decode(parts[1]))
        except (ValueError, UnicodeError, binascii.Error, InvalidSignature):
            return None
        if not isinstance(header, dict) or header.get("alg") != "EdDSA" or header.get("kid") != self.kid:
            return None
        if not isinstance(claims, dict) or AUDIENCE not in (claims.get("aud") or []):
            return None
        if not all(isinstance(claims.get(name), int) for name in ("exp", "iat", "nbf")):
            return None
        return claims
