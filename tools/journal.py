"""reassort-journal : le journal d'audit scellé du réassort.

Chaque enregistrement d'audit est couvert par des condensés périodiques signés (clé KMS
asymétrique) et chaînés, conservés sous verrouillage S3 (Object Lock, mode conformité).

    reassort-journal cle-publique --etape prod         # à l'ouverture : clé et empreinte au PV
    reassort-journal condenser --local http://127.0.0.1:8000
    reassort-journal clore --etape prod                # à la clôture : condensé final au PV
    reassort-journal exporter --etape prod --sortie export/
    reassort-journal verifier export/ --empreinte-cle <hex> --condense-final <hex>

Les commandes anglaises équivalentes sont acceptées : public-key, digest, close, export, verify.
Code de sortie : 0 conforme, 1 anomalie détectée, 2 usage ou configuration impossible.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reassort.journal.digests import SignedDigest, iso_ms
from reassort.journal.records import record_order
from reassort.journal.verify import Report, public_key_fingerprint, verify_journal

from .french_cli import add_command, add_target_options, french_parser
from .supervision_target import Target, resolve

RECORDS_FILE = "records.jsonl"
DIGESTS_DIR = "digests"
PUBLIC_KEY_FILE = "public-key.pem"
SUMMARY_FILE = "export.json"

ALIASES = {
    "public-key": "cle-publique",
    "digest": "condenser",
    "close": "clore",
    "export": "exporter",
    "verify": "verifier",
}


def _target_options(parser: argparse.ArgumentParser) -> None:
    add_target_options(parser)
    parser.add_argument(
        "--compartiment", metavar="NOM", help="compartiment S3 du journal (par défaut : déduit)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = french_parser("reassort-journal", __doc__, usage="%(prog)s COMMANDE [options]")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMANDE", title="commandes", prog="reassort-journal"
    )

    key = add_command(commands, "cle-publique", "afficher la clé publique du journal et son empreinte")
    _target_options(key)
    key.add_argument("--sortie", type=Path, metavar="FICHIER", help="écrire la clé (PEM) dans ce fichier")

    digest = add_command(commands, "condenser", "écrire maintenant le condensé de la période écoulée")
    _target_options(digest)
    digest.add_argument("--attente", type=int, default=120, metavar="SECONDES",
                        help="ne couvrir que les enregistrements plus vieux que cela (défaut 120)")  # fmt: skip

    close = add_command(commands, "clore", "écrire ou afficher le condensé final de clôture")
    _target_options(close)
    close.add_argument("--attente", type=int, default=120, metavar="SECONDES", help="comme pour condenser")

    export = add_command(commands, "exporter", "copier enregistrements, condensés et clé publique")
    _target_options(export)
    export.add_argument("--sortie", type=Path, required=True, metavar="DOSSIER", help="dossier de l'export")

    verify = add_command(commands, "verifier", "vérifier un export hors ligne avec la clé publique")
    verify.add_argument("dossier", type=Path, metavar="DOSSIER", help="dossier produit par « exporter »")
    verify.add_argument("--cle-publique", type=Path, metavar="FICHIER",
                        help=f"clé publique PEM (défaut : {PUBLIC_KEY_FILE} de l'export)")  # fmt: skip
    verify.add_argument(
        "--empreinte-cle", metavar="HEX", help="empreinte de la clé inscrite au PV d'ouverture"
    )
    verify.add_argument("--condense-final", metavar="HEX", help="empreinte du condensé final inscrite au PV")
    verify.add_argument("--json", action="store_true", help="rapport en JSON")
    return parser


def _stores(target: Target) -> tuple[Any, Any]:
    from reassort.adapters.journal import DynamoAuditSource, S3DigestStore

    target.ensure_local_journal()
    return (
        DynamoAuditSource(target.audit_table, target.client("dynamodb")),
        S3DigestStore(target.bucket, "local" if target.is_local else target.stage, target.client("s3")),
    )


def _public_key(target: Target) -> bytes:
    from reassort.adapters.journal import KmsSigner

    target.ensure_local_journal()
    return KmsSigner(target.key_id, target.client("kms")).public_key_pem()


def _digester(target: Target, settle_seconds: int) -> Any:
    from reassort.adapters.journal import KmsSigner, close_at_ms
    from reassort.journal.digests import Digester

    source, store = _stores(target)
    return Digester(
        stage="local" if target.is_local else target.stage,
        source=source,
        store=store,
        signer=KmsSigner(target.key_id, target.client("kms")),
        settle_ms=settle_seconds * 1000,
        close_at_ms=close_at_ms(target.settings()),
    )


def _describe(digest: SignedDigest) -> str:
    body = digest.body
    final = " (FINAL)" if digest.final else ""
    return (
        f"condensé n° {digest.sequence}{final} : {body['record_count']} enregistrement(s), "
        f"période {body['period_start']} – {body['period_end']}\n"
        f"  empreinte : {digest.body_sha256}"
    )


def cmd_public_key(target: Target, args: argparse.Namespace) -> int:
    pem = _public_key(target)
    if args.sortie:
        args.sortie.write_bytes(pem)
    print(pem.decode(), end="")
    print(f"Empreinte de la clé (SHA-256, à inscrire au procès-verbal) : {public_key_fingerprint(pem)}")
    return 0


def cmd_digest(target: Target, args: argparse.Namespace) -> int:
    run = _digester(target, args.attente).run(int(time.time() * 1000))
    if run.digest is None:
        message = {"closed": "journal clos : plus aucun condensé.", "period_too_short": "période vide."}
        print(f"Aucun condensé écrit : {message.get(run.reason, run.reason)}")
        return 0
    print(_describe(run.digest))
    print(f"  écrit dans {run.location}")
    return 0


def cmd_close(target: Target, args: argparse.Namespace) -> int:
    from reassort.adapters.journal import close_at_ms

    end = close_at_ms(target.settings())
    if end is None:
        print("La date de clôture n'est pas configurée pour cette étape.", file=sys.stderr)
        return 2
    _, store = _stores(target)
    latest = store.latest()
    if latest is None or not latest.final:
        if time.time() * 1000 - args.attente * 1000 < end:
            print(
                f"Trop tôt : le condensé final couvre jusqu'à {iso_ms(end)} (clôture + délai de grâce) "
                f"et peut être écrit {args.attente} s après.",
                file=sys.stderr,
            )
            return 2
        digester = _digester(target, args.attente)
        while latest is None or not latest.final:
            run = digester.run(int(time.time() * 1000))
            if run.digest is None:
                break
            latest = run.digest
    if latest is None or not latest.final:
        print("Le condensé final n'a pas pu être écrit.", file=sys.stderr)
        return 1
    print("Journal clos. À inscrire au procès-verbal de clôture :")
    print(_describe(latest))
    return 0


def cmd_export(target: Target, args: argparse.Namespace) -> int:
    source, store = _stores(target)
    out: Path = args.sortie
    (out / DIGESTS_DIR).mkdir(parents=True, exist_ok=True)
    records = sorted(source.all_records(), key=record_order)
    with (out / RECORDS_FILE).open("w", encoding="utf-8") as handle:
        for item in records:
            handle.write(json.dumps(item, sort_keys=True, ensure_ascii=False) + "\n")
    objects = store.raw_objects()
    for key, data in objects:
        (out / DIGESTS_DIR / key.rsplit("/", 1)[-1]).write_bytes(data)
    pem = _public_key(target)
    (out / PUBLIC_KEY_FILE).write_bytes(pem)
    summary = {
        "stage": "local" if target.is_local else target.stage,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "audit_table": target.audit_table,
        "bucket": target.bucket,
        "records": len(records),
        "digests": len(objects),
        "public_key_sha256": public_key_fingerprint(pem),
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"Export écrit dans {out} : {len(records)} enregistrement(s), {len(objects)} condensé(s).")
    print(f"Empreinte de la clé publique : {summary['public_key_sha256']}")
    return 0


def load_export(folder: Path) -> tuple[list[dict[str, Any]], list[tuple[str, SignedDigest | None]]]:
    records = []
    with (folder / RECORDS_FILE).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                records.append(json.loads(line))
    digests: list[tuple[str, SignedDigest | None]] = []
    for path in sorted((folder / DIGESTS_DIR).glob("*.json")):
        try:
            digests.append(
                (f"{DIGESTS_DIR}/{path.name}", SignedDigest.from_json(json.loads(path.read_bytes())))
            )
        except (ValueError, KeyError, TypeError):
            digests.append((f"{DIGESTS_DIR}/{path.name}", None))
    return records, digests


def print_report(report: Report, fingerprint: str) -> None:
    print(f"Clé publique utilisée : empreinte {fingerprint}")
    print(
        f"{report.digests_valid}/{report.digests} condensé(s) valide(s), "
        f"{report.records_verified}/{report.records} enregistrement(s) vérifié(s)."
    )
    lag = report.lag_summary()
    if lag["max_s"] is not None:
        print(
            f"Délai entre un enregistrement et son condensé : moyen {lag['mean_s']} s, "
            f"95 % sous {lag['p95_s']} s, max {lag['max_s']} s."
        )
    if report.final_sequence is not None:
        print(f"Condensé final : n° {report.final_sequence}, empreinte {report.final_body_sha256}")
    for finding in report.findings:
        print(f"[{finding.severity}] {finding.where} : {finding.message} ({finding.code})")
    print("CONFORME : aucune anomalie." if report.ok else "NON CONFORME : anomalies ci-dessus.")


def cmd_verify(args: argparse.Namespace) -> int:
    folder: Path = args.dossier
    key_path: Path = args.cle_publique or folder / PUBLIC_KEY_FILE
    try:
        pem = key_path.read_bytes()
        fingerprint = public_key_fingerprint(pem)
        records, digests = load_export(folder)
    except (OSError, ValueError) as exc:
        print(f"Export ou clé illisible : {exc}", file=sys.stderr)
        return 2
    if args.empreinte_cle and args.empreinte_cle.strip().lower() != fingerprint:
        print(
            f"La clé publique ({fingerprint}) n'est pas celle du procès-verbal ({args.empreinte_cle}).",
            file=sys.stderr,
        )
        return 1
    report = verify_journal(records, digests, pem, expected_final_sha256=args.condense_final)
    if args.json:
        print(
            json.dumps({**report.to_json(), "public_key_sha256": fingerprint}, indent=1, ensure_ascii=False)
        )
    else:
        print_report(report, fingerprint)
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw and raw[0] in ALIASES:
        raw[0] = ALIASES[raw[0]]
    parser = build_parser()
    args = parser.parse_args(raw)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "verifier":
        return cmd_verify(args)
    try:
        target = resolve(args.local, args.etape, args.compartiment)
    except (OSError, ValueError) as exc:
        print(f"Cible injoignable : {exc}", file=sys.stderr)
        return 2
    handlers = {
        "cle-publique": cmd_public_key,
        "condenser": cmd_digest,
        "clore": cmd_close,
        "exporter": cmd_export,
    }
    return handlers[args.command](target, args)


if __name__ == "__main__":
    sys.exit(main())
