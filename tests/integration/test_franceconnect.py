"""FranceConnect path end to end: the fc_callback handler in-process (API Gateway v2 events),
DynamoDB/SES on moto, and the FranceConnect emulator on loopback as the real OpenID provider.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from fc_callback.handler import PAGES
from local.fc_emulator import Fault, FranceConnectEmulator, identity_by_key
from local.lambda_adapter import HttpRequest, LambdaContext, build_event
from local.tables import put_roll_record
from reassort import wiring
from reassort.config import get_settings
from reassort.domain.franceconnect import FcResult
from reassort.domain.identity import identity_digest
from reassort.domain.model import ElectorRecord
from tests.support.keys import portal_session
from tests.support.links import token_in

BASE = "https://reassort.test"
CALLBACK = f"{BASE}/api/fc/callback"
LOGOUT_RETURN = f"{BASE}/api/fc/logout-return"
CLIENT_ID = "reassort-test"
CLIENT_SECRET = "s" * 40  # the fc_client_secret of tests.support.keys.local_secrets()
RESULT = "/reassort/franceconnect/"


@pytest.fixture(scope="module")
def emulator() -> Iterator[FranceConnectEmulator]:
    fc = FranceConnectEmulator(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[CALLBACK],
        post_logout_redirect_uris=[LOGOUT_RETURN],
    )
    fc.start()
    yield fc
    fc.stop()


@pytest.fixture
def fc(emulator: FranceConnectEmulator, service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    emulator.reset()
    for name, value in {
        "FC_ISSUER": emulator.issuer,
        "FC_CLIENT_ID": CLIENT_ID,
        "FC_REDIRECT_URI": CALLBACK,
        "FC_POST_LOGOUT_REDIRECT_URI": LOGOUT_RETURN,
        "FC_ID_TOKEN_ALG": "ES256",
    }.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    return emulator


@pytest.fixture
def world(fc: FranceConnectEmulator, stack: Any) -> World:
    return World(fc, stack)


@dataclass
class Hop:
    status: int
    location: str
    headers: dict[str, str]

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}


@dataclass
class Journey:
    login: Hop
    callback_url: str
    callback: Hop | None
    result: str  # final result page path (+ query and fragment)


class World:
    """The elector's browser, walking the FranceConnect path through the handler and the emulator."""

    def __init__(self, fc: FranceConnectEmulator, stack: Any) -> None:
        self.fc = fc
        self.stack = stack

    # -- roll --------------------------------------------------------------------------------
    def add_elector(
        self,
        identity_key: str | None,
        elector_id: str | None = None,
        pro_email: str | None = None,
        **extra: Any,
    ) -> str:
        digest = None
        if identity_key:
            claims = identity_by_key(identity_key)
            digest = identity_digest(
                wiring.get_secrets().identity_hmac_key,
                claims.roll_family_name or claims.family_name,
                claims.roll_given_names or list(claims.given_names),
                claims.roll_birthdate or claims.birthdate,
                claims.roll_gender or claims.gender,
            )
        elector_id = elector_id or f"el-{uuid.uuid4().hex[:8]}"
        record = ElectorRecord(
            elector_id=elector_id,
            display_name="Jean-Pierre Lefèvre",
            pro_email=pro_email or f"{elector_id}@ac-paris.fr",
            question="Quelle est la couleur de votre premier vélo ?",
            answer_hash=self.stack.hasher.hash("bleu"),
            numen_hash=None,
            nir_hash=None,
            vote_code_hash=self.stack.hasher.hash("Ab3!Cd4$Ef5%"),
            identity_digest=digest,
        )
        put_roll_record(self.stack.dynamodb, get_settings().electors_table, record)
        if extra:  # lock and quota state are not roll fields: written as the service would
            names = {f"#{k}": k for k in extra}
            values = {f":{k}": _attribute(v) for k, v in extra.items()}
            self.stack.dynamodb.update_item(
                TableName=get_settings().electors_table,
                Key={"elector_id": {"S": elector_id}},
                UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in extra),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        return elector_id

    # -- HTTP ----------------------------------------------------------------------------------
    def call(self, path: str, query: str = "", session: str | None = None) -> Hop:
        from fc_callback import handler

        headers = [("host", "reassort.test")]
        if session:
            headers.append(("cookie", f"portal_session={session}"))
        event = build_event(HttpRequest("GET", path, query, headers, b""))
        result = handler.lambda_handler(
            event, LambdaContext(function_name="fc", aws_request_id=str(uuid.uuid4()))
        )
        out_headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        return Hop(result["statusCode"], out_headers.get("location", ""), out_headers)

    def start(self, elector_id: str) -> Hop:
        return self.call("/api/fc/login", session=portal_session(elector_id))

    def back_to_us(self, url: str) -> Hop:
        split = urlsplit(url)
        assert f"{split.scheme}://{split.netloc}" == BASE, url
        return self.call(split.path, split.query)

    def finish(self, hop: Hop) -> str:
        """Follow FranceConnect logout (if any) back to the result page."""
        if hop.location.startswith(self.fc.issuer):
            response = requests.get(hop.location, allow_redirects=False, timeout=5)
            assert response.status_code == 302, response.text[:300]
            hop = self.back_to_us(response.headers["Location"])
        assert hop.status == 302 and hop.location.startswith(RESULT), hop
        return hop.location

    def journey(self, elector_id: str, identity: str = "jean-pierre", cancel: bool = False) -> Journey:
        login = self.start(elector_id)
        assert login.status == 302 and login.location.startswith(self.fc.issuer), login
        callback_url = self.fc.authenticate(login.location, identity=identity, cancel=cancel)
        callback = self.back_to_us(callback_url)
        return Journey(login, callback_url, callback, self.finish(callback))

    # -- observations ----------------------------------------------------------------------------
    def emails(self) -> list[dict[str, Any]]:
        return list(self.stack.emails())

    def audit(self, elector_id: str | None = None) -> list[dict[str, str]]:
        items = self.stack.scan(get_settings().audit_table)
        rows = [{k: next(iter(v.values())) for k, v in item.items()} for item in items]
        rows.sort(key=lambda r: r["event_key"])
        return [r for r in rows if elector_id is None or r["elector_id"] == elector_id]

    def fc_outcomes(self, elector_id: str | None = None) -> set[str]:
        return {r["outcome"] for r in self.audit(elector_id) if r["event"] == "franceconnect"}

    def fc_record(self, elector_id: str, outcome: str) -> dict[str, str]:
        return next(
            r for r in self.audit(elector_id) if r["event"] == "franceconnect" and r["outcome"] == outcome
        )


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {"M": {k: _attribute(v) for k, v in value.items()}}
    return {"N": str(int(value))}


# -- happy path ------------------------------------------------------------------------------------


def test_given_a_matching_identity_when_logging_in_with_franceconnect_then_info_mail_first_then_link_to_fc_email(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    journey = world.journey(elector, "jean-pierre")

    assert journey.result == RESULT + PAGES[FcResult.SENT]
    mails = world.emails()
    assert [m["to"] for m in mails] == [[f"{elector}@ac-paris.fr"], ["jp.lefevre@exemple-perso.fr"]]
    assert mails[0]["subject"] == "Demande de réassort de votre code de vote"
    assert mails[1]["subject"] == "Procéder au réassort de votre code de vote"
    assert world.fc_outcomes(elector) == {"login_started", "identity_matched"}
    assert world.fc.counters.logout == 1
    # The callback and logout answers carry no referrer and are never cached (code and state in URLs).
    assert journey.callback is not None
    assert journey.callback.headers["referrer-policy"] == "no-referrer"
    assert journey.callback.headers["cache-control"] == "no-store"


def test_given_the_link_from_franceconnect_when_redeemed_then_new_code_works_and_old_code_refused(
    world: World,
) -> None:
    elector = world.add_elector("fatoumata")  # presumed birthdate: roll 1979-00-00, FranceConnect 1979-01-01
    world.journey(elector, "fatoumata")
    token = token_in(world.emails()[-1]["body"])

    reply = world.stack.call("redeem", "POST", "/api/links/redeem", {"token": token})
    assert reply.status == 200
    assert world.stack.vote_code_accepted(elector, reply.body["vote_code"])
    assert not world.stack.vote_code_accepted(elector, "Ab3!Cd4$Ef5%")
    link = next(r for r in world.audit(elector) if r["event"] == "send" and r["outcome"] == "link_sent")
    assert link["method"] == "franceconnect"


@pytest.mark.parametrize("identity", ["helene", "ana-maria"])
def test_given_roll_and_franceconnect_spell_the_name_differently_when_matching_then_same_person(
    world: World, identity: str
) -> None:
    elector = world.add_elector(identity)
    assert world.journey(elector, identity).result.startswith(RESULT + "envoye")


# -- login ------------------------------------------------------------------------------------------


def test_given_a_portal_session_when_login_starts_then_state_and_nonce_are_long_random_and_stored_hashed(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    hop = world.start(elector)
    params = hop.query
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["acr_values"] == "eidas1"
    assert set(params) <= {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "acr_values",
    }
    items = world.stack.scan(get_settings().fc_state_table)
    assert len(items) == 1
    item = items[0]
    assert item["elector_id"]["S"] == elector
    assert params["state"] not in json.dumps(item)  # only its keyed digest is the key
    assert int(item["expires_at"]["N"]) <= time.time() + 600 + 5


def test_given_no_portal_session_when_login_starts_then_no_franceconnect_redirect(world: World) -> None:
    hop = world.call("/api/fc/login")
    assert hop.location == RESULT + "refuse?motif=session-portail"


def test_given_an_elector_without_identity_digest_when_login_starts_then_refused_before_franceconnect(
    world: World,
) -> None:
    elector = world.add_elector(None)
    assert world.start(elector).location == RESULT + "refuse?motif=sans-identite"


# -- state --------------------------------------------------------------------------------------------


def test_given_a_callback_when_replayed_then_state_refused_and_code_never_exchanged_twice(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    journey = world.journey(elector)
    token_calls, mails = world.fc.counters.token, len(world.emails())

    replay = world.back_to_us(journey.callback_url)
    assert replay.location == RESULT + "refuse?motif=session-expiree"
    assert world.fc.counters.token == token_calls
    assert len(world.emails()) == mails
    assert "state_invalid" in world.fc_outcomes("-")  # the state is gone: no elector to file it under


@pytest.mark.parametrize("state", [secrets.token_urlsafe(32), "short", "", "x" * 43 + "<script>"])
def test_given_an_unknown_or_malformed_state_when_called_back_then_refused(world: World, state: str) -> None:
    world.add_elector("jean-pierre")
    hop = world.call("/api/fc/callback", f"code=abc&state={state}")
    assert hop.location == RESULT + "refuse?motif=session-expiree"
    assert world.fc.counters.token == 0
    assert world.emails() == []


def test_given_a_state_older_than_ten_minutes_when_called_back_then_refused(world: World) -> None:
    elector = world.add_elector("jean-pierre")
    login = world.start(elector)
    callback_url = world.fc.authenticate(login.location)
    world.stack.clock.value += 601
    assert world.finish(world.back_to_us(callback_url)) == RESULT + "refuse?motif=session-expiree"
    assert world.emails() == []


# -- FranceConnect errors ----------------------------------------------------------------------------


def test_given_the_elector_cancels_at_franceconnect_when_called_back_then_cancelled_page(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    journey = world.journey(elector, cancel=True)
    assert journey.result == RESULT + "annule"
    assert world.fc_outcomes(elector) == {"login_started", "cancelled"}
    assert world.fc.counters.token == 0
    assert world.emails() == []


def test_given_franceconnect_temporarily_unavailable_when_called_back_then_unavailable_page(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    world.fc.set_faults(Fault.TEMPORARILY_UNAVAILABLE)
    journey = world.journey(elector)
    assert journey.result == RESULT + "indisponible"
    assert world.fc_outcomes(elector) == {"login_started", "unavailable"}
    assert world.emails() == []


def test_given_another_provider_error_when_called_back_then_unavailable_page(world: World) -> None:
    elector = world.add_elector("jean-pierre")
    login = world.start(elector)
    hop = world.call("/api/fc/callback", f"error=invalid_scope&state={login.query['state']}")
    assert hop.location == RESULT + "indisponible"
    assert world.fc_record(elector, "error")["detail"] == "invalid_scope"


# -- token and userinfo verification -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault.ID_TOKEN_WRONG_NONCE, "id_token_nonce"),
        (Fault.ID_TOKEN_HS256, "id_token_algorithm"),
        (Fault.ID_TOKEN_BAD_SIGNATURE, "id_token_signature"),
        (Fault.ID_TOKEN_WRONG_ISS, "id_token_iss"),
        (Fault.ID_TOKEN_WRONG_AUD, "id_token_aud"),
        (Fault.ID_TOKEN_EXPIRED, "id_token_expired"),
        (Fault.ID_TOKEN_NO_ACR, "id_token_acr"),
        (Fault.USERINFO_JSON, "userinfo_not_signed"),
        (Fault.USERINFO_ALG_NONE, "userinfo_algorithm"),
        (Fault.USERINFO_TAMPERED, "userinfo_signature"),
        (Fault.USERINFO_WRONG_ISS, "userinfo_iss"),
        (Fault.USERINFO_WRONG_AUD, "userinfo_aud"),
    ],
    ids=lambda value: str(value),
)
def test_given_franceconnect_answers_a_forged_or_invalid_token_when_called_back_then_refused_and_nothing_sent(
    world: World, fault: Fault, reason: str
) -> None:
    elector = world.add_elector("jean-pierre")
    world.fc.set_faults(fault)
    journey = world.journey(elector)
    assert journey.result == RESULT + "indisponible"
    assert world.fc_record(elector, "error")["detail"] == reason
    assert "identity_matched" not in world.fc_outcomes(elector)
    assert world.emails() == []
    assert world.fc.counters.logout == 0  # an unverified ID token is never sent back as a hint


def test_given_a_token_signed_by_an_unpublished_key_when_verified_then_one_jwks_refetch_then_refused(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    world.journey(elector)  # warms the JWKS cache
    before = world.fc.counters.jwks
    world.fc.set_faults(Fault.ID_TOKEN_UNKNOWN_KID)
    journey = world.journey(elector)
    assert journey.result == RESULT + "indisponible"
    assert world.fc_record(elector, "error")["detail"] == "id_token_kid_unknown"
    assert world.fc.counters.jwks == before + 1


def test_given_franceconnect_rotated_its_keys_when_verified_then_one_jwks_refetch_and_accepted(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    world.journey(elector)
    before = world.fc.counters.jwks
    world.fc.rotate_keys()
    assert world.journey(elector).result.startswith(RESULT + "envoye")
    assert world.fc.counters.jwks == before + 1


def test_given_the_token_endpoint_fails_when_called_back_then_unavailable(world: World) -> None:
    elector = world.add_elector("jean-pierre")
    world.fc.set_faults(Fault.TOKEN_SERVER_ERROR)
    assert world.journey(elector).result == RESULT + "indisponible"
    assert world.fc_record(elector, "unavailable")["detail"] == "server_error"


# -- identity and e-mail -----------------------------------------------------------------------------


def test_given_an_identity_that_is_not_the_electors_when_called_back_then_refused_audited_and_nothing_sent(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    elector = world.add_elector("jean-pierre")
    journey = world.journey(elector, identity="paul")
    assert journey.result == RESULT + "identite-non-reconnue"
    assert world.fc_outcomes(elector) == {"login_started", "identity_mismatch"}
    assert world.emails() == []
    assert world.fc.counters.logout == 1  # the FranceConnect session is closed all the same
    assert "FcIdentityMismatch" in capsys.readouterr().out


def test_given_another_electors_identity_when_called_back_then_mismatch(world: World) -> None:
    elector = world.add_elector("jean-pierre")
    world.add_elector("helene")
    assert world.journey(elector, identity="helene").result == RESULT + "identite-non-reconnue"
    assert world.emails() == []


def test_given_a_franceconnect_email_equal_to_the_professional_one_when_called_back_then_refused(
    world: World,
) -> None:
    elector = world.add_elector("camille", pro_email="camille.martin@ac-demo.fr")
    journey = world.journey(elector, identity="camille")
    assert journey.result == RESULT + "refuse?motif=adresse-professionnelle"
    assert world.emails() == []
    assert "professional_address" in [r["outcome"] for r in world.audit(elector)]


def test_given_a_franceconnect_email_in_a_professional_domain_when_called_back_then_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROFESSIONAL_DOMAINS", "education.gouv.fr,exemple-perso.fr")
    wiring.reset()
    elector = world.add_elector("jean-pierre")
    assert world.journey(elector).result == RESULT + "refuse?motif=adresse-professionnelle"
    assert world.emails() == []


def test_given_franceconnect_sends_no_email_when_called_back_then_refused_and_nothing_sent(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    world.fc.set_faults(Fault.USERINFO_NO_EMAIL)
    assert world.journey(elector).result == RESULT + "refuse?motif=adresse-absente"
    assert "email_missing" in world.fc_outcomes(elector)
    assert world.emails() == []


# -- core rules on this path --------------------------------------------------------------------------


def test_given_a_locked_elector_when_login_starts_then_refused_before_franceconnect(world: World) -> None:
    elector = world.add_elector("jean-pierre", failed_attempts=5, locked_until=time.time() + 1800)
    assert world.start(elector).location == RESULT + "refuse?motif=bloque"
    assert world.fc_outcomes(elector) == {"locked"}


def test_given_the_elector_gets_locked_during_franceconnect_when_called_back_then_nothing_sent(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    login = world.start(elector)
    world.stack.dynamodb.update_item(
        TableName=get_settings().electors_table,
        Key={"elector_id": {"S": elector}},
        UpdateExpression="SET locked_until = :t, failed_attempts = :n",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) + 1800)}, ":n": {"N": "5"}},
    )
    callback = world.back_to_us(world.fc.authenticate(login.location))
    assert world.finish(callback) == RESULT + "refuse?motif=bloque"
    assert world.emails() == []


def test_given_the_link_quota_is_used_up_when_called_back_then_refused_and_nothing_sent(world: World) -> None:
    now = time.time()
    elector = world.add_elector("jean-pierre")
    login = world.start(elector)
    # the other links are sent while the elector is at FranceConnect
    recent = {"M": {f"l{i}": {"N": str(int(now) - 60 * i)} for i in range(5)}}
    world.stack.dynamodb.update_item(
        TableName=get_settings().electors_table,
        Key={"elector_id": {"S": elector}},
        UpdateExpression="SET recent_links = :r, quota_version = :v",
        ExpressionAttributeValues={":r": recent, ":v": {"N": "5"}},
    )
    callback = world.back_to_us(world.fc.authenticate(login.location))
    assert world.finish(callback) == RESULT + "refuse?motif=quota"
    assert world.emails() == []
    assert "quota_exceeded" in [r["outcome"] for r in world.audit(elector)]


def test_given_the_link_quota_is_used_up_when_login_starts_then_refused_before_franceconnect(
    world: World,
) -> None:
    now = time.time()
    elector = world.add_elector("jean-pierre", recent_links={f"l{i}": now - 60 * i for i in range(5)})
    assert world.start(elector).location == RESULT + "refuse?motif=quota"
    assert world.fc.counters.token == 0
    assert world.emails() == []


def test_given_the_quota_when_reached_through_franceconnect_then_the_sixth_request_is_refused(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    for _ in range(5):
        assert world.journey(elector).result.startswith(RESULT + "envoye")
    assert world.start(elector).location == RESULT + "refuse?motif=quota"
    assert len(world.emails()) == 10


def test_given_the_election_is_closed_when_login_starts_then_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELECTION_OPENS_AT", "2020-01-01T08:00:00")
    monkeypatch.setenv("ELECTION_CLOSES_AT", "2020-01-08T18:00:00")
    wiring.reset()
    elector = world.add_elector("jean-pierre")
    assert world.start(elector).location == RESULT + "refuse?motif=hors-periode"
    assert world.fc.counters.token == 0


def test_given_the_election_closes_during_franceconnect_when_called_back_then_nothing_sent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    closes = time.time() + 120
    monkeypatch.setenv("ELECTION_CLOSES_AT", time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(closes)))
    wiring.reset()
    elector = world.add_elector("jean-pierre")
    login = world.start(elector)
    callback_url = world.fc.authenticate(login.location)
    world.stack.clock.value = closes + 1
    assert world.finish(world.back_to_us(callback_url)) == RESULT + "refuse?motif=hors-periode"
    assert world.emails() == []


# -- privacy -------------------------------------------------------------------------------------------


def test_given_a_franceconnect_journey_when_done_then_no_identity_or_email_in_tables_or_logs(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    elector = world.add_elector("helene")
    world.journey(elector, "helene")
    world.add_elector("jean-pierre", elector_id="el-other")
    world.journey("el-other", "paul")
    settings = get_settings()
    stored = json.dumps(
        [
            world.stack.scan(t)
            for t in (settings.electors_table, settings.links_table, settings.fc_state_table)
        ]
        + [world.audit()]
    )
    output = capsys.readouterr()
    logs = output.out + output.err
    for secret in (
        "helene.darcy",
        "exemple-perso",
        "Arcy",
        "ARCY",
        "1982-11-30",
        "Inconnu",
        "paul.inconnu",
        "Hélène",
    ):
        assert secret not in stored, secret
        assert secret not in logs, secret
    assert world.stack.scan(settings.fc_state_table) == []  # states consumed


# -- logout return ----------------------------------------------------------------------------------------


def test_given_a_forged_logout_state_when_returning_then_no_success_page(world: World) -> None:
    elector = world.add_elector("jean-pierre")
    journey = world.journey(elector, identity="paul")  # a genuine state says "mismatch"
    assert journey.result == RESULT + "identite-non-reconnue"
    assert world.call("/api/fc/logout-return", "state=eyJyIjoic2VudCJ9.AAAA").location == (
        RESULT + "refuse?motif=session-expiree"
    )
    assert world.call("/api/fc/logout-return", "").location == RESULT + "refuse?motif=session-expiree"


# -- RFC 9207, dead provider, faults: always a French page --------------------------------------------


def test_given_the_emulator_when_it_calls_back_then_the_answer_names_its_issuer_and_is_accepted(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    journey = world.journey(elector)
    assert parse_qs(urlsplit(journey.callback_url).query)["iss"] == [world.fc.issuer]
    assert journey.result == RESULT + PAGES[FcResult.SENT]


def test_given_a_callback_naming_another_issuer_when_called_back_then_unavailable_and_no_code_spent(
    world: World,
) -> None:
    elector = world.add_elector("jean-pierre")
    login = world.start(elector)
    callback_url = world.fc.authenticate(login.location)
    forged = callback_url.replace(
        quote(world.fc.issuer, safe=""), quote("https://fc.evil.test/api/v2", safe="")
    )
    assert forged != callback_url
    hop = world.back_to_us(forged)
    assert (hop.status, hop.location) == (302, RESULT + PAGES[FcResult.UNAVAILABLE])
    assert world.fc.counters.token == 0
    assert world.fc_record(elector, "error")["detail"] == "issuer_mismatch"
    assert world.emails() == []


def test_given_franceconnect_discovery_is_down_when_login_starts_then_the_unavailable_page_not_the_provider(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    elector = world.add_elector("jean-pierre")
    monkeypatch.setenv("FC_ISSUER", "http://127.0.0.1:9/api/v2")  # nothing listens on port 9
    wiring.reset()
    hop = world.start(elector)
    assert (hop.status, hop.location) == (302, RESULT + PAGES[FcResult.UNAVAILABLE])
    assert world.fc_outcomes(elector) == {"unavailable"}


@pytest.mark.parametrize("route", ["/api/fc/callback", "/api/fc/logout-return"])
def test_given_a_fault_inside_a_franceconnect_route_when_called_then_a_redirect_to_a_french_page_never_json(
    world: World, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    world.add_elector("jean-pierre")
    state = "A" * 43
    world.stack.dynamodb.delete_table(TableName=get_settings().fc_state_table)  # DynamoDB fails under us
    broken = wiring.get_fc_flow()
    broken.logout_states.verify = lambda *_: (_ for _ in ()).throw(RuntimeError("boom"))  # type: ignore[method-assign]
    hop = world.call(route, f"state={state}&code=c")
    assert (hop.status, hop.location) == (302, RESULT + PAGES[FcResult.UNAVAILABLE])
    assert "application/json" not in hop.headers.get("content-type", "")
    assert "unexpected error" in [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize(
    "query",
    ["state=" + "A" * 3000, "code=" + "c" * 3000, "iss=" + "i" * 3000],
    ids=["state", "code", "iss"],
)
def test_given_an_oversized_callback_parameter_when_called_back_then_the_unavailable_page(
    world: World, query: str
) -> None:
    hop = world.call("/api/fc/callback", query)
    assert (hop.status, hop.location) == (302, RESULT + PAGES[FcResult.UNAVAILABLE])


def test_given_no_portal_session_when_login_starts_then_the_refusal_page_not_json(world: World) -> None:
    hop = world.call("/api/fc/login")
    assert hop.status == 302 and hop.location == RESULT + "refuse?motif=session-portail"
