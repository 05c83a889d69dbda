"""Every finding of the offline verification, pinned word for word and in its order, on hand-made
digest chains that reach each kind of break."""

from __future__ import annotations

from typing import Any

from reassort.journal.digests import GENESIS, SignedDigest, iso_ms, signed_message
from reassort.journal.records import Item, record_hash, record_locator
from reassort.journal.verify import Report, verify_journal
from tests.support.journal import MemorySigner, audit_item

T0 = 1_796_000_000_000  # ms
MINUTE = 60_000

NOT_IN_DIGEST = "Enregistrement absent de son condensé : ajouté après coup."
PENDING = "Pas encore couvert : le prochain condensé le couvrira."
BAD_SIGNATURE = "Signature invalide : le condensé a été modifié ou n'a pas été signé par la clé du scrutin."
AFTER_CLOSE = "Enregistrement postérieur au condensé final."


def _digest(
    signer: MemorySigner,
    sequence: int,
    start: int,
    end: int,
    records: list[Item],
    previous_sha256: str,
    *,
    final: bool = False,
    created_at_ms: Any = None,
) -> SignedDigest:
    body = {
        "stage": "test",
        "sequence": sequence,
        "previous_body_sha256": previous_sha256,
        "period_start_ms": start,
        "period_end_ms": end,
        "period_start": iso_ms(start),
        "period_end": iso_ms(end),
        "created_at_ms": end + 2 * MINUTE if created_at_ms is None else created_at_ms,
        "record_count": len(records),
        "records": [[record_locator(item), record_hash(item)] for item in records],
        "final": final,
    }
    return SignedDigest(body, signer.sign(signed_message(body)))


def _findings(report: Report) -> list[tuple[str, str, str, str]]:
    return [(f.severity, f.code, f.where, f.message) for f in report.findings]


def _counts(report: Report) -> dict[str, Any]:
    data = report.to_json()
    del data["findings"]
    return data


def test_given_a_chain_broken_in_every_way_when_verified_then_each_break_is_reported_in_order() -> None:
    signer = MemorySigner()
    r0 = audit_item(T0 + 1000, "E-0", "challenge", "success", "r0")
    r1 = audit_item(T0 + 2000, "E-1", "challenge", "success", "r1")
    r2 = audit_item(T0 + 7 * MINUTE, "E-2", "redeem", "success", "r2")
    r_removed = audit_item(T0 + 8 * MINUTE, "E-3", "redeem", "success", "gone")
    r3 = audit_item(T0 + 13 * MINUTE, "E-4", "redeem", "success", "r3")
    d0 = _digest(signer, 0, T0, T0 + 5 * MINUTE, [r0, r1], "f" * 64)
    d1 = _digest(
        signer, 1, T0 + 6 * MINUTE, T0 + 10 * MINUTE, [r2, r_removed], "1" * 64, created_at_ms="late"
    )
    d2 = _digest(signer, 2, T0 + 10 * MINUTE, T0 + 12 * MINUTE, [], d1.body_sha256, final=True)
    d3 = _digest(signer, 3, T0 + 12 * MINUTE, T0 + 14 * MINUTE, [r3], d2.body_sha256)
    altered = dict(r2, outcome={"S": "wrong_credentials"})
    records = [
        r1,
        r0,
        audit_item(T0 - MINUTE, "E-8", "redeem", "success", "before"),
        r1,
        audit_item(T0 + 5 * MINUTE + 30_000, "E-9", "redeem", "success", "between"),
        altered,
        {"elector_id": {"S": "E-7"}},
        r3,
        audit_item(T0 + 20 * MINUTE, "E-6", "redeem", "success", "pending"),
    ]
    digests = [(f"d{d.sequence}", d) for d in (d0, d1, d2, d3)]

    report = verify_journal(records, digests, signer.public_key_pem())

    assert _findings(report) == [
        ("erreur", "chain_broken", "condensé n° 0", "Le premier condensé ne commence pas la chaîne."),
        ("erreur", "chain_broken", "condensé n° 1", "Ne désigne pas le condensé n° 0 comme précédent."),
        (
            "erreur",
            "period_gap",
            "condensé n° 1",
            "Sa période commence à 2026-11-30T00:59:20.000+00:00, le précédent finit à "
            "2026-11-30T00:58:20.000+00:00.",
        ),
        ("erreur", "after_final", "condensé n° 3", "Condensé postérieur au condensé final de clôture."),
        ("erreur", "record_inserted", "ligne 3", NOT_IN_DIGEST),
        ("erreur", "record_inserted", "ligne 4 (période du condensé n° 0)", NOT_IN_DIGEST),
        ("erreur", "record_inserted", "ligne 5", NOT_IN_DIGEST),
        (
            "erreur",
            "record_altered",
            "ligne 6 (condensé n° 1, position 1)",
            "Enregistrement modifié après son condensé.",
        ),
        ("erreur", "record_unreadable", "ligne 7", "Enregistrement illisible (clé ou date absente)."),
        ("info", "record_pending", "ligne 9", PENDING),
        (
            "erreur",
            "record_removed",
            "condensé n° 1, position 2",
            "Enregistrement de la période 2026-11-30T00:59:20.000+00:00 – 2026-11-30T01:03:20.000+00:00 "
            "absent de l'export.",
        ),
        (
            "erreur",
            "record_reordered",
            "ligne 1 (condensé n° 0, position 2)",
            "Enregistrement déplacé : il devrait suivre la ligne 2.",
        ),
    ]
    # a digest without an integer creation time vouches for its records but gives no lag
    assert _counts(report) == {
        "ok": False,
        "digests": 4,
        "digests_valid": 4,
        "records": 9,
        "records_verified": 3,
        "final_sequence": 2,
        "final_body_sha256": d2.body_sha256,
        "lag_record_to_digest": {"max_s": 419.0, "mean_s": 339.0, "p95_s": 419.0},
    }


def test_given_missing_invalid_and_unreadable_digests_when_verified_then_uncovered_records_say_why() -> None:
    signer = MemorySigner()
    r_first = audit_item(T0 + 1000, "E-0", "challenge", "success", "first")
    r1 = audit_item(T0 + 6 * MINUTE, "E-1", "challenge", "success", "r1")
    r_middle = audit_item(T0 + 11 * MINUTE, "E-2", "redeem", "success", "middle")
    r3 = audit_item(T0 + 16 * MINUTE, "E-3", "redeem", "success", "r3")
    r_end = audit_item(T0 + 21 * MINUTE, "E-4", "redeem", "success", "end")
    d1 = _digest(signer, 1, T0 + 5 * MINUTE, T0 + 10 * MINUTE, [r1], "a" * 64)
    d2 = _digest(signer, 2, T0 + 10 * MINUTE, T0 + 15 * MINUTE, [r_middle], d1.body_sha256)
    forged_d2 = SignedDigest(dict(d2.body, record_count=0), d2.signature)
    d3 = _digest(signer, 3, T0 + 15 * MINUTE, T0 + 20 * MINUTE, [r3], d2.body_sha256)
    d3_again = _digest(signer, 3, T0 + 15 * MINUTE, T0 + 20 * MINUTE, [], d2.body_sha256)
    records = [r_first, r1, r_middle, r3, r_end]
    digests = [("d1", d1), ("d2", forged_d2), ("broken.json", None), ("d3", d3), ("d3bis", d3_again)]

    closed = verify_journal(records, digests, signer.public_key_pem(), expected_final_sha256="ab" * 32)
    still_open = verify_journal(records, digests, signer.public_key_pem())

    digest_findings = [
        ("erreur", "signature_invalid", "condensé n° 2 (d2)", BAD_SIGNATURE),
        ("erreur", "digest_unreadable", "broken.json", "Fichier de condensé illisible ou d'un autre format."),
        ("erreur", "digest_duplicate", "d3bis", "Deux condensés portent le numéro 3."),
        ("erreur", "digest_missing", "condensé n° 0", "Condensé absent de la chaîne."),
    ]
    assert _findings(closed) == [
        *digest_findings,
        (
            "erreur",
            "final_missing",
            "après le condensé n° 3",
            "Le condensé final inscrit au procès-verbal est absent : la fin de la chaîne a pu être retirée.",
        ),
        (
            "erreur",
            "record_unverifiable",
            "ligne 1",
            "Aucun condensé valide ne le couvre (condensé n° 0 manquant).",
        ),
        (
            "erreur",
            "record_unverifiable",
            "ligne 3",
            "Aucun condensé valide ne le couvre (condensé n° 2 invalide).",
        ),
        (
            "erreur",
            "record_unverifiable",
            "ligne 5",
            "Aucun condensé valide ne le couvre (condensé final manquant).",
        ),
    ]
    assert _findings(still_open) == [
        *digest_findings,
        (
            "info",
            "journal_open",
            "après le condensé n° 3",
            "Journal non clos : sans l'empreinte du condensé final, un retrait des derniers condensés "
            "ne peut pas être exclu.",
        ),
        (
            "erreur",
            "record_unverifiable",
            "ligne 1",
            "Aucun condensé valide ne le couvre (condensé n° 0 manquant).",
        ),
        (
            "erreur",
            "record_unverifiable",
            "ligne 3",
            "Aucun condensé valide ne le couvre (condensé n° 2 invalide).",
        ),
        ("info", "record_pending", "ligne 5", PENDING),
    ]
    counts = {
        "ok": False,
        "digests": 5,
        "digests_valid": 2,
        "records": 5,
        "records_verified": 2,
        "final_sequence": None,
        "final_body_sha256": None,
        "lag_record_to_digest": {"max_s": 360.0, "mean_s": 360.0, "p95_s": 360.0},
    }
    assert _counts(closed) == counts
    assert _counts(still_open) == counts


def test_given_no_valid_digest_when_verified_then_every_record_is_unverifiable() -> None:
    signer = MemorySigner()
    r0 = audit_item(T0 + 1000, "E-0", "challenge", "success", "r0")
    d0 = _digest(MemorySigner(), 0, T0, T0 + 5 * MINUTE, [r0], GENESIS)

    report = verify_journal([r0], [("d0", d0)], signer.public_key_pem())

    assert _findings(report) == [
        ("erreur", "signature_invalid", "condensé n° 0 (d0)", BAD_SIGNATURE),
        ("erreur", "no_digest", "journal", "Aucun condensé valide : rien ne garantit les enregistrements."),
        (
            "erreur",
            "record_unverifiable",
            "ligne 1",
            "Aucun condensé valide ne le couvre (condensé n° 0 invalide).",
        ),
    ]
    assert _counts(report) == {
        "ok": False,
        "digests": 1,
        "digests_valid": 0,
        "records": 1,
        "records_verified": 0,
        "final_sequence": None,
        "final_body_sha256": None,
        "lag_record_to_digest": {"max_s": None, "mean_s": None, "p95_s": None},
    }


def test_given_a_closed_chain_when_verified_against_the_minutes_then_a_wrong_hash_is_reported() -> None:
    signer = MemorySigner()
    r0 = audit_item(T0 + 1000, "E-0", "challenge", "success", "r0")
    late = audit_item(T0 + 30 * MINUTE, "E-1", "franceconnect", "election_closed", "late")
    d0 = _digest(signer, 0, T0, T0 + 5 * MINUTE, [r0], GENESIS)
    d1 = _digest(signer, 1, T0 + 5 * MINUTE, T0 + 10 * MINUTE, [], d0.body_sha256, final=True)
    digests = [("d0", d0), ("d1", d1)]

    # the hash in the minutes may be copied in capitals, with a trailing newline
    matching = verify_journal(
        [r0, late], digests, signer.public_key_pem(), expected_final_sha256=d1.body_sha256.upper() + "\n"
    )
    wrong = verify_journal([r0, late], digests, signer.public_key_pem(), expected_final_sha256="0" * 64)

    assert _findings(matching) == [("info", "record_after_close", "ligne 2", AFTER_CLOSE)]
    assert _findings(wrong) == [
        (
            "erreur",
            "final_mismatch",
            "condensé n° 1",
            "Le condensé final ne correspond pas à l'empreinte inscrite au procès-verbal.",
        ),
        ("info", "record_after_close", "ligne 2", AFTER_CLOSE),
    ]
    counts = {
        "digests": 2,
        "digests_valid": 2,
        "records": 2,
        "records_verified": 1,
        "final_sequence": 1,
        "final_body_sha256": d1.body_sha256,
        "lag_record_to_digest": {"max_s": 419.0, "mean_s": 419.0, "p95_s": 419.0},
    }
    assert _counts(matching) == {"ok": True, **counts}
    assert _counts(wrong) == {"ok": False, **counts}
