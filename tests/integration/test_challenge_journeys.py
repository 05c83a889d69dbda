"""Challenge path end to end: real handlers, API Gateway v2 events, moto behind."""

from __future__ import annotations

import pytest

from reassort.domain.messages import GSM7_BASIC
from tests.support.links import token_in
from tests.support.stack import Elector, Stack


def test_given_an_email_request_then_information_precedes_the_link_and_redeeming_twice_gives_one_code(
    stack: Stack, marie: Elector
) -> None:
    reply = stack.challenge(marie, destination="Marie.Perso@Gmail.com")

    assert reply.status == 202
    assert reply.body == {
        "channel": "email",
        "masked_destination": "M•••@gmail.com",
        "link_valid_minutes": 60,
    }
    first, second = stack.emails()
    assert first["to"] == ["marie.curie@ac-paris.fr"]
    assert first["subject"] == "Demande de réassort de votre code de vote"
    assert "M•••@gmail.com" in first["body"] and "Marie.Perso" not in first["body"]
    assert "#t=" not in first["body"]
    assert second["to"] == ["Marie.Perso@gmail.com"]
    assert second["subject"] == "Procéder au réassort de votre code de vote"
    token = token_in(second["body"])

    assert stack.check(token).body == {"valid": True, "display_seconds": 120, "redeemed": False}
    redeemed = stack.redeem(token)
    assert redeemed.status == 200
    assert redeemed.headers["cache-control"] == "no-store"
    new_code = redeemed.body["vote_code"]
    assert len(new_code) == 12 and redeemed.body["display_seconds"] == 120

    assert stack.vote_code_accepted(marie.elector_id, new_code)
    assert not stack.vote_code_accepted(marie.elector_id, marie.vote_code)
    again = stack.redeem(token)  # a reload or a lost answer: the same code, never a second one
    assert again.status == 200
    assert again.body == {"vote_code": new_code, "display_seconds": 120, "shown_before": True}
    assert stack.check(token).body == {"valid": True, "display_seconds": 120, "redeemed": True}
    assert stack.vote_code_accepted(marie.elector_id, new_code)


def test_given_a_nir10_when_sms_is_chosen_then_information_email_then_one_gsm7_part_sms_that_redeems(
    stack: Stack, paul: Elector
) -> None:
    reply = stack.challenge(paul, channel="sms", destination="06 12 34 56 78", identifier="1 72 01 75 001")

    assert reply.status == 202
    assert reply.body["masked_destination"] == "+33 6 •• •• •• 78"
    (info,) = stack.emails()
    assert info["to"] == ["paul.langevin@education.gouv.fr"] and "+33 6 •• •• •• 78" in info["body"]
    ((number, text),) = stack.sms()
    assert number == "+33612345678"
    # one GSM-7 part: 160 characters of the basic table (no accent, no bracket or brace)
    assert len(text) <= 160 and set(text) <= GSM7_BASIC and "STOP" not in text
    code = stack.redeem(token_in(text)).body["vote_code"]
    assert stack.vote_code_accepted(paul.elector_id, code)


def test_given_a_portal_session_when_getting_the_challenge_then_the_electors_own_question_and_channels(
    stack: Stack, paul: Elector
) -> None:
    reply = stack.call(
        "request_reassort", "GET", "/api/reassort/challenge", session=stack.session(paul.elector_id)
    )

    assert reply.status == 200
    assert reply.body == {
        "display_name": "Paul Langevin",
        "question": "En quelle année avez-vous obtenu votre baccalauréat ?",
        "channels": ["email", "sms"],
        "franceconnect": False,  # no civil identity on Paul's roll entry
    }


@pytest.mark.parametrize("session", [None, "not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJFLTAwMDEifQ."])
def test_given_no_valid_portal_session_when_getting_the_challenge_then_401_unauthenticated(
    stack: Stack, marie: Elector, session: str | None
) -> None:
    reply = stack.call("request_reassort", "GET", "/api/reassort/challenge", session=session)

    assert reply.status == 401 and reply.body["code"] == "UNAUTHENTICATED"


def test_given_a_session_signed_by_another_key_when_getting_the_challenge_then_401(
    stack: Stack, marie: Elector
) -> None:
    from joserfc.jwk import ECKey

    from tests.support.keys import portal_session

    forged = portal_session(marie.elector_id, key=ECKey.generate_key("P-256"))
    reply = stack.call("request_reassort", "GET", "/api/reassort/challenge", session=forged)
    assert reply.status == 401


def test_given_an_expired_session_when_getting_the_challenge_then_401(stack: Stack, marie: Elector) -> None:
    from tests.support.keys import portal_session

    reply = stack.call(
        "request_reassort",
        "GET",
        "/api/reassort/challenge",
        session=portal_session(marie.elector_id, expires_in=-120),
    )
    assert reply.status == 401


def test_given_expired_wrong_or_malformed_tokens_when_redeemed_then_one_link_invalid_but_422_if_empty_or_long(
    stack: Stack, marie: Elector
) -> None:
    stack.clock.value = float(int(stack.clock.value))
    stack.challenge(marie)
    token = token_in(stack.emails()[-1]["body"])
    stack.clock.value += 3600

    for candidate in (token, "A" * 43, "not a token", "é" * 43):
        reply = stack.redeem(candidate)
        assert (reply.status, reply.body["code"]) == (410, "LINK_INVALID"), candidate
    for candidate, field_code, message in (
        ("A" * 200, "TOO_LONG", "Ce champ est trop long."),
        ("", "REQUIRED", "Ce champ est obligatoire."),
    ):
        reply = stack.redeem(candidate)
        assert (reply.status, reply.body["code"]) == (422, "INVALID_FIELDS"), candidate
        assert reply.body["fields"] == [{"name": "token", "code": field_code, "message": message}]
    assert stack.redeem(token).body["code"] == "LINK_INVALID"
    assert stack.check(token).body["code"] == "LINK_INVALID"
    assert stack.vote_code_accepted(marie.elector_id, marie.vote_code)


def test_given_a_link_one_second_before_expiry_when_redeemed_then_200(stack: Stack, marie: Elector) -> None:
    stack.clock.value = float(int(stack.clock.value))  # frozen from now on
    stack.challenge(marie)
    token = token_in(stack.emails()[-1]["body"])
    stack.clock.value += 3599
    assert stack.redeem(token).status == 200


@pytest.mark.parametrize("redeemed_first", [0, 1])
def test_given_two_live_links_when_either_is_redeemed_then_the_other_becomes_link_invalid(
    stack: Stack, marie: Elector, redeemed_first: int
) -> None:
    stack.challenge(marie)
    stack.challenge(marie, channel="sms", destination="07 81 23 45 67")
    tokens = [token_in(stack.emails()[1]["body"]), token_in(stack.sms()[0][1])]

    assert all(stack.check(t).status == 200 for t in tokens)
    assert stack.redeem(tokens[redeemed_first]).status == 200
    other = tokens[1 - redeemed_first]
    assert stack.check(other).body["code"] == "LINK_INVALID"
    assert stack.redeem(other).body["code"] == "LINK_INVALID"


def test_given_five_wrong_attempts_then_locked_with_one_alert_and_no_link_until_30_minutes_pass(
    stack: Stack, marie: Elector
) -> None:
    remaining = []
    for _ in range(4):
        reply = stack.challenge(marie, answer="mauvaise réponse")
        assert reply.status == 403 and reply.body["code"] == "WRONG_CREDENTIALS"
        remaining.append(reply.body["remaining_attempts"])
    assert remaining == [4, 3, 2, 1]

    fifth = stack.challenge(marie, identifier="99Z9999999ZZZ")
    assert fifth.status == 423 and fifth.body["code"] == "ACCOUNT_LOCKED"
    assert "locked_until" in fifth.body

    refused = stack.challenge(marie)
    assert refused.status == 423
    again = stack.challenge(marie, answer="encore faux")
    assert again.status == 423
    alerts = [m for m in stack.emails() if m["subject"].startswith("Alerte")]
    assert len(alerts) == 1 and alerts[0]["to"] == ["marie.curie@ac-paris.fr"]
    assert not [m for m in stack.emails() if m["subject"].startswith("Procéder")]

    stack.clock.value += 1801
    assert stack.challenge(marie).status == 202


def test_given_a_wrong_answer_or_identifier_when_requested_then_the_same_wrong_credentials_answer(
    stack: Stack, marie: Elector
) -> None:
    wrong_answer = stack.challenge(marie, answer="faux")
    wrong_id = stack.challenge(marie, identifier="99Z9999999ZZZ")
    unknown_nir = stack.challenge(marie, identifier="1991299999")

    for reply, remaining in ((wrong_answer, 4), (wrong_id, 3), (unknown_nir, 2)):
        assert reply.status == 403
        assert reply.body == {
            "code": "WRONG_CREDENTIALS",
            "message": "La réponse secrète ou le NUMEN / n°SS saisi est incorrect. "
            f"Il vous reste {remaining} tentatives avant le blocage temporaire.",
            "remaining_attempts": remaining,
        }


def test_given_four_failures_when_a_challenge_succeeds_then_the_failure_count_starts_again(
    stack: Stack, marie: Elector
) -> None:
    for _ in range(4):
        stack.challenge(marie, answer="faux")
    assert stack.challenge(marie).status == 202
    assert stack.challenge(marie, answer="faux").body["remaining_attempts"] == 4


def test_given_answer_and_numen_typed_with_other_case_accents_or_spacing_when_requested_then_202(
    stack: Stack, marie: Elector
) -> None:
    assert stack.challenge(marie, answer="  elephant   ROSE ", identifier="12e 345 6789 abc").status == 202


@pytest.mark.parametrize(
    "address",
    [
        "marie.curie@ac-paris.fr",
        " MARIE.CURIE@AC-PARIS.FR ",
        "Marie.Curie@Ac-Paris.Fr",
        "someone.else@education.gouv.fr",
        "marie@ac-paris.fr",
        "marie@lyon.education.gouv.fr",
    ],
)
def test_given_a_professional_address_when_requested_then_422_refused_and_nothing_is_sent(
    stack: Stack, marie: Elector, address: str
) -> None:
    reply = stack.challenge(marie, destination=address)

    assert reply.status == 422 and reply.body["code"] == "PROFESSIONAL_ADDRESS_REFUSED"
    assert reply.body["message"].startswith("Veuillez choisir une adresse mail personnelle.")
    assert reply.body["fields"][0]["name"] == "destination"
    assert stack.emails() == [] and stack.scan("reassort-links") == []


PHONE_MESSAGES = {
    "PHONE_INVALID": "Saisissez un numéro de téléphone portable valide",
    "PHONE_NOT_FRENCH": "Seuls les numéros de portable de France métropolitaine et d'outre-mer",
    "PHONE_NOT_MOBILE": "Ce numéro n'est pas un numéro de portable",
}


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("01 23 45 67 89", "PHONE_NOT_MOBILE"),
        ("+44 7911 123456", "PHONE_NOT_FRENCH"),
        ("+1 202 555 0143", "PHONE_NOT_FRENCH"),
        ("06 12", "PHONE_INVALID"),
        ("n'importe quoi", "PHONE_INVALID"),
    ],
)
def test_given_an_invalid_foreign_or_landline_number_when_sms_is_chosen_then_422_naming_why_nothing_sent(
    stack: Stack, marie: Elector, number: str, code: str
) -> None:
    reply = stack.challenge(marie, channel="sms", destination=number)

    assert reply.status == 422 and reply.body["code"] == "INVALID_FIELDS"
    [field] = reply.body["fields"]
    assert (field["name"], field["code"]) == ("destination", code)
    assert field["message"].startswith(PHONE_MESSAGES[code])
    assert stack.sms() == [] and stack.emails() == []


def test_given_an_overseas_mobile_when_sms_is_chosen_then_202_and_the_sms_goes_to_its_e164_number(
    stack: Stack, marie: Elector
) -> None:
    assert stack.challenge(marie, channel="sms", destination="+262 692 12 34 56").status == 202
    assert stack.sms()[0][0] == "+262692123456"


def test_given_five_links_in_24_hours_when_a_sixth_is_requested_then_429_before_any_send_until_a_day_passes(
    stack: Stack, marie: Elector
) -> None:
    for _ in range(5):
        assert stack.challenge(marie).status == 202
    sent = len(stack.emails())

    sixth = stack.challenge(marie)
    assert sixth.status == 429 and sixth.body["code"] == "QUOTA_EXCEEDED"
    assert int(sixth.headers["retry-after"]) > 0
    assert len(stack.emails()) == sent

    stack.clock.value += 86401
    assert stack.challenge(marie).status == 202


def test_given_the_election_window_closed_when_requesting_or_redeeming_then_election_closed(
    stack: Stack, marie: Elector, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.challenge(marie)
    token = token_in(stack.emails()[-1]["body"])
    from reassort import wiring

    monkeypatch.setenv("ELECTION_OPENS_AT", "2020-12-01T08:00:00")
    monkeypatch.setenv("ELECTION_CLOSES_AT", "2020-12-08T17:00:00")
    wiring.reset()

    reply = stack.challenge(marie)
    assert reply.status == 403 and reply.body["code"] == "ELECTION_CLOSED"
    assert "08/12/2020 à 17:00" in reply.body["message"]
    assert stack.redeem(token).body["code"] == "ELECTION_CLOSED"


REQUIRED = ("REQUIRED", "Ce champ est obligatoire.")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"answer": REQUIRED, "identifier": REQUIRED, "channel": REQUIRED, "destination": REQUIRED}),
        (
            {"answer": "x", "identifier": "12E3456789ABC", "channel": "pigeon", "destination": "a@b.fr"},
            {"channel": ("CHANNEL_INVALID", "Choisissez l'envoi par SMS ou par E-MAIL.")},
        ),
        (
            {"answer": "x", "identifier": "123", "channel": "email", "destination": "pas-une-adresse"},
            {
                "identifier": (
                    "IDENTIFIER_FORMAT",
                    "Saisissez votre NUMEN (13 caractères) ou les 10 premiers chiffres de votre "
                    "numéro de sécurité sociale.",
                ),
                "destination": (
                    "EMAIL_INVALID",
                    "Saisissez une adresse e-mail valide, par exemple prenom.nom@exemple.fr.",
                ),
            },
        ),
        (
            {
                "answer": "   ",
                "identifier": "12E3456789ABC",
                "channel": "email",
                "destination": "a@gmail.com",
            },
            {"answer": ("REQUIRED", "Saisissez la réponse secrète à votre question Défi.")},
        ),
        (
            {
                "answer": "x" * 500,
                "identifier": "12E3456789ABC",
                "channel": "email",
                "destination": "a@gmail.com",
            },
            {"answer": ("TOO_LONG", "Ce champ est trop long.")},
        ),
    ],
)
def test_given_invalid_fields_when_requested_then_422_naming_each_with_its_french_message_and_nothing_sent(
    stack: Stack, marie: Elector, body: dict[str, str], fields: dict[str, tuple[str, str]]
) -> None:
    reply = stack.call(
        "request_reassort", "POST", "/api/reassort/challenge", body, session=stack.session(marie.elector_id)
    )

    assert reply.status == 422 and reply.body["code"] == "INVALID_FIELDS"
    assert {f["name"]: (f["code"], f["message"]) for f in reply.body["fields"]} == fields
    assert stack.emails() == []


@pytest.mark.parametrize("raw", ["{not json", "[]", "null", '"text"'])
def test_given_a_body_that_is_not_a_json_object_when_posting_then_400_malformed_request_never_a_5xx(
    stack: Stack, marie: Elector, raw: str
) -> None:
    for module, path in (("request_reassort", "/api/reassort/challenge"), ("redeem", "/api/links/redeem")):
        reply = stack.call(module, "POST", path, raw_body=raw, session=stack.session(marie.elector_id))
        assert (reply.status, reply.body["code"]) == (400, "MALFORMED_REQUEST"), (path, raw)


def test_given_an_unknown_route_when_called_then_404_not_found_in_json(stack: Stack) -> None:
    reply = stack.call("redeem", "GET", "/api/links/nowhere")
    assert reply.status == 404 and reply.body["code"] == "NOT_FOUND"


def test_given_a_session_of_an_elector_not_on_the_roll_when_getting_the_challenge_then_403_elector_unknown(
    stack: Stack,
) -> None:
    reply = stack.call("request_reassort", "GET", "/api/reassort/challenge", session=stack.session("E-404"))
    assert reply.status == 403 and reply.body["code"] == "ELECTOR_UNKNOWN"


def test_given_a_redeemed_link_then_its_item_keeps_the_sealed_code_for_the_display_window_only(
    stack: Stack, marie: Elector
) -> None:
    stack.clock.value = float(int(stack.clock.value))  # frozen from now on
    redeemed_at = stack.clock.value
    stack.challenge(marie)
    token = token_in(stack.emails()[-1]["body"])
    code = stack.redeem(token).body["vote_code"]

    (item,) = stack.scan("reassort-links")
    assert code not in str(item) and token not in str(item)
    assert item["shown_until"] == item["ttl"] == {"N": str(int(redeemed_at) + 120)}  # TTL only cleans up
    stack.clock.value += 119
    assert stack.redeem(token).body == {"vote_code": code, "display_seconds": 1, "shown_before": True}
    stack.clock.value += 1
    for reply in (stack.redeem(token), stack.check(token)):
        assert reply.status == 410 and reply.body["code"] == "DISPLAY_OVER"
        assert reply.body["message"].startswith("L'affichage est terminé, le nouveau code est en vigueur")
    assert stack.vote_code_accepted(marie.elector_id, code)
