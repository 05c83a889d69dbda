"""What the normalisation accepts, by property (docs/decisions.md: Unicode in answers and identifiers)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reassort.domain.normalise import normalise_answer, parse_identifier

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u200f"]
NUMENS = st.from_regex(r"\A[0-9A-Z]{13}\Z")
NIR10S = st.from_regex(r"\A[1-8][0-9]{4}([0-9]{2}|2[AB])[0-9]{3}\Z")
IDENTIFIERS = st.one_of(NUMENS, NIR10S)
ANSWERS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def sprinkle(text: str, marks: list[str], data: st.DataObject) -> str:
    out = []
    for ch in text:
        out.append(ch)
        if data.draw(st.booleans()):
            out.append(data.draw(st.sampled_from(marks)))
    return "".join(out)


# -- answers ------------------------------------------------------------------------------------------


@settings(deadline=None)  # CPU shared with other suites: no per-example timing
@given(ANSWERS)
def test_given_any_answer_then_normalising_twice_changes_nothing(answer: str) -> None:
    once = normalise_answer(answer)
    assert normalise_answer(once) == once


@settings(deadline=None)  # CPU shared with other suites: no per-example timing
@given(ANSWERS, st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]))
def test_given_any_unicode_form_of_an_answer_then_the_same_normalised_answer(answer: str, form: str) -> None:
    assert normalise_answer(unicodedata.normalize(form, answer)) == normalise_answer(answer)  # type: ignore[arg-type]


@settings(deadline=None)  # CPU shared with other suites: no per-example timing
@given(ANSWERS, st.data())
def test_given_invisible_characters_in_an_answer_then_they_do_not_count(
    answer: str, data: st.DataObject
) -> None:
    assert normalise_answer(sprinkle(answer, INVISIBLE, data)) == normalise_answer(answer)


@settings(deadline=None)  # CPU shared with other suites: no per-example timing
@given(ANSWERS)
def test_given_any_answer_then_no_accent_no_invisible_no_capital_no_stray_space_is_left(answer: str) -> None:
    out = normalise_answer(answer)
    assert out == out.strip() and "  " not in out
    assert not any(unicodedata.category(ch) == "Cf" for ch in out)
    assert not any(unicodedata.combining(ch) for ch in unicodedata.normalize("NFD", out))
    assert out.casefold() == out


@pytest.mark.parametrize(
    "typed",
    [
        "Éléphant Rose",
        "ELEPHANT  ROSE",
        "e\u0301le\u0301phant rose",
        "éléphant\u00a0rose",
        "élé\u200bphant rose",
    ],
)
def test_given_the_ways_an_answer_is_typed_then_one_answer(typed: str) -> None:
    assert normalise_answer(typed) == "elephant rose"


# -- identifiers --------------------------------------------------------------------------------------


@settings(deadline=None)  # CPU shared with other suites: no per-example timing
@given(IDENTIFIERS)
def test_given_a_fullwidth_identifier_then_the_same_as_ascii(identifier: str) -> None:
    assert parse_identifier(fullwidth(identifier)) == parse_identifier(identifier)


@settings(deadline=None)  # CPU shared with other suites: no per-example timing
@given(IDENTIFIERS, st.data())
def test_given_invisible_characters_or_separators_in_an_identifier_then_they_do_not_count(
    identifier: str, data: st.DataObject
) -> None:
    noisy = sprinkle(identifier, [*INVISIBLE, " ", ".", "-", "\u00a0", "\u2011", "\u2013"], data)
    assert parse_identifier(noisy) == parse_identifier(identifier)


@settings(deadline=None)  # CPU shared with other suites: no per-example timing
@given(
    IDENTIFIERS,
    st.data(),
    st.sampled_from(["\u0660", "\u06f0", "\u0966", "\u09e6", "\u0e50", "\U0001d7ce"]),  # zero in six scripts
)
def test_given_a_digit_of_another_script_in_an_identifier_then_refused(
    identifier: str, data: st.DataObject, zero: str
) -> None:
    positions = [i for i, ch in enumerate(identifier) if ch.isdigit()]
    assume(positions)  # a NUMEN may be letters only
    i = data.draw(st.sampled_from(positions))
    foreign = chr(ord(zero) + int(identifier[i]))
    if unicodedata.normalize("NFKC", foreign).isascii():
        return  # mathematical digits are compatibility forms of ASCII ones: accepted like fullwidth
    with pytest.raises(ValueError):
        parse_identifier(identifier[:i] + foreign + identifier[i + 1 :])


def test_given_arabic_indic_digits_for_a_nir_then_refused() -> None:
    assert parse_identifier("2850275123").kind == "nir10"
    with pytest.raises(ValueError):
        parse_identifier("".join(chr(0x0660 + int(d)) for d in "2850275123"))
