"""A failed send never leaves a half-done state: no link without its information e-mail,
no usable link that was not delivered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from tests.support.stack import Elector, Stack, fail_sends


def test_given_the_information_email_failing_when_requested_then_send_failed_no_link_and_the_slot_counted(
    stack: Stack, marie: Elector
) -> None:
    fail_sends("sesv2", "SendEmail", on_calls={1}, code="MessageRejected")

    reply = stack.challenge(marie)

    assert reply.status == 503 and reply.body["code"] == "SEND_FAILED"
    assert "aucun lien n'a été émis" in reply.body["message"]
    assert stack.emails() == []
    assert stack.scan("reassort-links") == []
    # The slot stays taken whatever failed: the daily message cap holds even when sends fail.
    assert len(stack.elector_item(marie.elector_id)["recent_links"]["M"]) == 1


def test_given_the_link_email_failing_when_requested_then_no_link_is_left_the_code_holds_and_a_retry_works(
    stack: Stack, marie: Elector
) -> None:
    fail_sends("sesv2", "SendEmail", on_calls={2}, code="MessageRejected")

    reply = stack.challenge(marie)

    assert reply.status == 503 and reply.body["code"] == "SEND_FAILED"
    assert [m["subject"] for m in stack.emails()] == ["Demande de réassort de votre code de vote"]
    assert stack.scan("reassort-links") == []
    assert len(stack.elector_item(marie.elector_id)["recent_links"]["M"]) == 1
    assert stack.vote_code_accepted(marie.elector_id, marie.vote_code)
    assert stack.challenge(marie).status == 202  # the retry goes through


def test_given_the_sms_failing_when_requested_then_503_retry_after_60_and_no_link_is_left(
    stack: Stack, marie: Elector
) -> None:
    fail_sends("sns", "Publish", on_calls={1})

    reply = stack.challenge(marie, channel="sms", destination="06 12 34 56 78")

    assert reply.status == 503 and reply.headers["retry-after"] == "60"
    assert stack.sms() == [] and stack.scan("reassort-links") == []


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: object) -> Iterator[bytes]:
        return iter([self.content])

    def read(self, *_: object, **__: object) -> bytes:
        return self.content


def _throttle_ses(times: int) -> dict[str, int]:
    """Answer SES's 'Maximum sending rate exceeded' (HTTP 429) to the first `times` attempts."""
    from botocore.awsrequest import AWSResponse

    from reassort import wiring

    sender = wiring.get_notifier()._email_sender()  # type: ignore[attr-defined]
    attempts = {"n": 0}
    content = b'{"message": "Maximum sending rate exceeded."}'

    def throttle(request: Any, **_: object) -> AWSResponse | None:
        attempts["n"] += 1
        if attempts["n"] > times:
            return None
        headers = {"x-amzn-ErrorType": "TooManyRequestsException", "content-type": "application/json"}
        response = AWSResponse(request.url, 429, headers, _Body(content))
        response._content = content
        return response

    sender.client.meta.events.register_first("before-send.sesv2.SendEmail", throttle)
    return attempts


def test_given_two_ses_throttles_when_requested_then_sdk_retries_absorb_them_and_one_link_is_issued(
    stack: Stack, marie: Elector
) -> None:
    attempts = _throttle_ses(2)
    start = time.perf_counter()

    reply = stack.challenge(marie)

    assert reply.status == 202
    assert attempts["n"] == 4  # information e-mail: 2 throttled + 1 sent; link e-mail: 1
    # (moto records every attempt it sees, throttled or not, so its outbox is not counted here)
    assert len(stack.scan("reassort-links")) == 1
    assert time.perf_counter() - start < 25  # backoff stays well inside API Gateway's 30 s


def test_given_lasting_ses_throttling_when_requested_then_a_retry_message_after_3_attempts_and_no_link(
    stack: Stack, marie: Elector
) -> None:
    attempts = _throttle_ses(100)
    start = time.perf_counter()

    reply = stack.challenge(marie)

    assert reply.status == 503 and reply.body["code"] == "SEND_FAILED"
    assert reply.headers["retry-after"] == "60"
    assert attempts["n"] == 3  # the SDK's 3 attempts, then "retry later"
    assert stack.scan("reassort-links") == []
    assert not [m for m in stack.emails() if m["subject"].startswith("Procéder")]
    assert time.perf_counter() - start < 10


def test_given_every_link_send_failing_when_fifty_requests_then_five_information_emails_at_most(
    stack: Stack, marie: Elector
) -> None:
    fail_sends("sesv2", "SendEmail", on_calls=set(range(2, 200, 2)), code="Throttling")

    codes = [stack.challenge(marie).body["code"] for _ in range(50)]

    assert codes == ["SEND_FAILED"] * 5 + ["QUOTA_EXCEEDED"] * 45
    assert len(stack.emails()) == 5  # the five information e-mails; the links never left
    assert stack.scan("reassort-links") == []
