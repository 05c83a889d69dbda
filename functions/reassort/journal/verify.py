"""Offline verification of a journal export with the public key alone.

Reports, with where: a digest unreadable, badly signed, missing from the chain or out of it; a
record altered, removed, inserted or moved after its digest; records no digest can vouch for.
Needs the `cryptography` package (a dependency of joserfc), imported only here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .digests import GENESIS, SignedDigest, iso_ms, signed_message
from .records import Item, record_hash, record_locator, record_time_ms

ERROR = "erreur"
INFO = "info"


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    where: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"severity": self.severity, "code": self.code, "where": self.where, "message": self.message}


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    digests: int = 0
    digests_valid: int = 0
    records: int = 0
    records_verified: int = 0
    final_sequence: int | None = None
    final_body_sha256: str | None = None
    lag_ms: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)

    def error(self, code: str, where: str, message: str) -> None:
        self.findings.append(Finding(ERROR, code, where, message))

    def info(self, code: str, where: str, message: str) -> None:
        self.findings.append(Finding(INFO, code, where, message))

    def lag_summary(self) -> dict[str, float | None]:
        if not self.lag_ms:
            return {"max_s": None, "mean_s": None, "p95_s": None}
        ordered = sorted(self.lag_ms)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        return {
            "max_s": round(ordered[-1] / 1000, 3),
            "mean_s": round(sum(ordered) / len(ordered) / 1000, 3),
            "p95_s": round(p95 / 1000, 3),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "digests": self.digests,
            "digests_valid": self.digests_valid,
            "records": self.records,
            "records_verified": self.records_verified,
            "final_sequence": self.final_sequence,
            "final_body_sha256": self.final_body_sha256,
            "lag_record_to_digest": self.lag_summary(),
            "findings": [f.to_json() for f in self.findings],
        }


def public_key_fingerprint(pem: bytes) -> str:
    """SHA-256 of the DER public key: the value the bureau writes in its minutes."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(pem)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def signature_valid(pem: bytes, digest: SignedDigest) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("public key is not an elliptic-curve key (ECC_NIST_P256 expected)")
    try:
        key.verify(digest.signature, signed_message(digest.body), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def _name(sequence: int) -> str:
    return f"condensé n° {sequence}"


@dataclass
class _Interval:
    start_ms: float
    end_ms: float
    why: str


def verify_journal(
    records: list[Item],
    digests: list[tuple[str, SignedDigest | None]],
    public_key_pem: bytes,
    *,
    expected_final_sha256: str | None = None,
) -> Report:
    """`records`: the export, in its order (line n = records[n-1]). `digests`: (where, digest or
    None when the file could not be read). `expected_final_sha256`: the final digest's hash as
    the bureau wrote it in the minutes at the close."""
    report = Report(records=len(records))
    valid: dict[int, SignedDigest] = {}
    unverifiable: list[_Interval] = []
    for where, digest in digests:
        report.digests += 1
        if digest is None:
            report.error("digest_unreadable", where, "Fichier de condensé illisible ou d'un autre format.")
            continue
        if digest.sequence in valid:
            report.error("digest_duplicate", where, f"Deux condensés portent le numéro {digest.sequence}.")
            continue
        if not signature_valid(public_key_pem, digest):
            report.error(
                "signature_invalid",
                f"{_name(digest.sequence)} ({where})",
                "Signature invalide : le condensé a été modifié ou n'a pas été signé par la clé du scrutin.",
            )
            unverifiable.append(
                _Interval(digest.period_start_ms, digest.period_end_ms, f"{_name(digest.sequence)} invalide")
            )
            continue
        valid[digest.sequence] = digest
    report.digests_valid = len(valid)
    _check_chain(report, valid, unverifiable, expected_final_sha256)
    _check_records(report, records, valid, unverifiable)
    return report


def _check_chain(
    report: Report,
    valid: dict[int, SignedDigest],
    unverifiable: list[_Interval],
    expected_final_sha256: str | None,
) -> None:
    if not valid:
        report.error("no_digest", "journal", "Aucun condensé valide : rien ne garantit les enregistrements.")
        unverifiable.append(_Interval(float("-inf"), float("inf"), "aucun condensé valide"))
        return
    _check_links(report, valid, unverifiable)
    _check_close(report, valid, unverifiable, expected_final_sha256)


def _check_links(report: Report, valid: dict[int, SignedDigest], unverifiable: list[_Interval]) -> None:
    """Walks every sequence number up to the highest valid one, each digest against the one
    before it; where the chain has holes, the time they span goes to `unverifiable`."""
    previous: SignedDigest | None = None
    for sequence in range(0, max(valid) + 1):
        digest = valid.get(sequence)
        if digest is None:
            _report_missing(report, sequence, unverifiable)
            continue
        if previous is None:
            _check_first(report, digest, unverifiable)
        else:
            _check_link(report, previous, digest, unverifiable)
        previous = digest


def _report_missing(report: Report, sequence: int, unverifiable: list[_Interval]) -> None:
    # a digest refused for its signature is already reported: saying it is missing would repeat it
    if not any(i.why == f"{_name(sequence)} invalide" for i in unverifiable):
        report.error("digest_missing", _name(sequence), "Condensé absent de la chaîne.")


def _check_first(report: Report, first: SignedDigest, unverifiable: list[_Interval]) -> None:
    if first.sequence > 0:
        unverifiable.append(_Interval(float("-inf"), first.period_start_ms, f"{_name(0)} manquant"))
    elif first.body.get("previous_body_sha256") != GENESIS:
        report.error("chain_broken", _name(0), "Le premier condensé ne commence pas la chaîne.")


def _check_link(
    report: Report, previous: SignedDigest, digest: SignedDigest, unverifiable: list[_Interval]
) -> None:
    if previous.sequence == digest.sequence - 1:
        _check_consecutive(report, previous, digest)
    else:
        unverifiable.append(
            _Interval(
                previous.period_end_ms,
                digest.period_start_ms,
                f"condensés manquants avant n° {digest.sequence}",
            )
        )
    if previous.final:
        report.error(
            "after_final", _name(digest.sequence), "Condensé postérieur au condensé final de clôture."
        )


def _check_consecutive(report: Report, previous: SignedDigest, digest: SignedDigest) -> None:
    if digest.body.get("previous_body_sha256") != previous.body_sha256:
        report.error(
            "chain_broken",
            _name(digest.sequence),
            f"Ne désigne pas le {_name(previous.sequence)} comme précédent.",
        )
    if digest.period_start_ms != previous.period_end_ms:
        report.error(
            "period_gap",
            _name(digest.sequence),
            f"Sa période commence à {iso_ms(digest.period_start_ms)}, le précédent finit à "
            f"{iso_ms(previous.period_end_ms)}.",
        )


def _check_close(
    report: Report,
    valid: dict[int, SignedDigest],
    unverifiable: list[_Interval],
    expected_final_sha256: str | None,
) -> None:
    """Only the final hash written in the minutes can show that the last digests were removed."""
    last = valid[max(valid)]
    final = next((d for d in valid.values() if d.final), None)
    if final is not None:
        report.final_sequence = final.sequence
        report.final_body_sha256 = final.body_sha256
    if not expected_final_sha256:
        if final is None:
            report.info(
                "journal_open",
                f"après le {_name(last.sequence)}",
                "Journal non clos : sans l'empreinte du condensé final, un retrait des derniers condensés "
                "ne peut pas être exclu.",
            )
        return
    if final is None:
        report.error(
            "final_missing",
            f"après le {_name(last.sequence)}",
            "Le condensé final inscrit au procès-verbal est absent : la fin de la chaîne a pu être retirée.",
        )
        unverifiable.append(_Interval(last.period_end_ms, float("inf"), "condensé final manquant"))
    elif final.body_sha256 != expected_final_sha256.strip().lower():
        report.error(
            "final_mismatch",
            _name(final.sequence),
            "Le condensé final ne correspond pas à l'empreinte inscrite au procès-verbal.",
        )


def _check_records(
    report: Report, records: list[Item], valid: dict[int, SignedDigest], unverifiable: list[_Interval]
) -> None:
    listed = _listed_records(valid)
    last = valid[max(valid)] if valid else None
    matched: list[tuple[int, int, int]] = []  # (sequence, position, line)
    for line, item in enumerate(records, start=1):
        where = f"ligne {line}"
        try:
            locator, digest_hash, at_ms = record_locator(item), record_hash(item), record_time_ms(item)
        except (ValueError, TypeError):
            report.error("record_unreadable", where, "Enregistrement illisible (clé ou date absente).")
            continue
        candidates = listed.get(locator)
        if candidates:
            # the same key may be listed twice: each occurrence in the export uses up the next one
            sequence, position, listed_hash = candidates.pop(0)
            _check_listed(report, valid[sequence], position, where, listed_hash == digest_hash, at_ms)
            matched.append((sequence, position, line))
        else:
            _report_unlisted(report, where, at_ms, valid, unverifiable, last)
    _report_removed(report, listed, valid)
    _report_reordered(report, matched)


def _listed_records(valid: dict[int, SignedDigest]) -> dict[str, list[tuple[int, int, str]]]:
    """Locator -> (sequence, position, record hash) of each time a digest lists it, in chain order."""
    listed: dict[str, list[tuple[int, int, str]]] = {}
    for sequence in sorted(valid):
        for position, (locator, digest_hash) in enumerate(valid[sequence].entries, start=1):
            listed.setdefault(locator, []).append((sequence, position, digest_hash))
    return listed


def _check_listed(
    report: Report, digest: SignedDigest, position: int, where: str, unchanged: bool, at_ms: int
) -> None:
    if not unchanged:
        report.error(
            "record_altered",
            f"{where} ({_name(digest.sequence)}, position {position})",
            "Enregistrement modifié après son condensé.",
        )
        return
    report.records_verified += 1
    created = digest.body.get("created_at_ms")
    if isinstance(created, int):
        report.lag_ms.append(created - at_ms)


def _report_unlisted(
    report: Report,
    where: str,
    at_ms: int,
    valid: dict[int, SignedDigest],
    unverifiable: list[_Interval],
    last: SignedDigest | None,
) -> None:
    """A record no digest lists: uncheckable, not digested yet, or slipped into a digested period."""
    gap = next((i for i in unverifiable if i.start_ms <= at_ms < i.end_ms), None)
    if gap is not None:
        report.error("record_unverifiable", where, f"Aucun condensé valide ne le couvre ({gap.why}).")
    elif last is not None and at_ms >= last.period_end_ms:
        if last.final:
            report.info("record_after_close", where, "Enregistrement postérieur au condensé final.")
        else:
            report.info("record_pending", where, "Pas encore couvert : le prochain condensé le couvrira.")
    else:
        covering = next(
            (d.sequence for d in valid.values() if d.period_start_ms <= at_ms < d.period_end_ms), None
        )
        report.error(
            "record_inserted",
            where + (f" (période du {_name(covering)})" if covering is not None else ""),
            "Enregistrement absent de son condensé : ajouté après coup.",
        )


def _report_removed(
    report: Report, listed: dict[str, list[tuple[int, int, str]]], valid: dict[int, SignedDigest]
) -> None:
    """Whatever the export did not use up was listed by a digest and is no longer there."""
    for candidates in listed.values():
        for sequence, position, _ in candidates:
            digest = valid[sequence]
            report.error(
                "record_removed",
                f"{_name(sequence)}, position {position}",
                f"Enregistrement de la période {digest.body.get('period_start')} – "
                f"{digest.body.get('period_end')} absent de l'export.",
            )


def _report_reordered(report: Report, matched: list[tuple[int, int, int]]) -> None:
    """In chain order, each listed record must come at a later line than all those before it."""
    highest_line = 0
    for sequence, position, line in sorted(matched):
        if line < highest_line:
            report.error(
                "record_reordered",
                f"ligne {line} ({_name(sequence)}, position {position})",
                f"Enregistrement déplacé : il devrait suivre la ligne {highest_line}.",
            )
        highest_line = max(highest_line, line)
