"""The portal session: a signed JWT whose `sub` is the elector id.

The portal's keys come from its JWKS URL (or, locally, from PORTAL_JWKS). They are fetched on
first use and kept for the container's life; a token signed with a key id the cache does not
know triggers one refetch (at most one per REFETCH_INTERVAL_SECONDS, so forged key ids cannot
turn every request into a call to the portal). The portal can thus roll its keys during the
election without a redeployment.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .. import deadline
from ..domain.errors import ServiceUnavailable, Unauthenticated

ALLOWED_ALGORITHMS = ["ES256", "RS256"]
MAX_TOKEN_LENGTH = 8192
REFETCH_INTERVAL_SECONDS = 60.0
JWKS_TIMEOUT_SECONDS = 3.0

log = logging.getLogger(__name__)

Fetch = Callable[[], dict[str, Any]]


class JwksCache:
    """The portal's key set, fetched once, fetched again for an unknown key id."""

    def __init__(
        self,
        fetch: Fetch | None,
        initial: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fetch is None and initial is None:
            raise ValueError("a JWKS or a way to fetch it is needed")
        self._fetch = fetch
        self._clock = clock
        self._fetched_at: float | None = None
        self._keys: KeySet | None = KeySet.import_key_set(initial) if initial is not None else None  # type: ignore[arg-type]

    def keys_for(self, kid: str | None) -> KeySet:
        if self._keys is None or (kid is not None and not _has_kid(self._keys, kid) and self._may_refetch()):
            self._refresh()
        if self._keys is None:  # never fetched: the portal is down, not the elector's session
            raise ServiceUnavailable()
        return self._keys

    def _may_refetch(self) -> bool:
        if self._fetch is None:
            return False
        return self._fetched_at is None or self._clock() - self._fetched_at >= REFETCH_INTERVAL_SECONDS

    def _refresh(self) -> None:
        if self._fetch is None:
            return
        self._fetched_at = self._clock()
        try:
            self._keys = KeySet.import_key_set(self._fetch())  # type: ignore[arg-type]
        except (deadline.DeadlineExceeded, OSError, ValueError, JoseError) as error:
            # Keep the keys we had: a token signed with a known key is still accepted.
            log.warning("portal JWKS fetch failed", extra={"error_type": type(error).__name__})


def http_fetcher(url: str) -> Fetch:
    def fetch() -> dict[str, Any]:
        import requests

        try:
            response = requests.get(url, timeout=deadline.http_timeout(JWKS_TIMEOUT_SECONDS, "portal jwks"))
            response.raise_for_status()
            document = response.json()
        except requests.RequestException as error:
            raise OSError("portal JWKS unavailable") from error
        if not isinstance(document, dict):
            raise ValueError("the portal JWKS is not a JSON object")
        return document

    return fetch


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys)


def _header_kid(token: str) -> str | None:
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".", 1)[0] + "=="))
    except (ValueError, binascii.Error):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


class PortalSessionVerifier:
    def __init__(self, issuer: str, audience: str, jwks: dict[str, Any] | JwksCache) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks if isinstance(jwks, JwksCache) else JwksCache(None, jwks)
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
            return cls(issuer, audience, JwksCache(http_fetcher(jwks_url)))
        raise ValueError("PORTAL_JWKS or PORTAL_JWKS_URL must be set")

    def elector_id(self, token: str | None) -> str:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated()
        try:
            keys = self.jwks.keys_for(_header_kid(token))
            decoded = jwt.decode(token, keys, algorithms=ALLOWED_ALGORITHMS)
            self.claims.validate(decoded.claims)
        except (JoseError, ValueError, TypeError):
            raise Unauthenticated() from None
        subject = decoded.claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 128:
            raise Unauthenticated()
        return subject
