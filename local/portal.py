"""Demonstration stand-in for the hosted Elections portal: its signing key and session cookie.

In production the portal authenticates the elector and hands these functions a signed JWT. Here a
locally generated EC P-256 key signs the same kind of token; the functions verify it with the
production code path, configured through `PORTAL_JWKS`, `PORTAL_ISSUER` and `PORTAL_AUDIENCE`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

SESSION_COOKIE = "portal_session"
SESSION_SECONDS = 3600
ISSUER = "https://portail-elections.local.invalid"
AUDIENCE = "reassort-code-vote"


@dataclass
class DemoPortal:
    issuer: str = ISSUER
    audience: str = AUDIENCE
    session_seconds: int = SESSION_SECONDS
    kid: str = "portail-demo-1"
    key: ECKey = field(init=False)

    def __post_init__(self) -> None:
        self.key = ECKey.generate_key(
            "P-256", parameters={"kid": self.kid, "use": "sig", "alg": "ES256"}, private=True
        )

    def jwks_json(self) -> str:
        return json.dumps(KeySet([self.key]).as_dict(private=False))

    def environment(self) -> dict[str, str]:
        return {
            "PORTAL_JWKS": self.jwks_json(),
            "PORTAL_ISSUER": self.issuer,
            "PORTAL_AUDIENCE": self.audience,
        }

    def issue(self, elector_id: str, now: float | None = None) -> str:
        iat = int(now if now is not None else time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": elector_id,
            "iat": iat,
            "nbf": iat,
            "exp": iat + self.session_seconds,
        }
        return jwt.encode({"alg": "ES256", "kid": self.kid, "typ": "JWT"}, claims, self.key)

    def subject(self, token: str | None) -> str | None:
        """The elector id of a valid session token (used by the demonstration portal pages only)."""
        if not token:
            return None
        try:
            decoded = jwt.decode(token, self.key, algorithms=["ES256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                sub={"essential": True},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError):
            return None
        sub = decoded.claims.get("sub")
        return sub if isinstance(sub, str) else None

    def cookie(self, token: str) -> str:
        return f"{SESSION_COOKIE}={token}; Path=/; Max-Age={self.session_seconds}; HttpOnly; SameSite=Lax"

    @staticmethod
    def clear_cookie() -> str:
        return f"{SESSION_COOKIE}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
