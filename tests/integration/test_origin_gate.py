"""Only requests forwarded by CloudFront (through the WAF) reach the routes."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from reassort import origin
from tests.support.stack import Elector, Stack

ORIGIN_VALUE = "o" * 48


@pytest.fixture
def origin_secret(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    arn = boto3.client("secretsmanager", region_name="eu-west-3").create_secret(
        Name="reassort-test/origin-verify", SecretString=ORIGIN_VALUE
    )["ARN"]
    monkeypatch.setenv(origin.ENV_NAME, arn)
    origin._expected.cache_clear()
    yield arn
    origin._expected.cache_clear()


def test_given_a_request_around_cloudfront_when_it_reaches_the_api_then_no_route_runs(
    stack: Stack, marie: Elector, origin_secret: str
) -> None:
    direct = stack.challenge(marie)
    forged = stack.call(
        "redeem", "POST", "/api/links/check", {"token": "x" * 43}, headers={origin.HEADER: "o" * 47}
    )

    assert direct.status == 404 and direct.body["code"] == "NOT_FOUND"
    assert forged.status == 404 and forged.body["code"] == "NOT_FOUND"
    assert stack.emails() == [] and stack.scan("reassort-audit") == []


def test_given_cloudfronts_origin_header_when_the_elector_asks_then_the_route_runs(
    stack: Stack, marie: Elector, origin_secret: str
) -> None:
    reply = stack.call(
        "request_reassort",
        "POST",
        "/api/reassort/challenge",
        {
            "answer": marie.answer,
            "identifier": marie.numen or marie.nir10,
            "channel": "email",
            "destination": "marie.perso@gmail.com",
        },
        session=stack.session(marie.elector_id),
        headers={origin.HEADER: ORIGIN_VALUE},
    )

    assert reply.status == 202
