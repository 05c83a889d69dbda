"""Test keys and portal sessions."""

from __future__ import annotations

import base64
import json
import secrets
import time

from joserfc import jwt
from joserfc.jwk import ECKey

PORTAL_ISSUER = "https://portail-elections.test"
PORTAL_AUDIENCE = "reassort"
PORTAL_KEY = ECKey.generate_key("P-256", parameters={"kid": "portal-test"})
PORTAL_JWKS = json.dumps({"keys": [PORTAL_KEY.as_dict(private=False)]})


def portal_session(
    elector_id: str, *, expires_in: int = 900, key: ECKey = PORTAL_KEY, **claims: object
) -> str:
    now = int(time.time())
    payload = {
        "iss": PORTAL_ISSUER,
        "aud": PORTAL_AUDIENCE,
        "sub": elector_id,
        "iat": now,
        "exp": now + expires_in,
        **claims,
    }
    return jwt.encode({"alg": "ES256", "kid": "portal-test"}, payload, key)


def local_secrets() -> str:
    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    return json.dumps({"link_hmac_key": key(), "identity_hmac_key": key(), "fc_client_secret": "s" * 40})
