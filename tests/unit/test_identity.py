"""Civil identity normalisation and digest: the roll and FranceConnect must agree on one person."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from local.fc_emulator.identities import TEST_IDENTITIES, fc_demo_electors, identity_by_key
from reassort.domain.identity import (
    CivilIdentity,
    IncompleteIdentityError,
    civil_identity_from_claims,
    digest_identity,
    first_given_name,
    identity_digest,
    normalise_birthdate,
    normalise_gender,
    normalise_name,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Lefèvre", "LEFEVRE"),
        ("LEFEVRE", "LEFEVRE"),
        ("  lefèvre  ", "LEFEVRE"),
        ("D'Arcy-Dupré", "D ARCY DUPRE"),
        ("D’Arcy – Dupré", "D ARCY DUPRE"),
        ("d ʼarcy   dupré", "D ARCY DUPRE"),
        ("García López", "GARCIA LOPEZ"),
        ("Lœvenbruck", "LOEVENBRUCK"),
        ("Æsa", "AESA"),
        ("Strauß", "STRAUSS"),
        ("Øster", "OSTER"),
        ("Łukasz", "LUKASZ"),
        ("Ǆemila", "DZEMILA"),
        ("Saint-Exupéry", "SAINT EXUPERY"),
        ("N'Diaye", "N DIAYE"),
        ("Jean--Pierre", "JEAN PIERRE"),
    ],
)
def test_given_a_name_written_with_accents_case_or_punctuation_when_normalised_then_one_canonical_form(
    raw: str, expected: str
) -> None:
    assert normalise_name(raw) == expected


def test_given_compound_given_names_when_taking_the_first_then_the_compound_name_stays_whole() -> None:
    assert first_given_name("Jean-Pierre Marie Joseph") == "JEAN PIERRE"
    assert first_given_name(["Jean-Pierre", "Marie"]) == "JEAN PIERRE"


def test_given_name_array_when_present_then_it_wins_over_the_space_separated_string() -> None:
    # A given name containing a space survives only in the array.
    assert first_given_name("Marie Claire Anne", ["Marie Claire", "Anne"]) == "MARIE CLAIRE"


@pytest.mark.parametrize("given", [None, "", "   ", [], ["", "  "], ["---"]])
def test_given_no_usable_given_name_when_normalised_then_identity_is_incomplete(given: object) -> None:
    with pytest.raises(IncompleteIdentityError) as info:
        first_given_name(given)  # type: ignore[arg-type]
    assert info.value.field == "given_name"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1979-01-01", "1979-01-01"),
        ("1979-00-00", "1979-01-01"),
        ("1979-06-00", "1979-06-01"),
        ("1979-00-15", "1979-01-15"),
        (" 1982-11-30 ", "1982-11-30"),
        (date(1982, 11, 30), "1982-11-30"),
    ],
)
def test_given_a_birthdate_or_a_presumed_one_when_normalised_then_iso_with_unknown_parts_as_01(
    raw: str | date, expected: str
) -> None:
    assert normalise_birthdate(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "30/11/1982", "1982-13-01", "1982-02-30", "82-11-30", "1982-11-30T00:00", "١٩٨٢-١١-٣٠"]
)
def test_given_a_malformed_birthdate_when_normalised_then_refused(raw: str) -> None:
    with pytest.raises(IncompleteIdentityError) as info:
        normalise_birthdate(raw)
    assert info.value.field == "birthdate"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("male", "M"),
        ("female", "F"),
        ("M", "M"),
        ("F", "F"),
        ("Homme", "M"),
        ("Féminin", "F"),
        ("1", "M"),
        ("2", "F"),
    ],
)
def test_given_a_gender_in_any_usual_spelling_when_normalised_then_m_or_f(raw: str, expected: str) -> None:
    assert normalise_gender(raw) == expected


@pytest.mark.parametrize("raw", ["", "x", "unknown", "3"])
def test_given_an_unknown_gender_when_normalised_then_refused(raw: str) -> None:
    with pytest.raises(IncompleteIdentityError):
        normalise_gender(raw)


def test_given_the_same_identity_when_digested_then_hex_hmac_sha256_stable_and_keyed() -> None:
    one = identity_digest(KEY, "Lefèvre", "Jean-Pierre Marie", "1975-04-12", "male")
    assert re.fullmatch(r"[0-9a-f]{64}", one)
    assert one == identity_digest(KEY, "LEFEVRE", "JEAN-PIERRE", "1975-04-12", "M")
    assert one != identity_digest(OTHER_KEY, "Lefèvre", "Jean-Pierre Marie", "1975-04-12", "male")


@pytest.mark.parametrize(
    "changed",
    [
        {"family_name": "Lefebvre"},
        {"given_names": "Marie Jean-Pierre"},
        {"birthdate": "1975-04-13"},
        {"gender": "female"},
    ],
)
def test_given_one_field_differs_when_digested_then_digest_differs(changed: dict[str, str]) -> None:
    base = {
        "family_name": "Lefèvre",
        "given_names": "Jean-Pierre Marie",
        "birthdate": "1975-04-12",
        "gender": "male",
    }
    assert identity_digest(KEY, **base) != identity_digest(KEY, **{**base, **changed})


def test_given_names_written_with_or_without_separators_when_digested_then_same_person() -> None:
    reference = identity_digest(KEY, "D'Almeida", "Anne", "1990-02-03", "F")
    assert identity_digest(KEY, "D ALMEIDA", "ANNE", "1990-02-03", "F") == reference
    assert identity_digest(KEY, "DALMEIDA", "Anne", "1990-02-03", "F") == reference


def test_given_an_empty_key_when_digesting_then_refused() -> None:
    with pytest.raises(ValueError):
        identity_digest(b"", "Martin", "Camille", "1985-09-03", "F")


def test_given_franceconnect_claims_when_read_then_family_name_is_the_birth_name_not_the_usage_name() -> None:
    claims = identity_by_key("helene").userinfo_claims()
    identity = civil_identity_from_claims(claims)
    assert identity.family_name == "D ARCY DUPRE"  # not preferred_username "Moreau"
    assert identity.first_given_name == "HELENE"


@pytest.mark.parametrize("missing", ["family_name", "birthdate", "gender"])
def test_given_claims_missing_a_civil_field_when_read_then_incomplete(missing: str) -> None:
    claims = identity_by_key("jean-pierre").userinfo_claims()
    del claims[missing]
    with pytest.raises(IncompleteIdentityError) as info:
        civil_identity_from_claims(claims)
    assert info.value.field == missing


def test_given_claims_without_given_name_but_with_the_array_when_read_then_array_used() -> None:
    claims = identity_by_key("jean-pierre").userinfo_claims()
    del claims["given_name"]
    assert civil_identity_from_claims(claims).first_given_name == "JEAN PIERRE"


@pytest.mark.parametrize("electors", fc_demo_electors(), ids=lambda e: e.identity_key)
def test_given_each_emulator_identity_when_compared_with_its_roll_spelling_then_digests_match(
    electors: object,
) -> None:
    elector = electors
    identity = identity_by_key(elector.identity_key)  # type: ignore[attr-defined]
    from_fc = digest_identity(KEY, civil_identity_from_claims(identity.userinfo_claims()))
    from_roll = identity_digest(
        KEY,
        elector.family_name,  # type: ignore[attr-defined]
        elector.given_names,  # type: ignore[attr-defined]
        elector.birthdate,  # type: ignore[attr-defined]
        elector.gender,  # type: ignore[attr-defined]
    )
    assert from_fc == from_roll


def test_given_the_identity_matching_nobody_when_digested_then_it_matches_no_demo_elector() -> None:
    stranger = digest_identity(KEY, civil_identity_from_claims(identity_by_key("paul").userinfo_claims()))
    roll = {
        identity_digest(KEY, e.family_name, e.given_names, e.birthdate, e.gender) for e in fc_demo_electors()
    }
    assert stranger not in roll
    assert len(roll) == len([i for i in TEST_IDENTITIES if i.elector_id])


def test_given_a_civil_identity_when_printed_then_no_personal_data_shows() -> None:
    identity = CivilIdentity("LEFEVRE", "JEAN PIERRE", "1975-04-12", "M")
    assert "LEFEVRE" not in repr(identity)
    assert "LEFEVRE" not in str(identity)
    with pytest.raises(IncompleteIdentityError) as info:
        normalise_birthdate("1975-13-45")
    assert "1975" not in str(info.value)


# -- properties ------------------------------------------------------------------------------------

names = st.text(
    alphabet=st.characters(categories=("L", "M", "Zs", "Pd", "Po"), max_codepoint=0x024F),
    min_size=0,
    max_size=40,
)
ascii_words = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10), min_size=1, max_size=4
)
separators = st.sampled_from([" ", "-", "'", "’", "  ", " - ", "‐"])
accents = ["\u0301", "\u0300", "\u0302", "\u0308", "\u0327"]


@given(names)
def test_given_any_name_when_normalised_then_single_spaced_capitals_and_digits_that_normalise_the_same(
    raw: str,
) -> None:
    once = normalise_name(raw)
    assert normalise_name(once) == once
    assert re.fullmatch(r"(?:[A-Z0-9]+(?: [A-Z0-9]+)*)?", once)


@given(ascii_words, st.data())
def test_given_a_name_with_other_case_accents_or_separators_then_the_identity_digest_is_the_same(
    words: list[str], data: st.DataObject
) -> None:
    plain = " ".join(words)
    decorated = ""
    for index, word in enumerate(words):
        if index:
            decorated += data.draw(separators)
        for letter in word:
            letter = letter.upper() if data.draw(st.booleans()) else letter
            if data.draw(st.booleans()):
                letter = unicodedata.normalize("NFC", letter + data.draw(st.sampled_from(accents)))
            decorated += letter
    assert identity_digest(KEY, decorated, "Anne", "1980-01-02", "F") == identity_digest(
        KEY, plain, "Anne", "1980-01-02", "F"
    )


@given(st.integers(min_value=1900, max_value=2010))
def test_given_a_presumed_birthdate_with_00_or_01_then_the_identity_digest_is_the_same(year: int) -> None:
    assert identity_digest(KEY, "Kone", "Fatoumata", f"{year}-00-00", "F") == identity_digest(
        KEY, "Kone", "Fatoumata", f"{year}-01-01", "F"
    )


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2010, 12, 31)), st.dates(min_value=date(1900, 1, 1))
)
def test_given_two_distinct_birthdates_then_the_identity_digests_differ(first: date, second: date) -> None:
    assume(first != second)
    assert identity_digest(KEY, "Martin", "Camille", first, "F") != identity_digest(
        KEY, "Martin", "Camille", second, "F"
    )


@given(
    st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12), min_size=1, max_size=5)
)
def test_given_several_given_names_then_only_the_first_counts_in_the_identity_digest(
    given_names: list[str],
) -> None:
    assert identity_digest(KEY, "Martin", " ".join(given_names), "1985-09-03", "F") == identity_digest(
        KEY, "Martin", given_names[0], "1985-09-03", "F"
    )
