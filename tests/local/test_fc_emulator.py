"""The FranceConnect emulator of the local stack keeps FranceConnect v2's rules: tested on its own,
over HTTP, as a client would meet it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from local.fc_emulator import FranceConnectEmulator

CLIENT_ID = "emulator-test"
CLIENT_SECRET = "c" * 40
CALLBACK = "https://client.test/api/fc/callback"
LOGOUT_RETURN = "https://client.test/api/fc/logout-return"


@pytest.fixture(scope="module")
def fc() -> Iterator[FranceConnectEmulator]:
    emulator = FranceConnectEmulator(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[CALLBACK],
        post_logout_redirect_uris=[LOGOUT_RETURN],
    )
    emulator.start()
    yield emulator
    emulator.stop()


def authorize_params(**overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid given_name family_name birthdate gender email",
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "acr_values": "eidas1",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v != "<absent>"}


def authorize_url(fc: FranceConnectEmulator, **overrides: str) -> str:
    return f"{fc.issuer}/authorize?{urlencode(authorize_params(**overrides))}"


def token_form(code: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


def test_given_a_well_formed_authorize_request_then_the_account_choice_page(
    fc: FranceConnectEmulator,
) -> None:
    response = requests.get(authorize_url(fc), timeout=5)
    assert response.status_code == 200 and response.headers["X-Interaction-Id"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": "abc", "code_challenge_method": "S256"},  # FranceConnect rejects PKCE
        {"state": "tooshort"},
        {"nonce": "tooshort"},
        {"state": "<absent>"},
        {"scope": "openid birthplace_unknown"},
        {"scope": "given_name"},
        {"acr_values": "eidas2"},
        {"redirect_uri": "https://evil.test/cb"},
        {"client_id": "someone-else"},
        {"response_type": "token"},
    ],
    ids=lambda o: "-".join(o),
)
def test_given_parameters_breaking_franceconnect_rules_when_authorizing_then_refused(
    fc: FranceConnectEmulator, overrides: dict[str, str]
) -> None:
    response = requests.get(authorize_url(fc, **overrides), allow_redirects=False, timeout=5)
    assert response.status_code == 400
    assert "X-Interaction-Id" not in response.headers


def test_given_a_login_when_it_calls_back_then_code_state_and_its_issuer(fc: FranceConnectEmulator) -> None:
    params = authorize_params()
    callback = fc.authenticate(f"{fc.issuer}/authorize?{urlencode(params)}")
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert callback.startswith(CALLBACK + "?")
    assert query["state"] == params["state"] and query["code"]
    assert query["iss"] == fc.issuer  # RFC 9207
    discovery = requests.get(f"{fc.issuer}/.well-known/openid-configuration", timeout=5).json()
    assert discovery["authorization_response_iss_parameter_supported"] is True
    assert discovery["issuer"] == fc.issuer


def test_given_a_code_reused_or_too_old_when_exchanged_then_refused(fc: FranceConnectEmulator) -> None:
    token_url = fc.issuer + "/token"
    code = parse_qs(urlsplit(fc.authenticate(authorize_url(fc))).query)["code"][0]
    assert requests.post(token_url, data=token_form(code), timeout=5).status_code == 200
    assert requests.post(token_url, data=token_form(code), timeout=5).status_code == 400

    code = parse_qs(urlsplit(fc.authenticate(authorize_url(fc))).query)["code"][0]
    fc.advance(31)
    try:
        assert requests.post(token_url, data=token_form(code), timeout=5).status_code == 400
    finally:
        fc.advance(-31)


def test_given_the_client_secret_in_basic_auth_when_exchanging_then_refused(
    fc: FranceConnectEmulator,
) -> None:
    code = parse_qs(urlsplit(fc.authenticate(authorize_url(fc))).query)["code"][0]
    form = token_form(code)
    response = requests.post(
        fc.issuer + "/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET), timeout=5
    )  # FranceConnect wants client_secret_post
    assert response.status_code == 401


def test_given_a_cancelled_login_then_access_denied_with_the_state(fc: FranceConnectEmulator) -> None:
    params = authorize_params()
    callback = fc.authenticate(f"{fc.issuer}/authorize?{urlencode(params)}", cancel=True)
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert query["error"] == "access_denied" and query["state"] == params["state"]
