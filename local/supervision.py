"""Local-only supervision routes: the figures of the rehearsal and the settings the seal reads.

`/local/figures` (page, refreshed every 30 s) and `/local/figures.json` show the same counts as
`reassort-figures` and the dashboard; `/local/settings.json` gives the seal and journal CLIs the
running stack's moto endpoint and its settings (never a secret).
"""

from __future__ import annotations

import html
import os
from typing import Any

from local.lambda_adapter import HttpRequest, HttpResponse
from local.server import html_response, json_response

JOURNAL_BUCKET = "reassort-local-journal"
JOURNAL_KEY_ALIAS = "alias/reassort-local-journal"


def _figures() -> Any:
    import boto3

    from reassort.adapters.journal import DynamoAuditSource
    from reassort.config import get_settings, parse_instant
    from reassort.journal.figures import compute

    settings = get_settings()
    source = DynamoAuditSource(settings.audit_table, boto3.client("dynamodb"))
    return compute(source.all_records(), parse_instant(settings.election_closes_at))


def _table(title: str, rows: dict[str, dict[str, int]], totals: dict[str, int], caption_id: str) -> str:
    from reassort.journal.figures import COLUMNS

    head = "".join(f'<th scope="col">{html.escape(t)}</th>' for _, t in COLUMNS)
    body = "".join(
        f'<tr><th scope="row">{html.escape(key)}</th>'
        + "".join(f"<td>{counts[name]}</td>" for name, _ in COLUMNS)
        + "</tr>"
        for key, counts in rows.items()
    )
    total = "".join(f"<td><strong>{totals[name]}</strong></td>" for name, _ in COLUMNS)
    return (
        f'<div class="fr-table"><table id="{caption_id}"><caption>{html.escape(title)}</caption>'
        f'<thead><tr><th scope="col">Période</th>{head}</tr></thead>'
        f'<tbody>{body}<tr><th scope="row">Total</th>{total}</tr></tbody></table></div>'
    )


def figures_page(_request: HttpRequest) -> HttpResponse:
    figures = _figures()
    reasons = "".join(
        f"<li>{html.escape(reason)} : {count}</li>" for reason, count in figures.fc_refusals_by_reason.items()
    )
    body = f"""<!doctype html>
<html lang="fr">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta http-equiv="refresh" content="30">
    <title>Chiffres du scrutin (démonstration locale) — Élections professionnelles</title>
    <link rel="stylesheet" href="/vendor/dsfr/dsfr.min.css">
  </head>
  <body>
    <main class="fr-container fr-my-4w" id="contenu">
      <h1>Chiffres du réassort — démonstration locale</h1>
      <p>Comptages seuls, tirés du journal d'audit ; la page se met à jour toutes les 30 secondes.
      Heures de Paris.</p>
      {_table("Par jour", figures.by_day, figures.totals, "par-jour")}
      {_table("Par heure", figures.by_hour, figures.totals, "par-heure")}
      <h2>Refus FranceConnect par motif</h2>
      {f'<ul id="refus-fc">{reasons}</ul>' if reasons else '<p id="refus-fc">Aucun refus.</p>'}
      <p>Codes régénérés après la clôture (délai de grâce) : {figures.redemptions_after_close}</p>
    </main>
  </body>
</html>"""
    return html_response(200, body)


def figures_json(_request: HttpRequest) -> HttpResponse:
    return json_response(200, _figures().to_json())


def settings_json(_request: HttpRequest) -> HttpResponse:
    from reassort.config import get_settings, public_settings

    settings = get_settings()
    return json_response(
        200,
        {
            "stage": "local",
            "region": os.environ.get("AWS_REGION", "eu-west-3"),
            "moto_url": os.environ.get("AWS_ENDPOINT_URL", ""),
            "dynamodb_url": os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", ""),
            "audit_table": settings.audit_table,
            "journal_bucket": JOURNAL_BUCKET,
            "journal_key_alias": JOURNAL_KEY_ALIAS,
            "election_closes_at": settings.election_closes_at,
            "close_grace_seconds": settings.close_grace_seconds,
            "settings": public_settings(settings),
        },
    )


def supervision_routes() -> dict[tuple[str, str], Any]:
    return {
        ("GET", "/local/figures"): figures_page,
        ("GET", "/local/figures.json"): figures_json,
        ("GET", "/local/settings.json"): settings_json,
    }
