"""A FranceConnect v2 OpenID provider on loopback, for the local stack and the tests only.

It follows FranceConnect's rules where a client could get them wrong: only FranceConnect's
authorize parameters are accepted (an unknown one, e.g. PKCE's ``code_challenge``, is refused),
``state`` and ``nonce`` must have at least 32 characters, ``acr_values`` must be ``eidas1``,
the client authenticates with ``client_secret_post``, codes live 30 s and are single use,
access tokens live 60 s, the userinfo is a signed JWT and logout needs a registered
``post_logout_redirect_uri``. Tests can make it misbehave with :class:`Fault`.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, render_template_string, request
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import pages
from .identities import TEST_IDENTITIES, TestIdentity, identity_by_key

__all__ = ["ALLOWED_AUTHORIZE_PARAMETERS", "Fault", "FranceConnectEmulator"]

API_PREFIX = "/api/v2"
CODE_TTL_SECONDS = 30
TOKEN_TTL_SECONDS = 60
MIN_STATE_NONCE_LENGTH = 32
ALLOWED_AUTHORIZE_PARAMETERS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "acr_values",
        "prompt",
        "claims",
    }
)
KNOWN_SCOPES = frozenset(
    {
        "openid",
        "given_name",
        "given_name_array",
        "family_name",
        "birthdate",
        "gender",
        "birthplace",
        "birthcountry",
        "email",
        "preferred_username",
    }
)
ALLOWED_PROMPTS = frozenset({"login", "consent"})


class Fault(StrEnum):
    """Ways the emulator can misbehave, to prove the client refuses each one."""

    TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"  # authorize answers error=temporarily_unavailable
    ID_TOKEN_HS256 = "id_token_hs256"  # ID token signed with HS256 and the client secret
    ID_TOKEN_BAD_SIGNATURE = "id_token_bad_signature"  # signed by another key under the published kid
    ID_TOKEN_UNKNOWN_KID = "id_token_unknown_kid"  # signed by a key never published in the JWKS
    ID_TOKEN_WRONG_ISS = "id_token_wrong_iss"
    ID_TOKEN_WRONG_AUD = "id_token_wrong_aud"
    ID_TOKEN_EXPIRED = "id_token_expired"
    ID_TOKEN_NO_ACR = "id_token_no_acr"
    ID_TOKEN_WRONG_NONCE = "id_token_wrong_nonce"
    USERINFO_JSON = "userinfo_json"  # plain, unsigned JSON
    USERINFO_ALG_NONE = "userinfo_alg_none"  # a JWT with "alg": "none"
    USERINFO_TAMPERED = "userinfo_tampered"  # payload changed after signing
    USERINFO_WRONG_ISS = "userinfo_wrong_iss"
    USERINFO_WRONG_AUD = "userinfo_wrong_aud"
    USERINFO_NO_EMAIL = "userinfo_no_email"
    TOKEN_SERVER_ERROR = "token_server_error"  # the token endpoint answers 503


@dataclass
class _Interaction:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    nonce: str
    acr: str


@dataclass
class _Code:
    interaction: _Interaction
    identity: TestIdentity
    issued_at: float
    used: bool = False


@dataclass
class _AccessToken:
    client_id: str
    identity: TestIdentity
    scopes: tuple[str, ...]
    issued_at: float


@dataclass
class _Counters:
    jwks: int = 0
    token: int = 0
    userinfo: int = 0
    logout: int = 0


@dataclass
class _Client:
    client_id: str
    client_secret: str
    redirect_uris: frozenset[str]
    post_logout_redirect_uris: frozenset[str]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class _Keys:
    alg: str
    current: Any
    published: list[Any] = field(default_factory=list)


def _generate_key(alg: str) -> Any:
    kid = "fc-" + secrets.token_hex(8)
    parameters: Any = {"kid": kid, "use": "sig", "alg": alg}
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters, private=True)
    return RSAKey.generate_key(2048, parameters=parameters, private=True)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FranceConnectEmulator:
    """Start with :meth:`start` (returns the issuer URL), stop with :meth:`stop`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str],
        post_logout_redirect_uris: Iterable[str],
        alg: str = "ES256",
    ) -> None:
        if alg not in {"ES256", "RS256"}:
            raise ValueError("alg must be ES256 or RS256")
        self.host = host
        self.port = port
        self.client = _Client(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=frozenset(redirect_uris),
            post_logout_redirect_uris=frozenset(post_logout_redirect_uris),
        )
        key = _generate_key(alg)
        self._keys = _Keys(alg=alg, current=key, published=[key])
        self.faults: set[Fault] = set()
        self.counters = _Counters()
        self.clock_offset = 0.0
        self._lock = threading.Lock()
        self._interactions: dict[str, _Interaction] = {}
        self._codes: dict[str, _Code] = {}
        self._access_tokens: dict[str, _AccessToken] = {}
        self._id_tokens: set[str] = set()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.issuer = ""
        self.app = self._build_app()

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> str:
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self.issuer = f"http://{self.host}:{self.port}{API_PREFIX}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fc-emulator", daemon=True)
        self._thread.start()
        return self.issuer

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FranceConnectEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls --------------------------------------------------------------------------

    def set_faults(self, *faults: Fault) -> None:
        self.faults = set(faults)

    def reset(self) -> None:
        """Forget faults, counters, codes and tokens (keys stay)."""
        with self._lock:
            self.faults = set()
            self.counters = _Counters()
            self.clock_offset = 0.0
            self._interactions.clear()
            self._codes.clear()
            self._access_tokens.clear()

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward (codes and tokens expire)."""
        self.clock_offset += seconds

    def rotate_keys(self, keep_old: bool = False) -> str:
        """Sign with a new key from now on and publish it; returns its kid."""
        key = _generate_key(self._keys.alg)
        with self._lock:
            self._keys.current = key
            self._keys.published = [*self._keys.published, key] if keep_old else [key]
        return str(key.kid)

    @property
    def current_kid(self) -> str:
        return str(self._keys.current.kid)

    def authenticate(self, authorize_url: str, identity: str = "jean-pierre", cancel: bool = False) -> str:
        """Do what a browser does on the emulator's pages; returns the redirect back to the client.

        Goes through HTTP like a browser, so the authorize parameters are checked for real.
        Returns the ``Location`` (the client's callback URL with ``code`` or ``error``).
        """
        import requests  # local import: only tests use this helper

        response = requests.get(authorize_url, allow_redirects=False, timeout=5)
        if response.status_code == 302:
            return str(response.headers["Location"])
        if response.status_code != 200:
            raise AssertionError(f"authorize refused: {response.status_code} {response.text[:200]}")
        uid = response.headers["X-Interaction-Id"]
        base = f"http://{self.host}:{self.port}/interaction/{uid}"
        if cancel:
            response = requests.post(f"{base}/cancel", allow_redirects=False, timeout=5)
        else:
            response = requests.post(
                f"{base}/login", data={"identity": identity}, allow_redirects=False, timeout=5
            )
        if response.status_code != 302:
            raise AssertionError(f"login refused: {response.status_code}")
        return str(response.headers["Location"])

    # -- internals ------------------------------------------------------------------------------

    def _now(self) -> float:
        return time.time() + self.clock_offset

    def _error_page(self, code: str, description: str, status: int = 400) -> Response:
        html = render_template_string(pages.ERROR, title="Erreur", code=code, description=description)
        return Response(html, status=status, mimetype="text/html")

    def _redirect_back(self, interaction: _Interaction, **params: str) -> Response:
        # RFC 9207: the answer names its issuer, so a client can refuse a mixed-up provider.
        params = {**params, "state": interaction.state, "iss": self.issuer}
        separator = "&" if "?" in interaction.redirect_uri else "?"
        return _found(interaction.redirect_uri + separator + urlencode(params))

    def _sign(self, claims: dict[str, Any], key: Any | None = None, alg: str | None = None) -> str:
        key = key or self._keys.current
        alg = alg or self._keys.alg
        header = {"alg": alg, "kid": key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, key, algorithms=[alg])

    def _id_token(self, code: _Code) -> str:
        now = int(self._now())
        interaction = code.interaction
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": code.identity.sub(interaction.client_id),
            "aud": interaction.client_id,
            "exp": now + TOKEN_TTL_SECONDS,
            "iat": now,
            "auth_time": int(code.issued_at),
            "nonce": interaction.nonce,
            "acr": interaction.acr,
        }
        faults = self.faults
        if Fault.ID_TOKEN_WRONG_ISS in faults:
            claims["iss"] = "https://fc.example.invalid/api/v2"
        if Fault.ID_TOKEN_WRONG_AUD in faults:
            claims["aud"] = "another-service-provider"
        if Fault.ID_TOKEN_EXPIRED in faults:
            claims["iat"], claims["exp"] = now - 600, now - 300
        if Fault.ID_TOKEN_NO_ACR in faults:
            del claims["acr"]
        if Fault.ID_TOKEN_WRONG_NONCE in faults:
            claims["nonce"] = secrets.token_urlsafe(32)
        if Fault.ID_TOKEN_HS256 in faults:
            secret = OctKey.import_key(self.client.client_secret, parameters={"kid": self.current_kid})
            return self._sign(claims, key=secret, alg="HS256")
        if Fault.ID_TOKEN_BAD_SIGNATURE in faults:
            impostor = _generate_key(self._keys.alg)
            impostor_key = type(impostor).import_key(
                impostor.as_dict(private=True) | {"kid": self.current_kid}
            )
            return self._sign(claims, key=impostor_key)
        if Fault.ID_TOKEN_UNKNOWN_KID in faults:
            return self._sign(claims, key=_generate_key(self._keys.alg))
        return self._sign(claims)

    def _userinfo(self, token: _AccessToken) -> Response:
        now = int(self._now())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": token.client_id,
            "sub": token.identity.sub(token.client_id),
            "iat": now,
            "exp": now + TOKEN_TTL_SECONDS,
        }
        for name, value in token.identity.userinfo_claims().items():
            if name in token.scopes:
                claims[name] = value
        faults = self.faults
        if Fault.USERINFO_NO_EMAIL in faults:
            claims.pop("email", None)
        if Fault.USERINFO_WRONG_ISS in faults:
            claims["iss"] = "https://fc.example.invalid/api/v2"
        if Fault.USERINFO_WRONG_AUD in faults:
            claims["aud"] = "another-service-provider"
        if Fault.USERINFO_JSON in faults:
            return Response(json.dumps(claims), status=200, mimetype="application/json")
        if Fault.USERINFO_ALG_NONE in faults:
            header = _b64url(json.dumps({"alg": "none", "kid": self.current_kid}).encode())
            body = _b64url(json.dumps(claims).encode())
            return Response(f"{header}.{body}.", status=200, mimetype="application/jwt")
        signed = self._sign(claims)
        if Fault.USERINFO_TAMPERED in faults:
            header, _payload, signature = signed.split(".")
            forged = dict(
                claims, family_name="Lefèvre", given_name="Jean-Pierre Marie", birthdate="1975-04-12"
            )
            signed = ".".join([header, _b64url(json.dumps(forged).encode()), signature])
        return Response(signed, status=200, mimetype="application/jwt")

    def _build_app(self) -> Flask:
        app = Flask("fc_emulator")

        @app.get(f"{API_PREFIX}/.well-known/openid-configuration")
        def discovery() -> Response:
            base = self.issuer
            document = {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "end_session_endpoint": f"{base}/session/end",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "scopes_supported": sorted(KNOWN_SCOPES),
                "claims_supported": sorted(KNOWN_SCOPES - {"openid"} | {"sub", "iss", "aud", "acr"}),
                "acr_values_supported": ["eidas1"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                # FranceConnect lists HS256 too: a client must pin its algorithm instead.
                "id_token_signing_alg_values_supported": ["ES256", "RS256", "HS256"],
                "userinfo_signing_alg_values_supported": ["ES256", "RS256", "HS256"],
                "request_parameter_supported": False,
                "authorization_response_iss_parameter_supported": True,
            }
            return Response(json.dumps(document), mimetype="application/json")

        @app.get(f"{API_PREFIX}/jwks")
        def jwks() -> Response:
            with self._lock:
                self.counters.jwks += 1
                keys = [key.as_dict(private=False) for key in self._keys.published]
            return Response(json.dumps({"keys": keys}), mimetype="application/json")

        @app.get(f"{API_PREFIX}/authorize")
        def authorize() -> Response:
            args = request.args
            unknown = sorted(set(args) - ALLOWED_AUTHORIZE_PARAMETERS)
            if unknown:
                return self._error_page("Y000400", "Paramètre non reconnu : " + ", ".join(unknown))
            if any(len(args.getlist(name)) > 1 for name in args):
                return self._error_page("Y000400", "Paramètre répété.")
            if args.get("client_id") != self.client.client_id:
                return self._error_page("Y030106", "Fournisseur de service inconnu.")
            redirect_uri = args.get("redirect_uri", "")
            if redirect_uri not in self.client.redirect_uris:
                return self._error_page("Y030118", "redirect_uri non enregistrée.")
            if args.get("response_type") != "code":
                return self._error_page("Y000400", "response_type doit valoir code.")
            scopes = tuple(args.get("scope", "").split())
            if "openid" not in scopes or not set(scopes) <= KNOWN_SCOPES:
                return self._error_page("Y000400", "scope invalide.")
            state, nonce = args.get("state", ""), args.get("nonce", "")
            if len(state) < MIN_STATE_NONCE_LENGTH:
                return self._error_page("Y000400", "state absent ou trop court (32 caractères minimum).")
            if len(nonce) < MIN_STATE_NONCE_LENGTH:
                return self._error_page("Y000400", "nonce absent ou trop court (32 caractères minimum).")
            acr = args.get("acr_values", "")
            if acr != "eidas1":
                return self._error_page("Y000400", "acr_values doit valoir eidas1.")
            prompt = args.get("prompt")
            if prompt is not None and not set(prompt.split()) <= ALLOWED_PROMPTS:
                return self._error_page("Y000400", "prompt invalide.")
            claims = args.get("claims")
            if claims is not None:
                try:
                    json.loads(claims)
                except ValueError:
                    return self._error_page("Y000400", "claims invalide.")
            interaction = _Interaction(
                client_id=self.client.client_id,
                redirect_uri=redirect_uri,
                scopes=scopes,
                state=state,
                nonce=nonce,
                acr=acr,
            )
            if Fault.TEMPORARILY_UNAVAILABLE in self.faults:
                return self._redirect_back(
                    interaction,
                    error="temporarily_unavailable",
                    error_description="Le service est temporairement indisponible",
                )
            uid = secrets.token_urlsafe(16)
            with self._lock:
                self._interactions[uid] = interaction
            html = render_template_string(
                pages.CHOOSE_PROVIDER,
                title="Choix du compte",
                client_id=self.client.client_id,
                identities_url=f"/interaction/{uid}/identities",
                cancel_url=f"/interaction/{uid}/cancel",
            )
            return Response(html, mimetype="text/html", headers={"X-Interaction-Id": uid})

        @app.get("/interaction/<uid>/identities")
        def identities(uid: str) -> Response:
            if uid not in self._interactions:
                return self._error_page("Y000404", "Session de connexion inconnue ou expirée.", 404)
            html = render_template_string(
                pages.CHOOSE_IDENTITY,
                title="Identités de test",
                identities=TEST_IDENTITIES,
                login_url=f"/interaction/{uid}/login",
                cancel_url=f"/interaction/{uid}/cancel",
            )
            return Response(html, mimetype="text/html")

        @app.post("/interaction/<uid>/cancel")
        def cancel(uid: str) -> Response:
            with self._lock:
                interaction = self._interactions.pop(uid, None)
            if interaction is None:
                return self._error_page("Y000404", "Session de connexion inconnue ou expirée.", 404)
            return self._redirect_back(
                interaction, error="access_denied", error_description="User auth aborted"
            )

        @app.post("/interaction/<uid>/login")
        def login(uid: str) -> Response:
            with self._lock:
                interaction = self._interactions.pop(uid, None)
            if interaction is None:
                return self._error_page("Y000404", "Session de connexion inconnue ou expirée.", 404)
            try:
                identity = identity_by_key(request.form.get("identity", ""))
            except KeyError:
                return self._error_page("Y000400", "Identité inconnue.")
            code = secrets.token_urlsafe(32)
            with self._lock:
                self._codes[code] = _Code(interaction=interaction, identity=identity, issued_at=self._now())
            return self._redirect_back(interaction, code=code)

        @app.post(f"{API_PREFIX}/token")
        def token() -> Response:
            with self._lock:
                self.counters.token += 1
            if Fault.TOKEN_SERVER_ERROR in self.faults:
                return _json_error("server_error", 503)
            form = request.form
            if request.authorization is not None:
                return _json_error("invalid_client", 401)  # client_secret_post only
            if form.get("client_id") != self.client.client_id or not secrets.compare_digest(
                form.get("client_secret", ""), self.client.client_secret
            ):
                return _json_error("invalid_client", 401)
            if form.get("grant_type") != "authorization_code":
                return _json_error("unsupported_grant_type", 400)
            with self._lock:
                entry = self._codes.get(form.get("code", ""))
                if entry is None or entry.used:
                    return _json_error("invalid_grant", 400)
                entry.used = True
            if self._now() - entry.issued_at > CODE_TTL_SECONDS:
                return _json_error("invalid_grant", 400)
            if form.get("redirect_uri") != entry.interaction.redirect_uri:
                return _json_error("invalid_grant", 400)
            access_token = secrets.token_urlsafe(32)
            id_token = self._id_token(entry)
            with self._lock:
                self._access_tokens[access_token] = _AccessToken(
                    client_id=entry.interaction.client_id,
                    identity=entry.identity,
                    scopes=entry.interaction.scopes,
                    issued_at=self._now(),
                )
                self._id_tokens.add(id_token)
            body = {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_TTL_SECONDS,
                "id_token": id_token,
                "scope": " ".join(entry.interaction.scopes),
            }
            return Response(
                json.dumps(body), mimetype="application/json", headers={"Cache-Control": "no-store"}
            )

        @app.get(f"{API_PREFIX}/userinfo")
        def userinfo() -> Response:
            with self._lock:
                self.counters.userinfo += 1
            header = request.headers.get("Authorization", "")
            value = header[7:] if header.startswith("Bearer ") else ""
            entry = self._access_tokens.get(value)
            if entry is None or self._now() - entry.issued_at > TOKEN_TTL_SECONDS:
                return _json_error("invalid_token", 401)
            return self._userinfo(entry)

        @app.get(f"{API_PREFIX}/session/end")
        def session_end() -> Response:
            with self._lock:
                self.counters.logout += 1
            args = request.args
            unknown = set(args) - {"id_token_hint", "state", "post_logout_redirect_uri", "ui_locales"}
            if unknown:
                return self._error_page("Y000400", "Paramètre non reconnu : " + ", ".join(sorted(unknown)))
            target = args.get("post_logout_redirect_uri", "")
            if target not in self.client.post_logout_redirect_uris:
                return self._error_page("Y000400", "post_logout_redirect_uri non enregistrée.")
            if args.get("id_token_hint", "") not in self._id_tokens:
                return self._error_page("Y000400", "id_token_hint invalide.")
            state = args.get("state", "")
            if not state:
                return self._error_page("Y000400", "state absent.")
            with self._lock:
                self._id_tokens.discard(args["id_token_hint"])
            separator = "&" if urlsplit(target).query else "?"
            return _found(target + separator + urlencode({"state": state}))

        return app


def _found(location: str) -> Response:
    return Response(status=302, headers={"Location": location})


def _json_error(error: str, status: int) -> Response:
    return Response(json.dumps({"error": error}), status=status, mimetype="application/json")
