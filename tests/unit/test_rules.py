"""Normalisation, identifiers, vote codes, destinations and messages."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reassort.adapters.system import SystemRandom
from reassort.domain import codes
from reassort.domain.destinations import (
    DestinationError,
    is_professional_address,
    mask_email,
    mask_phone,
    normalise_email,
    normalise_mobile,
)
from reassort.domain.messages import GSM7_BASIC, information_email, link_sms, link_url
from reassort.domain.model import Channel, Method
from reassort.domain.normalise import normalise_answer, parse_identifier
from reassort.domain.tokens import encode_token, is_token_shaped


@given(st.text())
def test_given_any_answer_when_normalised_again_then_it_stays_the_same(text: str) -> None:
    once = normalise_answer(text)
    assert normalise_answer(once) == once


@given(st.text(alphabet=string.ascii_letters + " éèêàçÉÀÇ", max_size=40))
def test_given_an_answer_when_uppercased_and_respaced_then_it_normalises_the_same(text: str) -> None:
    noisy = "  " + text.upper().replace(" ", "   ") + "\t"
    assert normalise_answer(noisy) == normalise_answer(text)


@given(st.text(alphabet=string.ascii_letters + " éèêëàâçîïôùûÉÈÀÇ", max_size=40))
def test_given_an_answer_when_typed_without_its_accents_then_it_normalises_the_same(text: str) -> None:
    plain = text.translate(str.maketrans("éèêëàâçîïôùûÉÈÀÇ", "eeeeaaciiouuEEAC"))
    assert normalise_answer(plain) == normalise_answer(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  Éléphant   Rose ", "elephant rose"), ("ＡＢＣ", "abc"), ("Straße", "strasse"), ("Œuvre", "œuvre")],
)
def test_given_sample_answers_when_normalised_then_the_expected_canonical_text(
    raw: str, expected: str
) -> None:
    assert normalise_answer(raw) == expected


@given(st.from_regex(r"[0-9A-Z]{13}", fullmatch=True))
def test_given_any_13_character_numen_when_spaced_and_lowercased_then_it_parses_as_that_numen(
    numen: str,
) -> None:
    spaced = " ".join(numen[i : i + 3] for i in range(0, 13, 3)).lower()
    parsed = parse_identifier(spaced)
    assert parsed.kind == "numen" and parsed.value == numen


@given(st.from_regex(r"[1-8][0-9]{4}([0-9]{2}|2[AB])[0-9]{3}", fullmatch=True))
def test_given_any_nir10_when_spaced_dotted_and_lowercased_then_it_parses_as_that_nir(nir: str) -> None:
    parsed = parse_identifier(f"{nir[0]} {nir[1:3]} {nir[3:5]}.{nir[5:].lower()}")
    assert parsed.kind == "nir10" and parsed.value == nir


@pytest.mark.parametrize("raw", ["", "123", "9850275123", "12345678901234", "12E3456789AB!", "0850275123"])
def test_given_an_identifier_of_another_shape_when_parsed_then_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_identifier(raw)


@given(st.integers(min_value=0, max_value=2**32))
def test_given_any_seed_when_a_vote_code_is_generated_then_12_characters_of_the_alphabet_with_each_class(
    seed: int,
) -> None:
    rng = random.Random(seed)

    class Seeded:
        def token_bytes(self, n: int) -> bytes:
            return rng.randbytes(n)

        def choice(self, seq: str) -> str:
            return rng.choice(seq)

    code = codes.generate_vote_code(Seeded())
    assert len(code) == 12
    assert set(code) <= set(codes.ALPHABET)
    assert not set(code) & LOOK_ALIKES
    assert all(ch.swapcase() not in codes.ALPHABET for ch in code if ch in SAME_SHAPE)
    assert all(set(code) & set(cls) for cls in codes.CLASSES)
    assert code.isascii()


# Characters typed without AltGr: the unshifted and shifted layers of French AZERTY and US QWERTY.
AZERTY = set("²&é\"'(-è_çà)=azertyuiop^$qsdfghjklmù*<wxcvbn,;:!") | set(
    "1234567890°+AZERTYUIOP¨£QSDFGHJKLM%µ>WXCVBN?./§"
)
QWERTY = set("`1234567890-=qwertyuiop[]\\asdfghjkl;'zxcvbnm,./") | set(
    '~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:"ZXCVBNM<>?'
)
# Letters whose capital and small forms look alike when written by hand.
SAME_SHAPE = set("cCkKpPsSuUvVwWxXzZ")
LOOK_ALIKES = set("0Oo1lI")


def test_given_the_code_alphabet_then_every_character_types_without_altgr_on_azerty_and_qwerty() -> None:
    assert set(codes.SPECIALS) == set("!$*%?+=")
    assert set(codes.ALPHABET) <= AZERTY & QWERTY


def test_given_the_code_alphabet_then_one_case_of_each_same_shape_letter_and_no_look_alike() -> None:
    kept = set(codes.ALPHABET) & SAME_SHAPE
    assert {ch.lower() for ch in kept} == {ch.lower() for ch in SAME_SHAPE}  # one case of each ...
    assert all(ch.swapcase() not in kept for ch in kept)  # ... never both
    assert not set(codes.ALPHABET) & LOOK_ALIKES
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET) == 54


def test_given_twelve_characters_with_every_class_then_more_than_64_bits_of_entropy() -> None:
    # Every class present: 54**12 codes less those missing a class (inclusion-exclusion).
    assert codes.code_count(2, ("ab", "c")) == 4  # ac, bc, ca, cb, counted by hand
    assert codes.code_count(3, ("a", "b", "c")) == 6  # the permutations
    assert 68.4 < codes.entropy_bits() < 68.5


@given(st.text(alphabet=codes.ALPHABET, min_size=12, max_size=12))
def test_given_any_code_when_copied_in_the_wrong_case_then_each_letter_maps_back_to_one_symbol(
    code: str,
) -> None:
    # Copied by hand in the wrong case, a same-shape letter still maps back to exactly one symbol.
    for ch in code:
        if ch.lower() in {s.lower() for s in SAME_SHAPE}:
            candidates = {ch.lower(), ch.upper()} & set(codes.ALPHABET)
            assert candidates == {ch}


def test_given_the_system_random_when_200_codes_are_generated_then_all_differ() -> None:
    generated = {codes.generate_vote_code(SystemRandom()) for _ in range(200)}
    assert len(generated) == 200


@pytest.mark.parametrize(
    ("address", "expected"),
    [("marie.curie@gmail.com", True), ("marie@laposte.net", False), ("a@lyon.education.gouv.fr", True)],
)
def test_given_an_address_then_professional_if_the_electors_pro_one_or_under_a_pro_domain(
    address: str, expected: bool
) -> None:
    assert is_professional_address(address, "Marie.Curie@Gmail.com", ("education.gouv.fr",)) is expected


def test_given_an_email_address_when_normalised_then_the_domain_is_lowercased_and_bad_syntax_refused() -> (
    None
):
    assert normalise_email(" Jean.Dupont@Exemple.FR ") == "Jean.Dupont@exemple.fr"
    for bad in ("jean", "jean@", "@exemple.fr", "jean dupont@exemple.fr"):
        with pytest.raises(DestinationError):
            normalise_email(bad)


@pytest.mark.parametrize(
    ("raw", "e164", "masked"),
    [
        ("06 12 34 56 78", "+33612345678", "+33 6 •• •• •• 78"),
        ("+33 7 81 23 45 67", "+33781234567", "+33 7 •• •• •• 67"),
        ("+590 690 12 34 56", "+590690123456", "+590 690 •• •• 56"),
        ("0690 12 34 56", "+590690123456", "+590 690 •• •• 56"),
        ("06 96 12 34 56", "+596696123456", "+596 696 •• •• 56"),
        ("0694 12 34 56", "+594694123456", "+594 694 •• •• 56"),
        ("+687 75 12 34", "+687751234", "+687 75 •• 34"),
    ],
)
def test_given_a_mobile_of_france_or_overseas_when_normalised_then_its_e164_and_masked_forms(
    raw: str, e164: str, masked: str
) -> None:
    assert normalise_mobile(raw) == e164
    assert mask_phone(e164) == masked


def test_given_an_email_address_when_masked_then_the_first_letter_and_the_domain_remain() -> None:
    assert mask_email("marie@gmail.com") == "m•••@gmail.com"


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=10, max_size=40))
def test_given_a_realistic_host_when_the_sms_is_written_then_one_gsm7_part_without_stop(host: str) -> None:
    token = encode_token(bytes(32))
    text = link_sms(link_url(f"https://{host}.gouv.fr", token), 60)
    assert len(text) <= 160 and set(text) <= GSM7_BASIC and "STOP" not in text.upper()


def test_given_an_overlong_base_url_when_the_sms_is_written_then_refused_rather_than_split() -> None:
    with pytest.raises(ValueError):
        link_sms(link_url("https://" + "x" * 120 + ".fr", encode_token(bytes(32))), 60)


def test_given_an_sms_request_then_the_information_email_names_the_channel_and_masked_number_escaping_html() -> (
    None
):
    mail = information_email("Jeanne", Channel.SMS, Method.CHALLENGE, "+33 6 •• •• •• 78", 1_796_000_000)
    assert mail.subject == "Demande de réassort de votre code de vote"
    assert "par SMS" in mail.text and "+33 6 •• •• •• 78" in mail.text
    assert "n'êtes pas à l'origine" in mail.text
    assert "<script" not in information_email("<script>", Channel.EMAIL, Method.CHALLENGE, "x", 0).html


def test_given_an_encoded_token_then_it_is_token_shaped_but_not_one_shorter_longer_or_of_padding() -> None:
    token = encode_token(bytes(range(32)))
    assert is_token_shaped(token)
    assert (
        not is_token_shaped(token[:-1]) and not is_token_shaped(token + "A") and not is_token_shaped("=" * 43)
    )


def test_given_a_landline_then_the_message_names_every_mobile_format_the_service_accepts() -> None:
    with pytest.raises(DestinationError) as refused:
        normalise_mobile("01 23 45 67 89")
    assert refused.value.code == "PHONE_NOT_MOBILE"
    for prefix in ("06", "07", "+590", "+596", "+594", "+262", "+508", "+687", "+689", "+681"):
        assert prefix in refused.value.message
