"""The portal session: a signed JWT whose `sub` is the elector id."""

from __future__ import annotations

import json
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..domain.errors import Unauthenticated

ALLOWED_ALGORITHMS = ["ES256", "RS256"]
MAX_TOKEN_LENGTH = 8192


class PortalSessionVerifier:
    def __init__(self, issuer: str, audience: str, jwks: dict[str, Any]) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        self.claims = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            exp={"essential": True},
            leeway=30,
        )

    @classmethod
    def from_settings(
        cls, issuer: str, audience: str, jwks: str | None, jwks_url: str | None
    ) -> PortalSessionVerifier:
        if jwks:
            return cls(issuer, audience, json.loads(jwks))
        if jwks_url:
            import requests

            response = requests.get(jwks_url, timeout=5)
            response.raise_for_status()
            return cls(issuer, audience, response.json())
        raise ValueError("PORTAL_JWKS or PORTAL_JWKS_URL must be set")

    def elector_id(self, token: str | None) -> str:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated()
        try:
            decoded = jwt.decode(token, self.keys, algorithms=ALLOWED_ALGORITHMS)
            self.claims.validate(decoded.claims)
        except (JoseError, ValueError, TypeError):
            raise Unauthenticated() from None
        subject = decoded.claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 128:
            raise Unauthenticated()
        return subject
