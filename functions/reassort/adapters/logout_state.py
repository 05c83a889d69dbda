"""The FranceConnect logout state: the outcome of the callback, as a short-lived signed JWT.

FranceConnect hands the state back on ``/api/fc/logout-return``; the URL (and so CloudFront's
logs) sees it. It therefore holds the result, the refusal reason when there is one, ``exp`` and a
random ``jti`` — no personal data, masked or not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from ..domain.franceconnect import FcOutcome, FcResult, Refusal

ALGORITHM = "HS256"
TTL_SECONDS = 600
MAX_LENGTH = 512


class JwtLogoutStates:
    """Implements the domain's ``LogoutStates`` port with joserfc."""

    def __init__(self, link_key: bytes, ttl_seconds: int = TTL_SECONDS) -> None:
        # A key of its own, derived from the link key: a logout state is never a valid digest elsewhere.
        derived = hmac.new(link_key, b"franceconnect-logout-state", hashlib.sha256).digest()
        self._key = OctKey.import_key(derived)
        self._ttl = ttl_seconds

    def sign(self, outcome: FcOutcome, now: float) -> str:
        claims: dict[str, Any] = {
            "r": outcome.result.value,
            "exp": int(now) + self._ttl,
            "jti": secrets.token_urlsafe(9),
        }
        if outcome.reason:
            claims["why"] = str(outcome.reason)
        return jwt.encode({"alg": ALGORITHM}, claims, self._key, algorithms=[ALGORITHM])

    def verify(self, value: str, now: float | None = None) -> FcOutcome | None:
        if not value or len(value) > MAX_LENGTH:
            return None
        try:
            token = jwt.decode(value, self._key, algorithms=[ALGORITHM])
            jwt.JWTClaimsRegistry(
                now=lambda: int(time.time() if now is None else now),
                leeway=0,
                exp={"essential": True},
                r={"essential": True, "values": [r.value for r in FcResult]},
            ).validate(token.claims)
        except (JoseError, ValueError, TypeError, UnicodeError):
            return None
        reason = token.claims.get("why")
        if reason is not None and reason not in {r.value for r in Refusal}:
            return None
        return FcOutcome(FcResult(token.claims["r"]), reason=reason)
