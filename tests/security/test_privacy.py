"""No destination, token, answer, identifier or vote code in any log line, metric or table item."""

from __future__ import annotations

import json
import logging

import pytest

from tests.support.links import token_in
from tests.support.stack import Elector, Stack

PERSONAL_EMAIL = "jeanne.secret-perso@gmail.com"
MOBILE = "06 98 76 54 32"


@pytest.fixture
def jeanne(stack: Stack) -> Elector:
    return stack.add_elector(
        Elector(
            elector_id="E-PRIV",
            display_name="Jeanne Privée",
            pro_email="jeanne.privee@education.gouv.fr",
            question="Nom de jeune fille de votre grand-mère ?",
            answer="Zoé Marchal-Dubreuil",
            numen="77Q1234567XYZ",
            nir10="2940675111",
        )
    )


def test_given_requests_wrong_answers_and_redemptions_then_no_personal_data_in_logs_metrics_or_tables(
    stack: Stack, jeanne: Elector, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: set[str] = {
        PERSONAL_EMAIL,
        PERSONAL_EMAIL.split("@")[0],
        "+33698765432",
        "0698765432",
        "698765432",
        "Zoé Marchal-Dubreuil",
        "zoe marchal-dubreuil",
        "77Q1234567XYZ",
        "2940675111",
        jeanne.vote_code,
    }
    # wrong attempts with their own secrets
    for wrong in ("Mauvaise-Réponse-Unique", "Autre-Essai-Faux"):
        stack.challenge(jeanne, answer=wrong, destination=PERSONAL_EMAIL)
        secrets.add(wrong)
    stack.challenge(jeanne, destination="jeanne.privee@education.gouv.fr")  # refused: professional
    assert stack.challenge(jeanne, destination=PERSONAL_EMAIL).status == 202
    assert (
        stack.challenge(jeanne, channel="sms", destination=MOBILE, identifier="2 94 06 75 111").status == 202
    )
    tokens = [
        token_in(next(m["body"] for m in stack.emails() if m["subject"].startswith("Procéder"))),
        token_in(stack.sms()[-1][1]),
    ]
    secrets.update(tokens)
    stack.check(tokens[0])
    code = stack.redeem(tokens[0]).body["vote_code"]
    secrets.add(code)
    stack.redeem(tokens[1])  # refused: revoked by the first redemption
    stack.redeem("x" * 43)

    output = capsys.readouterr()
    logs = (
        output.out
        + output.err
        + "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    )
    assert "audit" in logs and "E-PRIV" in logs  # logs do carry ids and outcomes

    items: list[str] = []
    for table in ("reassort-electors", "reassort-links", "reassort-audit", "reassort-fc-state"):
        items.extend(json.dumps(item, ensure_ascii=False) for item in stack.scan(table))
    assert len(items) > 5
    tables = "\n".join(items)

    for secret in secrets:
        assert secret not in logs, f"found in logs: {secret[:3]}…"
        assert secret not in tables, f"found in a table item: {secret[:3]}…"
        assert secret.lower() not in logs.lower() and secret.lower() not in tables.lower()
