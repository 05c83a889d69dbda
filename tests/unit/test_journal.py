"""The signed digest chain and its offline verification: every kind of tampering is reported, with where."""

from __future__ import annotations

import copy

import pytest

from reassort.journal.digests import Digester, SignedDigest
from reassort.journal.records import record_order
from reassort.journal.verify import Report, verify_journal
from tests.support.journal import MemorySigner, MemorySource, MemoryStore, audit_item

T0 = 1_796_000_000_000  # ms
MINUTE = 60_000


@pytest.fixture
def journal() -> tuple[MemorySource, MemoryStore, MemorySigner, Digester]:
    source, store, signer = MemorySource(), MemoryStore(), MemorySigner()
    digester = Digester(stage="test", source=source, store=store, signer=signer, settle_ms=2 * MINUTE)
    return source, store, signer, digester


def _fill(source: MemorySource, digester: Digester) -> None:
    """Three periods of records, one of them empty."""
    for i in range(4):
        source.items.append(
            audit_item(T0 + i * 1000, f"E-{i}", "challenge", "success", f"r{i}", channel="email")
        )
    digester.run(T0 + 5 * MINUTE)
    digester.run(T0 + 10 * MINUTE)  # empty period
    for i in range(3):
        source.items.append(audit_item(T0 + 9 * MINUTE + i, f"E-{i}", "redeem", "success", f"s{i}"))
    digester.run(T0 + 15 * MINUTE)


def _export(source: MemorySource) -> list[dict]:
    return sorted(copy.deepcopy(source.items), key=record_order)


def _verify(records, store: MemoryStore, signer: MemorySigner, **kwargs) -> Report:
    digests = [(key, digest) for key, digest in sorted(store.objects.items())]
    return verify_journal(records, digests, signer.public_key_pem(), **kwargs)


def _errors(report: Report) -> list[tuple[str, str]]:
    return [(f.code, f.where) for f in report.findings if f.severity == "erreur"]


def test_given_an_untouched_journal_when_verified_then_it_matches_and_the_lag_is_measured(journal) -> None:
    source, store, signer, digester = journal
    _fill(source, digester)
    report = _verify(_export(source), store, signer)
    assert report.ok, report.findings
    assert report.records_verified == 7
    assert [d.body["record_count"] for d in store.all()] == [4, 0, 3]
    # records are covered at most one period plus the settling delay after they happen
    assert 0 < report.lag_summary()["max_s"] <= 5 * 60 + 2 * 60
    assert [f.code for f in report.findings] == ["journal_open"]


def test_given_digests_when_read_then_they_name_no_elector(journal) -> None:
    source, store, _, digester = journal
    _fill(source, digester)
    text = str([d.to_json() for d in store.all()])
    assert "E-0" not in text and "E-1" not in text and "challenge" not in text


def test_given_a_record_altered_after_its_digest_when_verified_then_its_line_and_digest_are_reported(
    journal,
) -> None:
    source, store, signer, digester = journal
    _fill(source, digester)
    records = _export(source)
    records[1]["outcome"] = {"S": "wrong_credentials"}
    assert _errors(_verify(records, store, signer)) == [
        ("record_altered", "ligne 2 (condensé n° 0, position 2)")
    ]


def test_given_a_record_removed_when_verified_then_its_digest_and_position_are_reported(journal) -> None:
    source, store, signer, digester = journal
    _fill(source, digester)
    records = _export(source)
    del records[5]
    assert _errors(_verify(records, store, signer)) == [("record_removed", "condensé n° 2, position 2")]


def test_given_a_record_inserted_in_a_digested_period_when_verified_then_its_line_is_reported(
    journal,
) -> None:
    source, store, signer, digester = journal
    _fill(source, digester)
    records = _export(source)
    records.insert(2, audit_item(T0 + 1500, "E-9", "redeem", "success", "forged"))
    assert _errors(_verify(records, store, signer)) == [
        ("record_inserted", "ligne 3 (période du condensé n° 0)")
    ]


def test_given_two_records_swapped_when_verified_then_the_move_is_reported(journal) -> None:
    source, store, signer, digester = journal
    _fill(source, digester)
    records = _export(source)
    records[0], records[1] = records[1], records[0]
    assert _errors(_verify(records, store, signer)) == [
        ("record_reordered", "ligne 1 (condensé n° 0, position 2)")
    ]


def test_given_a_digest_deleted_from_the_middle_when_verified_then_the_gap_and_its_records_are_reported(
    journal,
) -> None:
    source, store, signer, digester = journal
    _fill(source, digester)
    digester.run(T0 + 20 * MINUTE)
    del store.objects[sorted(store.objects)[2]]
    errors = _errors(_verify(_export(source), store, signer))
    assert ("digest_missing", "condensé n° 2") in errors
    assert [e for e in errors if e[0] == "record_unverifiable"] == [
        ("record_unverifiable", "ligne 5"),
        ("record_unverifiable", "ligne 6"),
        ("record_unverifiable", "ligne 7"),
    ]


def test_given_a_digest_rewritten_when_verified_then_its_signature_is_refused(journal) -> None:
    source, store, signer, digester = journal
    _fill(source, digester)
    key = sorted(store.objects)[0]
    forged = copy.deepcopy(store.objects[key].body)
    forged["records"] = forged["records"][:-1]
    forged["record_count"] = 3
    store.objects[key] = SignedDigest(forged, store.objects[key].signature)
    errors = _errors(_verify(_export(source), store, signer))
    assert ("signature_invalid", f"condensé n° 0 ({key})") in errors
    assert ("record_unverifiable", "ligne 1") in errors


def test_given_a_digest_signed_by_another_key_when_verified_then_it_is_refused(journal) -> None:
    source, store, _, digester = journal
    _fill(source, digester)
    errors = _errors(_verify(_export(source), store, MemorySigner()))
    assert {code for code, _ in errors} >= {"signature_invalid", "no_digest"}


def test_given_the_last_digests_dropped_when_the_final_hash_is_known_then_the_missing_end_is_reported(
    journal,
) -> None:
    source, store, signer, digester = journal
    digester.close_at_ms = T0 + 12 * MINUTE
    _fill(source, digester)
    final = store.latest()
    assert final is not None and final.final and final.period_end_ms == T0 + 12 * MINUTE
    assert digester.run(T0 + 60 * MINUTE).reason == "closed"
    del store.objects[max(store.objects)]
    report = _verify(_export(source), store, signer, expected_final_sha256=final.body_sha256)
    assert ("final_missing", "après le condensé n° 1") in _errors(report)


def test_given_a_closed_journal_when_verified_with_its_final_hash_then_it_matches(journal) -> None:
    source, store, signer, digester = journal
    digester.close_at_ms = T0 + 12 * MINUTE
    _fill(source, digester)
    source.items.append(audit_item(T0 + 30 * MINUTE, "E-1", "franceconnect", "election_closed", "late"))
    final = store.latest()
    assert final is not None
    report = _verify(_export(source), store, signer, expected_final_sha256=final.body_sha256)
    assert report.ok, report.findings
    assert [f.code for f in report.findings] == ["record_after_close"]
    wrong = _verify(_export(source), store, signer, expected_final_sha256="0" * 64)
    assert ("final_mismatch", f"condensé n° {final.sequence}") in _errors(wrong)


def test_given_two_runs_racing_when_the_second_writes_then_the_sequence_is_refused(journal) -> None:
    from reassort.journal.digests import DigestExists

    _source, store, _signer, digester = journal
    digester.run(T0)
    stale = store.latest()
    digester.run(T0 + MINUTE)
    store.latest = lambda: stale  # type: ignore[method-assign]
    with pytest.raises(DigestExists):
        digester.run(T0 + 2 * MINUTE)
