"""reassort-figures : les chiffres du réassort pour le bureau de vote, par heure et par jour.

Réponses justes et fausses, comptes bloqués, liens envoyés par canal et par méthode (question
ou FranceConnect), codes régénérés, envois échoués, refus FranceConnect par motif. Comptages
seuls, lus dans la table d'audit ; heures de Paris.

    reassort-figures --etape prod --par heure
    reassort-figures --local http://127.0.0.1:8000 --json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from reassort.adapters.journal import DynamoAuditSource
from reassort.config import parse_instant
from reassort.journal.figures import compute, to_text

from .french_cli import add_target_options, french_parser
from .supervision_target import resolve


def build_parser() -> argparse.ArgumentParser:
    parser = french_parser("reassort-figures", __doc__)
    add_target_options(parser)
    parser.add_argument(
        "--par", choices=("heure", "jour"), default="jour", help="regroupement (défaut : jour)"
    )
    parser.add_argument("--json", action="store_true", help="sortie JSON (par heure et par jour)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        target = resolve(args.local, args.etape, bucket="-")
    except (OSError, ValueError) as exc:
        print(f"Cible injoignable : {exc}", file=sys.stderr)
        return 2
    source = DynamoAuditSource(target.audit_table, target.client("dynamodb"))
    figures = compute(source.all_records(), parse_instant(target.election_closes_at))
    if args.json:
        print(json.dumps(figures.to_json(), indent=1, ensure_ascii=False))
    else:
        print(to_text(figures, "hour" if args.par == "heure" else "day"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
