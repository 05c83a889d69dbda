"""FranceConnect v2 client: every verification refuses what it must, with no network.

FranceConnect is played by an in-memory requests adapter holding real keys.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from requests.adapters import BaseAdapter

from reassort.adapters.franceconnect import (
    FranceConnectClient,
    FranceConnectConfig,
    FranceConnectUnavailable,
    TokenRejected,
)
from tests.support.fakes import FakeClock

ISSUER = "https://fc.test/api/v2"
CLIENT_ID = "reassort-client"
CLIENT_SECRET = "a-client-secret-long-enough-for-hs256-0123456789"
NONCE = "n" * 43
SUB = "f" * 64 + "v1"


def _es_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"}, private=True)


class FakeFranceConnect(BaseAdapter):
    """Answers the FranceConnect endpoints from memory; records what the client sent."""

    def __init__(self) -> None:
        super().__init__()
        self.key: Any = _es_key("key-1")
        self.published: list[Any] = [self.key]
        self.jwks_calls = 0
        self.discovery_calls = 0
        self.token_requests: list[requests.PreparedRequest] = []
        self.userinfo_body: tuple[str, str] = ("", "application/jwt")
        self.token_status = 200
        self.id_token = ""
        self.fail_with: Exception | None = None
        self.discovery_issuer = ISSUER
        self.discovery_overrides: dict[str, str] = {}

    # what FranceConnect would sign
    def sign(
        self, claims: dict[str, Any], key: Any = None, alg: str = "ES256", kid: str | None = None
    ) -> str:
        key = key or self.key
        header = {"alg": alg, "kid": kid or key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, key, algorithms=[alg])

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.fail_with is not None:
            raise self.fail_with
        path = urlsplit(request.url or "").path
        if path.endswith("/.well-known/openid-configuration"):
            self.discovery_calls += 1
            document = discovery_document(self.discovery_issuer) | self.discovery_overrides
            return _response(200, json.dumps(document), "application/json")
        if path.endswith("/jwks"):
            self.jwks_calls += 1
            keys = [key.as_dict(private=False) for key in self.published]
            return _response(200, json.dumps({"keys": keys}), "application/json")
        if path.endswith("/token"):
            self.token_requests.append(request)
            if self.token_status != 200:
                return _response(
                    self.token_status, json.dumps({"error": "invalid_grant"}), "application/json"
                )
            body = {
                "access_token": "at-123",
                "token_type": "Bearer",
                "expires_in": 60,
                "id_token": self.id_token,
            }
            return _response(200, json.dumps(body), "application/json")
        if path.endswith("/userinfo"):
            body, content_type = self.userinfo_body
            return _response(200, body, content_type)
        return _response(404, "{}", "application/json")

    def close(self) -> None:
        return None


def _response(status: int, body: str, content_type: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers["Content-Type"] = content_type
    return response


def discovery_document(issuer: str = ISSUER) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "end_session_endpoint": f"{ISSUER}/session/end",
        "jwks_uri": f"{ISSUER}/jwks",
        "id_token_signing_alg_values_supported": ["ES256", "RS256", "HS256"],
    }


def id_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": SUB,
        "aud": CLIENT_ID,
        "exp": now + 60,
        "iat": now,
        "nonce": NONCE,
        "acr": "eidas1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def userinfo_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": SUB,
        "iat": now,
        "exp": now + 60,
        "given_name": "Jean-Pierre Marie",
        "family_name": "Lefèvre",
        "birthdate": "1975-04-12",
        "gender": "male",
        "email": "jp.lefevre@exemple-perso.fr",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def fc() -> FakeFranceConnect:
    return FakeFranceConnect()


def _config(issuer: str = ISSUER, *, alg: str = "ES256", allow_loopback: bool = False) -> FranceConnectConfig:
    return FranceConnectConfig(
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri="https://reassort.test/api/fc/callback",
        post_logout_redirect_uri="https://reassort.test/api/fc/logout-return",
        id_token_alg=alg,
        allow_loopback=allow_loopback,
    )


@pytest.fixture
def make_client(fc: FakeFranceConnect) -> Callable[..., FranceConnectClient]:
    def build(alg: str = "ES256", clock: Callable[[], float] = time.time) -> FranceConnectClient:
        session = requests.Session()
        session.mount("https://fc.test/", fc)
        return FranceConnectClient(_config(alg=alg), session=session, clock=clock)

    return build


@pytest.fixture
def client(make_client: Callable[..., FranceConnectClient]) -> FranceConnectClient:
    return make_client()


def reason_of(call: Callable[[], object]) -> str:
    with pytest.raises(TokenRejected) as info:
        call()
    return info.value.reason


# -- configuration and URLs ------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["HS256", "none", "ES512", ""])
def test_given_an_algorithm_other_than_es256_or_rs256_when_configured_then_refused(alg: str) -> None:
    with pytest.raises(ValueError):
        _config(alg=alg)


def test_given_state_and_nonce_when_building_the_authorize_url_then_only_franceconnect_parameters(
    client: FranceConnectClient,
) -> None:
    url = client.authorize_url(state="s" * 43, nonce=NONCE)
    split = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(split.query).items()}
    assert f"{split.scheme}://{split.netloc}{split.path}" == f"{ISSUER}/authorize"
    assert set(params) == {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "acr_values",
    }
    assert params["response_type"] == "code"
    assert params["acr_values"] == "eidas1"
    # Only the claims the match and the send use (nothing "just in case": it shows in the habilitation).
    assert params["scope"].split() == ["openid", "given_name", "family_name", "birthdate", "gender", "email"]
    assert params["state"] == "s" * 43 and params["nonce"] == NONCE
    assert "code_challenge" not in url


def test_given_discovery_when_used_several_times_then_fetched_once(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    client.authorize_url("s" * 43, NONCE)
    client.logout_url("token", "s" * 43)
    assert fc.discovery_calls == 1


def test_given_a_discovery_naming_another_issuer_when_loaded_then_unavailable(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    fc.discovery_issuer = "https://evil.test/api/v2"
    with pytest.raises(FranceConnectUnavailable) as info:
        client.metadata()
    assert info.value.reason == "discovery_issuer_mismatch"


@pytest.mark.parametrize(
    "endpoint, url",
    [
        ("token_endpoint", "http://fc.test/api/v2/token"),
        ("jwks_uri", "https://127.0.0.1/api/v2/jwks"),
        ("authorization_endpoint", "https://localhost/api/v2/authorize"),
    ],
)
def test_given_a_discovery_announcing_an_endpoint_off_public_https_when_loaded_then_unavailable(
    client: FranceConnectClient, fc: FakeFranceConnect, endpoint: str, url: str
) -> None:
    fc.discovery_overrides = {endpoint: url}
    with pytest.raises(FranceConnectUnavailable) as info:
        client.metadata()
    assert info.value.reason == "discovery_insecure_endpoint"
    assert fc.token_requests == []


@pytest.mark.parametrize(
    "issuer",
    [
        "http://127.0.0.1:8100/api/v2",
        "http://localhost:8100/api/v2",
        "https://127.1/api/v2",
        "https://[::1]:8443/api/v2",
        "http://fc.example.gouv.fr/api/v2",
        "fc.example.gouv.fr/api/v2",
    ],
)
def test_given_a_deployed_stage_when_the_issuer_is_not_a_public_https_url_then_refused(issuer: str) -> None:
    with pytest.raises(ValueError, match="FC_ISSUER"):
        _config(issuer)


def test_given_the_local_stage_when_the_issuer_is_the_emulator_on_this_machine_then_accepted() -> None:
    assert _config("http://127.0.0.1:8100/api/v2", allow_loopback=True).allow_loopback
    assert _config("http://localhost:8100/api/v2", allow_loopback=True).allow_loopback
    assert _config(ISSUER, allow_loopback=True).issuer == ISSUER


def test_given_the_local_stage_when_the_issuer_is_plain_http_elsewhere_then_still_refused() -> None:
    with pytest.raises(ValueError, match="FC_ISSUER must be an https URL"):
        _config("http://fc.example.gouv.fr/api/v2", allow_loopback=True)


def test_given_an_id_token_when_building_the_logout_url_then_hint_state_and_return_uri(
    client: FranceConnectClient,
) -> None:
    url = client.logout_url("the-id-token", "the-state")
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{ISSUER}/session/end?")
    assert params == {
        "id_token_hint": "the-id-token",
        "state": "the-state",
        "post_logout_redirect_uri": "https://reassort.test/api/fc/logout-return",
    }


# -- code exchange --------------------------------------------------------------------------------


def test_given_a_code_when_exchanged_then_client_secret_post_is_used(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    fc.id_token = fc.sign(id_claims())
    tokens = client.exchange_code("the-code")
    assert tokens.id_token == fc.id_token
    sent = fc.token_requests[0]
    form = parse_qs(str(sent.body))
    assert form["client_id"] == [CLIENT_ID]
    assert form["client_secret"] == [CLIENT_SECRET]
    assert form["grant_type"] == ["authorization_code"]
    assert form["code"] == ["the-code"]
    assert "Authorization" not in sent.headers


def test_given_a_refused_code_when_exchanged_then_token_rejected(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    fc.token_status = 400
    assert reason_of(lambda: client.exchange_code("replayed")) == "code_refused"


def test_given_franceconnect_failing_when_exchanging_then_unavailable(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    fc.token_status = 503
    fc.id_token = fc.sign(id_claims())
    with pytest.raises(FranceConnectUnavailable):
        client.exchange_code("code")


def test_given_a_network_failure_when_calling_franceconnect_then_typed_unavailable(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    fc.fail_with = requests.ConnectTimeout("timed out")
    with pytest.raises(FranceConnectUnavailable) as info:
        client.metadata()
    assert info.value.reason == "network"


# -- ID token -------------------------------------------------------------------------------------


def test_given_a_valid_id_token_when_verified_then_claims_returned(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    claims = client.verify_id_token(fc.sign(id_claims()), NONCE)
    assert claims["sub"] == SUB and claims["acr"] == "eidas1"


def test_given_an_id_token_signed_hs256_with_the_client_secret_when_verified_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    secret = OctKey.import_key(CLIENT_SECRET)
    token = fc.sign(id_claims(), key=secret, alg="HS256", kid="key-1")
    assert reason_of(lambda: client.verify_id_token(token, NONCE)) == "id_token_algorithm"


def test_given_an_rs256_token_when_es256_is_pinned_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}, private=True)
    fc.published.append(rsa)
    token = fc.sign(id_claims(), key=rsa, alg="RS256")
    assert reason_of(lambda: client.verify_id_token(token, NONCE)) == "id_token_algorithm"


def test_given_rs256_pinned_when_franceconnect_signs_rs256_then_accepted(
    make_client: Callable[..., FranceConnectClient], fc: FakeFranceConnect
) -> None:
    rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}, private=True)
    fc.published = [rsa]
    client = make_client("RS256")
    assert client.verify_id_token(fc.sign(id_claims(), key=rsa, alg="RS256"), NONCE)["sub"] == SUB


def test_given_a_symmetric_key_in_the_jwks_when_verifying_then_it_is_never_used(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    secret = OctKey.import_key(CLIENT_SECRET, parameters={"kid": "oct-1"})
    fc.published.append(secret)
    token = fc.sign(id_claims(), key=secret, alg="HS256")
    assert reason_of(lambda: client.verify_id_token(token, NONCE)) == "id_token_algorithm"


def test_given_a_signature_by_another_key_under_the_published_kid_when_verified_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    impostor = _es_key("key-1")
    token = fc.sign(id_claims(), key=impostor)
    assert reason_of(lambda: client.verify_id_token(token, NONCE)) == "id_token_signature"


def test_given_a_key_replaced_under_the_same_kid_when_verified_then_one_refetch_and_accepted(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    client.verify_id_token(fc.sign(id_claims()), NONCE)  # JWKS cached with the first key-1
    fc.key = _es_key("key-1")  # FranceConnect replaces the key, same kid
    fc.published = [fc.key]
    assert client.verify_id_token(fc.sign(id_claims()), NONCE)["sub"] == SUB
    assert fc.jwks_calls == 2
    client.verify_id_token(fc.sign(id_claims()), NONCE)
    assert fc.jwks_calls == 2  # the new set is cached


def test_given_forged_signatures_under_a_known_kid_when_verified_again_and_again_then_one_refetch_a_minute(
    make_client: Callable[..., FranceConnectClient], fc: FakeFranceConnect
) -> None:
    clock = FakeClock(time.time())
    client = make_client(clock=clock.now)
    client.verify_id_token(fc.sign(id_claims()), NONCE)
    forged = fc.sign(id_claims(), key=_es_key("key-1"))
    for _ in range(20):
        assert reason_of(lambda: client.verify_id_token(forged, NONCE)) == "id_token_signature"
    assert fc.jwks_calls == 2
    clock.value += 61
    assert reason_of(lambda: client.verify_id_token(forged, NONCE)) == "id_token_signature"
    assert fc.jwks_calls == 3


def test_given_a_payload_changed_after_signing_when_verified_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    header, _, signature = fc.sign(id_claims()).split(".")
    forged = (
        base64.urlsafe_b64encode(json.dumps(id_claims(sub="someone-else")).encode()).rstrip(b"=").decode()
    )
    assert (
        reason_of(lambda: client.verify_id_token(f"{header}.{forged}.{signature}", NONCE))
        == "id_token_signature"
    )


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil.test/api/v2"}, "id_token_iss"),
        ({"iss": None}, "id_token_iss"),
        ({"aud": "another-client"}, "id_token_aud"),
        ({"aud": None}, "id_token_aud"),
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 300}, "id_token_expired"),
        ({"exp": None}, "id_token_exp"),
        ({"iat": int(time.time()) + 600}, "id_token_iat"),
        ({"acr": None}, "id_token_acr"),
        ({"acr": "eidas2"}, "id_token_acr"),
        ({"nonce": "x" * 43}, "id_token_nonce"),
        ({"nonce": None}, "id_token_nonce"),
        ({"sub": None}, "id_token_sub"),
    ],
    ids=[
        "wrong-iss",
        "no-iss",
        "wrong-aud",
        "no-aud",
        "expired",
        "no-exp",
        "issued-in-future",
        "no-acr",
        "other-acr",
        "wrong-nonce",
        "no-nonce",
        "no-sub",
    ],
)
def test_given_an_id_token_with_a_bad_claim_when_verified_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect, overrides: dict[str, Any], reason: str
) -> None:
    token = fc.sign(id_claims(**overrides))
    assert reason_of(lambda: client.verify_id_token(token, NONCE)) == reason


def test_given_several_audiences_without_azp_when_verified_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    token = fc.sign(id_claims(aud=[CLIENT_ID, "another-client"]))
    assert reason_of(lambda: client.verify_id_token(token, NONCE)) == "id_token_azp"


def test_given_an_unknown_kid_when_verified_then_jwks_refetched_once_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    client.verify_id_token(fc.sign(id_claims()), NONCE)  # JWKS now cached
    assert fc.jwks_calls == 1
    stranger = _es_key("never-published")
    token = fc.sign(id_claims(), key=stranger)
    assert reason_of(lambda: client.verify_id_token(token, NONCE)) == "id_token_kid_unknown"
    assert fc.jwks_calls == 2


def test_given_franceconnect_rotated_its_key_when_verified_then_one_refetch_and_accepted(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    client.verify_id_token(fc.sign(id_claims()), NONCE)
    fc.key = _es_key("key-2")
    fc.published = [fc.key]
    assert client.verify_id_token(fc.sign(id_claims()), NONCE)["sub"] == SUB
    assert fc.jwks_calls == 2
    client.verify_id_token(fc.sign(id_claims()), NONCE)
    assert fc.jwks_calls == 2  # cached again


def test_given_a_token_without_kid_when_verified_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    token = jwt.encode({"alg": "ES256"}, id_claims(), fc.key)
    assert reason_of(lambda: client.verify_id_token(token, NONCE)) == "id_token_kid_missing"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "é.é.é"])
def test_given_garbage_instead_of_a_token_when_verified_then_refused(
    client: FranceConnectClient, garbage: str
) -> None:
    with pytest.raises(TokenRejected):
        client.verify_id_token(garbage, NONCE)


# -- userinfo -------------------------------------------------------------------------------------


def test_given_a_signed_userinfo_when_fetched_then_claims_returned(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    fc.userinfo_body = (fc.sign(userinfo_claims()), "application/jwt; charset=utf-8")
    claims = client.fetch_userinfo("at-123", expected_sub=SUB)
    assert claims["family_name"] == "Lefèvre"


def test_given_a_plain_json_userinfo_when_fetched_then_refused_as_unsigned(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    fc.userinfo_body = (json.dumps(userinfo_claims()), "application/json")
    assert reason_of(lambda: client.fetch_userinfo("at-123", SUB)) == "userinfo_not_signed"


def test_given_an_alg_none_userinfo_when_fetched_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    fc.userinfo_body = (
        f"{b64({'alg': 'none', 'kid': 'key-1'})}.{b64(userinfo_claims())}.",
        "application/jwt",
    )
    assert reason_of(lambda: client.fetch_userinfo("at-123", SUB)) == "userinfo_algorithm"


def test_given_a_tampered_userinfo_when_fetched_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    header, _, signature = fc.sign(userinfo_claims()).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(userinfo_claims(family_name="Martin")).encode()).rstrip(b"=")
    fc.userinfo_body = (f"{header}.{forged.decode()}.{signature}", "application/jwt")
    assert reason_of(lambda: client.fetch_userinfo("at-123", SUB)) == "userinfo_signature"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil.test/api/v2"}, "userinfo_iss"),
        ({"aud": "another-client"}, "userinfo_aud"),
        ({"sub": "someone-else"}, "userinfo_sub"),
        ({"exp": int(time.time()) - 120}, "userinfo_expired"),
    ],
)
def test_given_a_userinfo_with_a_bad_claim_when_fetched_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect, overrides: dict[str, Any], reason: str
) -> None:
    fc.userinfo_body = (fc.sign(userinfo_claims(**overrides)), "application/jwt")
    assert reason_of(lambda: client.fetch_userinfo("at-123", SUB)) == reason


def test_given_a_userinfo_signed_hs256_when_fetched_then_refused(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    token = fc.sign(userinfo_claims(), key=OctKey.import_key(CLIENT_SECRET), alg="HS256", kid="key-1")
    fc.userinfo_body = (token, "application/jwt")
    assert reason_of(lambda: client.fetch_userinfo("at-123", SUB)) == "userinfo_algorithm"


def test_given_a_full_login_when_completed_then_id_token_userinfo_and_subject_are_consistent(
    client: FranceConnectClient, fc: FakeFranceConnect
) -> None:
    fc.id_token = fc.sign(id_claims())
    fc.userinfo_body = (fc.sign(userinfo_claims()), "application/jwt")
    login = client.complete_login("code", NONCE)
    assert login.id_claims["sub"] == login.userinfo["sub"] == SUB
    assert "Lefèvre" not in repr(login)
