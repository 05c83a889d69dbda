"""FranceConnect v2 client: discovery, authorize URL, code exchange, token verification, logout.

FranceConnect specifics (SPEC §5):
- endpoints come from ``<issuer>/.well-known/openid-configuration`` (the issuer ends in ``/api/v2``);
- the authorize request carries only parameters FranceConnect accepts (no PKCE: FranceConnect
  rejects unknown parameters) with ``acr_values=eidas1``;
- the client authenticates with ``client_secret_post``;
- the ID token and the userinfo (a signed JWT, ``application/jwt``) are verified with the key
  named by ``kid`` in FranceConnect's JWKS, with the algorithm pinned by configuration: discovery
  also lists HS256, which would let anyone holding the client secret forge tokens.

Nothing here logs claims, tokens or codes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from .. import deadline
from ..addresses import check_public_https_url, is_loopback_url
from ..domain.ports import IdentityProviderError, IdentityProviderUnavailable

__all__ = [
    "ACR_EIDAS1",
    "DEFAULT_SCOPES",
    "FranceConnectClient",
    "FranceConnectConfig",
    "FranceConnectError",
    "FranceConnectLogin",
    "FranceConnectUnavailable",
    "ProviderMetadata",
    "TokenRejected",
]

ACR_EIDAS1 = "eidas1"
# Only what the match (civil identity) and the send (e-mail) use: every scope asked for shows in
# the habilitation and in the consent screen.
DEFAULT_SCOPES = ("openid", "given_name", "family_name", "birthdate", "gender", "email")
ALLOWED_ALGORITHMS = frozenset({"ES256", "RS256"})
DISCOVERY_PATH = "/.well-known/openid-configuration"


class FranceConnectError(IdentityProviderError):
    """Base of the FranceConnect adapter errors. ``reason`` is a stable, log-safe code."""

    reason = "franceconnect_error"

    def __init__(self, reason: str | None = None) -> None:
        if reason:
            self.reason = reason
        super().__init__(self.reason)


class FranceConnectUnavailable(FranceConnectError, IdentityProviderUnavailable):
    """FranceConnect could not be reached or answered with a server error."""

    reason = "unavailable"


class TokenRejected(FranceConnectError):
    """A token or the userinfo failed verification, or the token endpoint refused the code."""

    reason = "token_rejected"


@dataclass(frozen=True)
class FranceConnectConfig:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    post_logout_redirect_uri: str
    id_token_alg: str = "ES256"
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    timeout_seconds: float = 5.0
    leeway_seconds: int = 30
    discovery_ttl_seconds: int = 3600
    jwks_ttl_seconds: int = 3600
    # At most one JWKS refetch forced by a token (unknown kid, bad signature) per this interval:
    # a flood of forged tokens cannot turn into a flood of requests to FranceConnect.
    jwks_refetch_interval_seconds: int = 60
    # Only the local stage sets this: its FranceConnect emulator answers over http on this
    # machine. Everywhere else the issuer and every endpoint it announces are public https URLs.
    allow_loopback: bool = False

    def __post_init__(self) -> None:
        # HS256 would be verified with the client secret, which we share with FranceConnect.
        if self.id_token_alg not in ALLOWED_ALGORITHMS:
            raise ValueError(f"FranceConnect ID token algorithm must be one of {sorted(ALLOWED_ALGORITHMS)}")
        self.check_url("fc_issuer", self.issuer)

    def check_url(self, name: str, url: str) -> None:
        """ValueError unless `url` may be used to reach FranceConnect in this stage."""
        if self.allow_loopback and is_loopback_url(url):
            return
        check_public_https_url(name, url)


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ProviderMetadata:
        try:
            values = {name: document[name] for name in cls.__dataclass_fields__}
        except KeyError as error:
            raise FranceConnectUnavailable("discovery_incomplete") from error
        if not all(isinstance(v, str) and v for v in values.values()):
            raise FranceConnectUnavailable("discovery_incomplete")
        return cls(**values)

    def endpoints(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if name != "issuer"}


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    id_token: str = field(repr=False)


@dataclass(frozen=True)
class FranceConnectLogin:
    """Outcome of a verified login. ``userinfo`` holds personal data: never log it."""

    id_token: str = field(repr=False)
    id_claims: dict[str, Any] = field(repr=False)
    userinfo: dict[str, Any] = field(repr=False)


class FranceConnectClient:
    """One per container: discovery and JWKS are cached across invocations."""

    def __init__(
        self,
        config: FranceConnectConfig,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._session = session or requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._forced_at: float | None = None

    @property
    def issuer(self) -> str:
        return self.config.issuer

    # -- discovery and keys -------------------------------------------------------------------

    def metadata(self) -> ProviderMetadata:
        with self._lock:
            now = self._clock()
            if self._metadata is None or now - self._metadata_at > self.config.discovery_ttl_seconds:
                document = self._get_json(self.config.issuer.rstrip("/") + DISCOVERY_PATH)
                metadata = ProviderMetadata.from_document(document)
                if metadata.issuer != self.config.issuer:
                    raise FranceConnectUnavailable("discovery_issuer_mismatch")
                try:
                    for name, url in metadata.endpoints().items():
                        self.config.check_url(name, url)
                except ValueError:
                    raise FranceConnectUnavailable("discovery_insecure_endpoint") from None
                self._metadata, self._metadata_at = metadata, now
            return self._metadata

    def _forced_refresh(self) -> KeySet | None:
        """The key set fetched again for a token the cached one cannot verify, or None when a
        forced refetch already happened less than ``jwks_refetch_interval_seconds`` ago."""
        with self._lock:
            now = self._clock()
            if (
                self._forced_at is not None
                and now - self._forced_at < self.config.jwks_refetch_interval_seconds
            ):
                return None
            self._forced_at = now
        return self._key_set(refresh=True)

    def _key_set(self, refresh: bool = False) -> KeySet:
        metadata = self.metadata()
        with self._lock:
            now = self._clock()
            stale = self._keys is None or now - self._keys_at > self.config.jwks_ttl_seconds
            if refresh or stale:
                document = self._get_json(metadata.jwks_uri)
                try:
                    # Only asymmetric keys: a symmetric key in the set must never verify anything.
                    keys = [k for k in document.get("keys", []) if k.get("kty") in {"EC", "RSA"}]
                    self._keys = KeySet.import_key_set({"keys": keys})
                except (JoseError, ValueError, TypeError, AttributeError) as error:
                    raise FranceConnectUnavailable("jwks_invalid") from error
                self._keys_at = now
            assert self._keys is not None
            return self._keys

    # -- URLs -------------------------------------------------------------------------------------

    def authorize_url(self, state: str, nonce: str, prompt: str | None = None) -> str:
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": state,
            "nonce": nonce,
            "acr_values": ACR_EIDAS1,
        }
        if prompt:
            params["prompt"] = prompt
        return _with_query(self.metadata().authorization_endpoint, params)

    def logout_url(self, id_token_hint: str, state: str) -> str:
        params = {
            "id_token_hint": id_token_hint,
            "state": state,
            "post_logout_redirect_uri": self.config.post_logout_redirect_uri,
        }
        return _with_query(self.metadata().end_session_endpoint, params)

    # -- back channel -----------------------------------------------------------------------------

    def exchange_code(self, code: str) -> TokenSet:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
        }
        response = self._request("POST", self.metadata().token_endpoint, data=data)
        if response.status_code in (400, 401, 403):
            raise TokenRejected("code_refused")
        _raise_for_server_error(response)
        try:
            body = response.json()
            access_token, id_token = body["access_token"], body["id_token"]
        except (ValueError, KeyError, TypeError) as error:
            raise TokenRejected("token_response_invalid") from error
        if not isinstance(access_token, str) or not isinstance(id_token, str):
            raise TokenRejected("token_response_invalid")
        return TokenSet(access_token=access_token, id_token=id_token)

    def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        claims = self._verify_jwt(id_token)
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self.config.leeway_seconds,
            iss={"essential": True, "value": self.config.issuer},
            aud={"essential": True, "value": self.config.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
            acr={"essential": True, "value": ACR_EIDAS1},
        )
        _validate_claims(registry, claims, prefix="id_token")
        # With several audiences, OIDC requires azp to be us.
        if isinstance(claims.get("aud"), list) and claims.get("azp") != self.config.client_id:
            raise TokenRejected("id_token_azp")
        return claims

    def fetch_userinfo(self, access_token: str, expected_sub: str) -> dict[str, Any]:
        response = self._request(
            "GET",
            self.metadata().userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/jwt"},
        )
        if response.status_code in (400, 401, 403):
            raise TokenRejected("userinfo_refused")
        _raise_for_server_error(response)
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/jwt":
            # A plain JSON userinfo is unsigned: nothing proves it comes from FranceConnect.
            raise TokenRejected("userinfo_not_signed")
        claims = self._verify_jwt(response.text.strip(), prefix="userinfo")
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self.config.leeway_seconds,
            iss={"essential": True, "value": self.config.issuer},
            aud={"essential": True, "value": self.config.client_id},
            sub={"essential": True, "value": expected_sub},
        )
        _validate_claims(registry, claims, prefix="userinfo")
        return claims

    def complete_login(self, code: str, nonce: str) -> FranceConnectLogin:
        tokens = self.exchange_code(code)
        id_claims = self.verify_id_token(tokens.id_token, nonce)
        userinfo = self.fetch_userinfo(tokens.access_token, expected_sub=str(id_claims["sub"]))
        return FranceConnectLogin(id_token=tokens.id_token, id_claims=id_claims, userinfo=userinfo)

    # -- helpers ----------------------------------------------------------------------------------

    def _verify_jwt(self, value: str, prefix: str = "id_token") -> dict[str, Any]:
        try:
            header = extract_compact(value.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError) as error:
            raise TokenRejected(f"{prefix}_malformed") from error
        if header.get("alg") != self.config.id_token_alg:
            raise TokenRejected(f"{prefix}_algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected(f"{prefix}_kid_missing")
        keys = self._key_set()
        if not _has_kid(keys, kid):
            # FranceConnect rotated its keys: refetch the set once, then give up.
            refreshed = self._forced_refresh()
            if refreshed is None or not _has_kid(refreshed, kid):
                raise TokenRejected(f"{prefix}_kid_unknown")
            keys = refreshed
        try:
            return self._decode(value, keys, prefix)
        except TokenRejected as rejected:
            if rejected.reason != f"{prefix}_signature":
                raise
            # A key replaced under the same kid: the cached set is stale. One refetch, rate-limited.
            refreshed = self._forced_refresh()
            if refreshed is None:
                raise
            return self._decode(value, refreshed, prefix)

    def _decode(self, value: str, keys: KeySet, prefix: str) -> dict[str, Any]:
        try:
            token = jwt.decode(value, keys, algorithms=[self.config.id_token_alg])
        except BadSignatureError as error:
            raise TokenRejected(f"{prefix}_signature") from error
        except (JoseError, ValueError) as error:
            raise TokenRejected(f"{prefix}_invalid") from error
        return dict(token.claims)

    def _get_json(self, url: str) -> dict[str, Any]:
        response = self._request("GET", url, headers={"Accept": "application/json"})
        _raise_for_server_error(response)
        if response.status_code != 200:
            raise FranceConnectUnavailable("unexpected_status")
        try:
            document = response.json()
        except ValueError as error:
            raise FranceConnectUnavailable("invalid_json") from error
        if not isinstance(document, dict):
            raise FranceConnectUnavailable("invalid_json")
        return document

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            # Never longer than the request's deadline leaves (one deadline bounds every call).
            timeout = deadline.http_timeout(self.config.timeout_seconds, "franceconnect")
        except deadline.DeadlineExceeded as error:
            raise FranceConnectUnavailable("deadline") from error
        try:
            return self._session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as error:
            raise FranceConnectUnavailable("network") from error


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys)


def _validate_claims(registry: jwt.JWTClaimsRegistry, claims: dict[str, Any], prefix: str) -> None:
    try:
        registry.validate(claims)
    except ExpiredTokenError as error:
        raise TokenRejected(f"{prefix}_expired") from error
    except (MissingClaimError, InvalidClaimError) as error:
        claim = getattr(error, "claim", "claim")
        raise TokenRejected(f"{prefix}_{claim}") from error


def _raise_for_server_error(response: requests.Response) -> None:
    if response.status_code >= 500:
        raise FranceConnectUnavailable("server_error")


def _with_query(endpoint: str, params: Mapping[str, str]) -> str:
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode(params)
