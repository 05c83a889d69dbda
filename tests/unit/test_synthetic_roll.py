"""Synthetic roll: valid import rows whose hashes match the secrets handed to the load kit."""

from __future__ import annotations

import csv
from pathlib import Path

from reassort.adapters.system import Argon2Profile, SecretHasher
from reassort.domain.normalise import normalise_answer, parse_identifier
from reassort.roll.schema import COLUMNS, check_header, validate_row
from tools import synthetic_roll

CHEAP = Argon2Profile(memory_kib=64, time_cost=1, parallelism=1)
KEY = b"k" * 32


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_given_hashed_mode_when_generated_then_every_row_validates_and_hashes_match_the_secrets(tmp_path):
    roll, secrets = tmp_path / "roll.csv", tmp_path / "secrets.csv"
    synthetic_roll.write_roll(30, roll, secrets, pool_size=4, profile=CHEAP)
    rows, known = read(roll), read(secrets)
    assert len(rows) == len(known) == 30
    with roll.open(encoding="utf-8") as handle:
        assert check_header(next(csv.reader(handle))) == []
    hasher = SecretHasher(CHEAP)
    for number, (row, secret) in enumerate(zip(rows, known, strict=True), start=2):
        parsed, problems = validate_row(number, row, KEY)
        assert problems == [] and parsed is not None
        assert row["elector_id"] == secret["elector_id"]
        assert not row.get("answer") and not row.get("vote_code")  # no plaintext in hashed mode
        assert hasher.verify(row["answer_hash"], normalise_answer(secret["answer"]))
        assert hasher.verify(row["vote_code_hash"], secret["vote_code"])
        identifier = parse_identifier(secret["identifier"])
        stored = row["numen_hash"] if identifier.kind == "numen" else row["nir_hash"]
        assert hasher.verify(stored, identifier.value)


def test_given_plaintext_mode_when_generated_then_secrets_are_in_clear_and_valid(tmp_path):
    roll = tmp_path / "roll.csv"
    synthetic_roll.write_roll(9, roll, None, plaintext=True, pool_size=3)
    rows = read(roll)
    assert set(rows[0]) == {c for c in COLUMNS if not c.endswith("_hash")}
    assert all(validate_row(n, r, KEY)[1] == [] for n, r in enumerate(rows, start=2))
    # a third NUMEN only, a third NIR only, a third both
    assert [bool(r["numen"]) for r in rows[:3]] == [True, False, True]
    assert [bool(r["nir10"]) for r in rows[:3]] == [False, True, True]


def test_given_the_same_seed_when_generated_twice_then_the_secrets_are_identical(tmp_path):
    synthetic_roll.write_roll(5, tmp_path / "a.csv", tmp_path / "a.s.csv", plaintext=True)
    synthetic_roll.write_roll(5, tmp_path / "b.csv", tmp_path / "b.s.csv", plaintext=True)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert read(tmp_path / "a.s.csv") == read(tmp_path / "b.s.csv")


def test_given_many_electors_when_generated_then_ids_and_civil_identities_are_unique(tmp_path):
    synthetic_roll.write_roll(2000, tmp_path / "r.csv", tmp_path / "s.csv", plaintext=True)
    rows = read(tmp_path / "s.csv")
    assert len({r["elector_id"] for r in rows}) == 2000
    assert len({(r["birth_family_name"], r["given_names"].split()[0], r["birthdate"]) for r in rows}) == 2000
    assert all(not r["personal_email"].endswith("education.gouv.fr") for r in rows)


def test_given_the_defaults_when_generated_then_no_address_or_number_can_reach_anyone(tmp_path):
    synthetic_roll.write_roll(12, tmp_path / "r.csv", tmp_path / "s.csv", plaintext=True)
    rows = read(tmp_path / "s.csv")
    for row in rows:
        for address in (row["pro_email"], row["personal_email"]):
            assert address.endswith("@simulator.amazonses.com") and address.startswith("success+")
        assert row["mobile"] == "+33755512501"
    assert len({r["personal_email"] for r in rows}) == 12  # labelled: one address per elector
    assert {r["pro_email"] for r in rows}.isdisjoint(r["personal_email"] for r in rows)
    roll = read(tmp_path / "r.csv")
    assert all(validate_row(n, r, KEY)[1] == [] for n, r in enumerate(roll, start=2))


def test_given_a_rehearsal_domain_and_failures_when_generated_then_they_are_used(tmp_path):
    synthetic_roll.main(
        [
            "--count", "6", "--out", str(tmp_path / "r.csv"), "--secrets", str(tmp_path / "s.csv"),
            "--plaintext", "--personal-domain", "load.recette.example.gouv.fr", "--sms-failure-every", "3",
        ]
    )  # fmt: skip
    rows = read(tmp_path / "s.csv")
    assert rows[0]["personal_email"] == "perso.e0000000@load.recette.example.gouv.fr"
    assert rows[0]["pro_email"].endswith("@simulator.amazonses.com")
    assert [r["mobile"][-2:] for r in rows] == ["01", "01", "02", "01", "01", "02"]
