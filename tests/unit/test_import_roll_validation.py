"""Roll rows: every problem is found, and nothing of a value leaks into a problem."""

from __future__ import annotations

import pytest

from reassort.roll.schema import COLUMNS, check_header, digest_key, keyed_digest, validate_row

KEY = b"i" * 32
NUMEN_HASH = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo"


def good(**changes: str) -> dict[str, str]:
    row = {
        "elector_id": "E0000001",
        "display_name": "Camille Martin",
        "pro_email": "camille.martin@ac-paris.fr",
        "question": "Quel est le nom de votre premier animal ?",
        "answer": "  Éléphant ROSE ",
        "numen": "12 e 3456789abc",
        "nir10": "",
        "vote_code": "Ab3$Cd4%Ef5+",
        "birth_family_name": "Lefèvre",
        "given_names": "Camille Anaïs",
        "birthdate": "1980-02-00",
        "gender": "F",
    }
    row.update(changes)
    return row


def codes(row: dict[str, str]) -> set[tuple[str, str]]:
    _parsed, problems = validate_row(7, row, KEY)
    assert all(p.row == 7 for p in problems)
    return {(p.field, p.code) for p in problems}


def test_given_a_good_row_when_validated_then_secrets_are_normalised_and_nothing_is_reported():
    parsed, problems = validate_row(2, good(), KEY)
    assert problems == []
    assert parsed is not None
    assert parsed.secrets["answer_hash"] == ("plain", "elephant rose")
    assert parsed.secrets["numen_hash"] == ("plain", "12E3456789ABC")
    assert parsed.secrets["vote_code_hash"] == ("plain", "Ab3$Cd4%Ef5+")
    assert "nir_hash" not in parsed.secrets
    assert parsed.identity_digest and len(parsed.identity_digest) == 64
    assert "lephant" not in repr(parsed) and "Ab3$" not in str(parsed)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"elector_id": ""}, ("elector_id", "missing")),
        ({"elector_id": "E 1/2"}, ("elector_id", "invalid_elector_id")),
        ({"display_name": ""}, ("display_name", "missing")),
        ({"display_name": "x" * 201}, ("display_name", "too_long")),
        ({"pro_email": "not-an-address"}, ("pro_email", "invalid_email")),
        ({"numen": "123"}, ("numen", "invalid_numen")),
        ({"numen": "1850775123"}, ("numen", "invalid_numen")),  # a NIR in the NUMEN column
        ({"nir10": "9850775123"}, ("nir10", "invalid_nir10")),
        ({"answer": " \t "}, ("answer", "question_without_answer")),
        ({"answer": "\u0301"}, ("answer", "empty_after_normalisation")),
        ({"numen_hash": NUMEN_HASH}, ("numen", "both_plaintext_and_hash")),
        ({"numen": "", "numen_hash": "md5:abc"}, ("numen_hash", "invalid_hash")),
        ({"question": ""}, ("question", "answer_without_question")),
        ({"numen": ""}, ("numen", "question_without_identifier")),
        ({"vote_code": ""}, ("vote_code_hash", "missing")),
        ({"gender": ""}, ("gender", "identity_incomplete")),
        ({"birthdate": "02/03/1980"}, ("birthdate", "identity_invalid")),
        ({"gender": "X"}, ("gender", "identity_invalid")),
        ({"display_name": "a\x00b"}, ("display_name", "control_characters")),
    ],
)
def test_given_a_bad_value_when_validated_then_the_row_is_rejected_with_a_stable_code(changes, expected):
    parsed, _problems = validate_row(7, good(**changes), KEY)
    assert parsed is None
    assert expected in codes(good(**changes))


def test_given_no_question_and_no_identity_when_validated_then_a_warning_only():
    row = good(
        question="", answer="", numen="", birth_family_name="", given_names="", birthdate="", gender=""
    )
    parsed, problems = validate_row(3, row, KEY)
    assert parsed is not None
    assert [(p.code, p.severity) for p in problems] == [("no_reissue_path", "warning")]


def test_given_prehashed_secrets_when_validated_then_hashes_are_kept_as_given():
    parsed, problems = validate_row(2, good(numen="", numen_hash=NUMEN_HASH), KEY)
    assert problems == []
    assert parsed is not None
    assert parsed.secrets["numen_hash"] == ("hash", NUMEN_HASH)


def test_given_bad_rows_when_reported_then_no_value_is_ever_echoed():
    secrets = {"answer": "Zébulon-Secret", "numen": "SECRETNUMEN", "vote_code": "Qq7!Ww8$Ee9+"}
    row = good(**secrets, pro_email="bad address", nir10="7777777777")
    _parsed, problems = validate_row(9, row, KEY)
    text = repr([p.as_dict() for p in problems])
    assert problems
    for value in [*secrets.values(), "bad address", "7777777777", "Lefèvre", "Camille"]:
        assert value not in text


def test_given_the_same_row_when_digested_then_stable_and_keyed():
    a, _ = validate_row(2, good(), KEY)
    b, _ = validate_row(5, good(), KEY)
    c, _ = validate_row(2, good(), b"j" * 32)
    d, _ = validate_row(2, good(display_name="Camille Martin-Durand"), KEY)
    assert a and b and c and d
    assert a.digest == b.digest
    assert a.digest != c.digest  # another key, another digest
    assert a.digest != d.digest
    assert a.vote_code_digest == d.vote_code_digest  # the vote code did not change
    assert keyed_digest(digest_key(KEY), [1]) != keyed_digest(digest_key(b"j" * 32), [1])


def test_given_a_header_when_checked_then_unknown_and_missing_columns_are_reported():
    assert check_header(list(COLUMNS)) == []
    problems = check_header(["elector_id", "display_name", "anwser"])
    assert {(p.field, p.code) for p in problems} == {
        ("anwser", "unknown_column"),
        ("pro_email", "missing_column"),
    }
