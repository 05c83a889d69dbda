"""Every code docs/errors.md lists is answered by a real request (the other direction, every
code the service can answer is documented, is tests/unit/test_error_contract.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_hostile_requests import CHALLENGE, JSON, REDEEM, answer_body, send
from tests.support.keys import portal_session
from tests.support.links import token_in
from tests.support.stack import Elector, Stack, fail_sends

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def documented(section: str) -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    if section == "errors":
        return re.findall(r"^\| `([A-Z_]+)` \| \d{3} \|", text, re.M)
    fields = text.split("## Field codes", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z_]+)` \|", fields, re.M)


Reply = tuple[int, dict[str, Any]]
Scenario = Callable[[Stack, Elector, pytest.MonkeyPatch], Reply]


def _challenge(stack: Stack, elector: Elector, **overrides: Any) -> Reply:
    reply = stack.challenge(elector, **overrides)
    return reply.status, reply.body


def _wrong(stack: Stack, marie: Elector, _: pytest.MonkeyPatch) -> Reply:
    return _challenge(stack, marie, answer="faux")


def _locked(stack: Stack, marie: Elector, _: pytest.MonkeyPatch) -> Reply:
    for _attempt in range(4):
        _challenge(stack, marie, answer="faux")
    return _challenge(stack, marie, answer="faux")


def _quota(stack: Stack, marie: Elector, _: pytest.MonkeyPatch) -> Reply:
    for _link in range(5):
        assert stack.challenge(marie).status == 202
    return _challenge(stack, marie)


def _closed(stack: Stack, marie: Elector, monkeypatch: pytest.MonkeyPatch) -> Reply:
    from reassort import wiring

    monkeypatch.setenv("ELECTION_OPENS_AT", "2020-12-01T08:00:00")
    monkeypatch.setenv("ELECTION_CLOSES_AT", "2020-12-08T17:00:00")
    wiring.reset()
    return _challenge(stack, marie)


def _link_invalid(stack: Stack, marie: Elector, _: pytest.MonkeyPatch) -> Reply:
    stack.challenge(marie)
    first = token_in(stack.emails()[-1]["body"])
    stack.challenge(marie)
    stack.redeem(token_in(stack.emails()[-1]["body"]))  # the later link's code replaces the first's
    reply = stack.redeem(first)
    return reply.status, reply.body


def _display_over(stack: Stack, marie: Elector, _: pytest.MonkeyPatch) -> Reply:
    from reassort.config import get_settings

    clock = stack.clock
    stack.challenge(marie)
    token = token_in(stack.emails()[-1]["body"])
    stack.redeem(token)
    clock.value += get_settings().rules().display_seconds
    reply = stack.redeem(token)
    return reply.status, reply.body


def _attempts_in_progress(stack: Stack, marie: Elector, _: pytest.MonkeyPatch) -> Reply:
    from reassort.config import get_settings

    # Every attempt is taken by requests still being evaluated: no lock yet, none left to take.
    stack.dynamodb.update_item(
        TableName=get_settings().electors_table,
        Key={"elector_id": {"S": marie.elector_id}},
        UpdateExpression="SET failed_attempts = :max",
        ExpressionAttributeValues={":max": {"N": str(get_settings().rules().max_failed_attempts)}},
    )
    return _challenge(stack, marie)


def _send_failed(stack: Stack, marie: Elector, _: pytest.MonkeyPatch) -> Reply:
    fail_sends("sesv2", "SendEmail", on_calls={1}, code="MessageRejected")
    return _challenge(stack, marie)


def _unauthenticated(stack: Stack, marie: Elector, _: pytest.MonkeyPatch) -> Reply:
    reply = stack.call(
        "request_reassort",
        "GET",
        "/api/reassort/challenge",
        session=portal_session(marie.elector_id, expires_in=-120),
    )
    return reply.status, reply.body


def _unknown(stack: Stack, _: Elector, __: pytest.MonkeyPatch) -> Reply:
    reply = stack.call("request_reassort", "GET", "/api/reassort/challenge", session=stack.session("E-404"))
    return reply.status, reply.body


def _no_challenge(stack: Stack, _: Elector, __: pytest.MonkeyPatch) -> Reply:
    blank = stack.add_elector(
        Elector("E-0009", "Irène Joliot", "irene@ac-paris.fr", question="", answer="x", numen="12E3456789ABD")
    )
    reply = stack.call(
        "request_reassort", "GET", "/api/reassort/challenge", session=stack.session(blank.elector_id)
    )
    return reply.status, reply.body


def _outage(stack: Stack, _: Elector, __: pytest.MonkeyPatch) -> Reply:
    from reassort.config import get_settings

    stack.dynamodb.delete_table(TableName=get_settings().links_table)  # DynamoDB fails under us
    reply = stack.redeem("A" * 43)
    return reply.status, reply.body


def _raw(target: tuple[str, str], body: bytes, headers: dict[str, str], method: str = "POST") -> Scenario:
    def scenario(stack: Stack, marie: Elector, _: pytest.MonkeyPatch) -> Reply:
        status, _headers, reply = send(
            stack, target, method, body, headers, session=stack.session(marie.elector_id)
        )
        return status, reply

    return scenario


ERRORS: dict[str, Scenario] = {
    "INVALID_FIELDS": _raw(REDEEM, b"{}", JSON),
    "PROFESSIONAL_ADDRESS_REFUSED": lambda s, m, _: _challenge(s, m, destination=m.pro_email),
    "WRONG_CREDENTIALS": _wrong,
    "ACCOUNT_LOCKED": _locked,
    "ATTEMPTS_IN_PROGRESS": _attempts_in_progress,
    "QUOTA_EXCEEDED": _quota,
    "ELECTION_CLOSED": _closed,
    "LINK_INVALID": _link_invalid,
    "DISPLAY_OVER": _display_over,
    "SEND_FAILED": _send_failed,
    "UNAUTHENTICATED": _unauthenticated,
    "ELECTOR_UNKNOWN": _unknown,
    "CHALLENGE_NOT_SET": _no_challenge,
    "NOT_FOUND": _raw(("redeem", "/api/links/elsewhere"), b"{}", JSON),
    "SERVICE_UNAVAILABLE": _outage,
    "MALFORMED_REQUEST": _raw(REDEEM, b"\xff", JSON),
    "CROSS_ORIGIN_REFUSED": _raw(REDEEM, b"{}", JSON | {"sec-fetch-site": "cross-site"}),
    "METHOD_NOT_ALLOWED": _raw(REDEEM, b"", {}, method="GET"),
    "PAYLOAD_TOO_LARGE": _raw(REDEEM, json.dumps({"token": "A" * 20_000}).encode(), JSON),
    "UNSUPPORTED_MEDIA_TYPE": _raw(REDEEM, b"{}", {"content-type": "text/plain"}),
}


def _field(**overrides: Any) -> Scenario:
    def scenario(stack: Stack, marie: Elector, _: pytest.MonkeyPatch) -> Reply:
        status, _headers, reply = send(
            stack, CHALLENGE, body=answer_body(marie, **overrides), headers=JSON,
            session=stack.session(marie.elector_id),
        )  # fmt: skip
        return status, reply

    return scenario


FIELDS: dict[str, Scenario] = {
    "REQUIRED": _field(answer=""),
    "TOO_LONG": _field(answer="a" * 201),
    "NOT_TEXT": _field(answer=12),
    "TEXT_INVALID": _field(answer="\ud800"),
    "CHANNEL_INVALID": _field(channel="fax"),
    "IDENTIFIER_FORMAT": _field(identifier="123"),
    "EMAIL_INVALID": _field(destination="pas-une-adresse"),
    "PHONE_INVALID": _field(channel="sms", destination="12"),
    "PHONE_NOT_FRENCH": _field(channel="sms", destination="+44 7911 123456"),
    "PHONE_NOT_MOBILE": _field(channel="sms", destination="01 44 55 66 77"),
    "PROFESSIONAL_ADDRESS_REFUSED": lambda s, m, _: _challenge(s, m, destination=m.pro_email),
}
# No request can reach this one: the mapping's fallback, emitted in tests/unit/test_error_contract.py.
UNREACHABLE_FIELD_CODES = {"VALUE_INVALID"}


def test_given_the_documented_codes_then_every_one_has_a_scenario_here_and_no_other() -> None:
    assert set(documented("errors")) == set(ERRORS)
    assert set(documented("fields")) == set(FIELDS) | UNREACHABLE_FIELD_CODES


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_given_its_scenario_then_the_documented_error_code_is_answered(
    stack: Stack, marie: Elector, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    status, body = ERRORS[code](stack, marie, monkeypatch)
    assert body["code"] == code
    assert status == int(re.findall(rf"^\| `{code}` \| (\d{{3}}) \|", DOCS.read_text(), re.M)[0])


@pytest.mark.parametrize("code", sorted(FIELDS))
def test_given_its_scenario_then_the_documented_field_code_is_answered(
    stack: Stack, marie: Elector, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    status, body = FIELDS[code](stack, marie, monkeypatch)
    assert status == 422
    assert code in {f["code"] for f in body["fields"]}
