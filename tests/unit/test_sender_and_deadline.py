"""The SES sender name is an RFC 2047 encoded-word, and one deadline bounds every AWS attempt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.header import decode_header, make_header
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from reassort import deadline
from reassort.adapters.sending import SesEmailSender, encode_mailbox
from reassort.domain.ports import NotificationError
from tests.support.fakes import FakeClock

SENDER = "Élections professionnelles <no-reply@elections.example.gouv.fr>"


def test_given_a_french_sender_name_when_encoded_then_it_is_an_ascii_encoded_word_on_one_line() -> None:
    encoded = encode_mailbox(SENDER)

    assert encoded.isascii() and "\n" not in encoded and "\r" not in encoded
    name, address = encoded.rsplit(" ", 1)
    assert name.startswith("=?utf-8?") and name.endswith("?=")
    assert address == "<no-reply@elections.example.gouv.fr>"
    assert str(make_header(decode_header(name))) == "Élections professionnelles"


def test_given_a_long_french_name_when_encoded_then_every_word_stays_within_75_characters() -> None:
    long_name = "Élections professionnelles du ministère de l’Éducation nationale et de la Jeunesse"

    encoded = encode_mailbox(f"{long_name} <no-reply@example.gouv.fr>")

    words = encoded.rsplit(" ", 1)[0].split()
    assert len(words) > 1 and all(len(word) <= 75 for word in words)
    assert str(make_header(decode_header(encoded.rsplit(" ", 1)[0]))) == long_name


def test_given_ascii_names_and_idn_domains_when_encoded_then_specials_are_quoted_and_domain_punycoded() -> (
    None
):
    assert encode_mailbox("Elections <a@b.fr>") == "Elections <a@b.fr>"
    assert encode_mailbox('"Dupont, Jean" <a@b.fr>') == '"Dupont, Jean" <a@b.fr>'
    assert encode_mailbox("a@élections.fr") == "a@xn--lections-90a.fr"
    with pytest.raises(ValueError):
        encode_mailbox("Élections")


def test_given_the_ses_sender_when_sending_then_from_email_address_is_encoded() -> None:
    client = boto3.client("sesv2", region_name="eu-west-3")
    stubber = Stubber(client)
    stubber.add_response(
        "send_email",
        {"MessageId": "1"},
        {
            "FromEmailAddress": "=?utf-8?q?=C3=89lections_professionnelles?= <no-reply@elections.example.gouv.fr>",
            "Destination": {"ToAddresses": ["marie@example.org"]},
            "Content": stubber_any(),
        },
    )
    with stubber:
        SesEmailSender(SENDER, client=client).send_email("marie@example.org", "Sujet", "texte", "<p>html</p>")
    stubber.assert_no_pending_responses()


def stubber_any() -> Any:
    from botocore.stub import ANY

    return ANY


# -- the deadline ---------------------------------------------------------------------------------
@pytest.fixture
def monotonic() -> Iterator[FakeClock]:
    clock = FakeClock(1000.0)
    deadline.set_clock(clock.now)
    yield clock
    deadline.set_clock(__import__("time").monotonic)


def _advance(clock: FakeClock, seconds: float) -> None:
    clock.value += seconds


def _answer(client: Any, event: str, status: int, body: bytes, on_attempt: Any = None) -> list[int]:
    """Answer every attempt of `event` with `status` (no network); returns the attempt count."""
    attempts: list[int] = []

    class _Body:
        def stream(self, **_: object) -> Iterator[bytes]:
            return iter([body])

        def read(self, *_: object, **__: object) -> bytes:
            return body

    def respond(request: Any, **_: object) -> AWSResponse:
        attempts.append(1)
        if on_attempt:
            on_attempt()
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-ErrorType": "ThrottlingException"}
        response = AWSResponse(request.url, status, headers, _Body())
        response._content = body
        return response

    client.meta.events.register(f"before-send.{event}", respond)
    return attempts


def test_given_lambda_remaining_time_when_budgeted_then_safety_and_api_gateway_limits_apply() -> None:
    assert deadline.budget_for(25_000) == pytest.approx(25 - deadline.SAFETY_SECONDS)
    assert deadline.budget_for(900_000) == pytest.approx(29 - deadline.SAFETY_SECONDS)
    assert deadline.budget_for(None) == pytest.approx(29 - deadline.SAFETY_SECONDS)
    assert deadline.budget_for(1_000) == 0.0


def test_given_no_time_for_one_attempt_when_calling_dynamodb_then_nothing_is_sent(
    monotonic: FakeClock,
) -> None:
    client = deadline.aws_client("dynamodb", deadline.DYNAMODB_TIMEOUTS, region_name="eu-west-3")
    attempts = _answer(client, "dynamodb", 200, b"{}")

    with deadline.bounded(sum(deadline.DYNAMODB_TIMEOUTS) - 0.1), pytest.raises(deadline.DeadlineExceeded):
        client.get_item(TableName="t", Key={"k": {"S": "v"}})

    assert attempts == []
    with deadline.bounded(sum(deadline.DYNAMODB_TIMEOUTS)):
        client.get_item(TableName="t", Key={"k": {"S": "v"}})
    assert attempts == [1]


def test_given_throttled_slow_sends_when_the_deadline_nears_then_retries_stop_and_the_send_fails(
    monotonic: FakeClock,
) -> None:
    sender = SesEmailSender(SENDER)
    attempt_seconds = sum(deadline.SEND_TIMEOUTS)
    body = b'{"message": "Maximum sending rate exceeded."}'
    attempts = _answer(
        sender.client, "sesv2", 429, body, on_attempt=lambda: _advance(monotonic, attempt_seconds)
    )

    with deadline.bounded(attempt_seconds * 1.5), pytest.raises(NotificationError) as refused:
        sender.send_email("marie@example.org", "Sujet", "texte", "<p>html</p>")

    assert attempts == [1]  # without the deadline: the SDK's 3 attempts, 12 s and more
    assert str(refused.value) == "DeadlineExceeded"


def test_given_a_nested_deadline_when_bounded_then_the_earlier_one_wins(monotonic: FakeClock) -> None:
    with deadline.bounded(10):
        with deadline.bounded(60):
            assert deadline.remaining() == pytest.approx(10)
        _advance(monotonic, 9.8)
        with pytest.raises(deadline.DeadlineExceeded):
            deadline.http_timeout(5, "franceconnect")
    assert deadline.remaining() == float("inf")


class _RecordingAdapter(__import__("requests").adapters.BaseAdapter):
    """Answers FranceConnect's discovery and records the timeout each call was given."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        import requests

        self.timeouts.append(kwargs["timeout"])
        response = requests.Response()
        response.status_code = 200
        base = "https://fc.test/api/v2"
        document = {"issuer": base, "jwks_uri": f"{base}/jwks"}
        for name in ("authorization", "token", "userinfo", "end_session"):
            document[f"{name}_endpoint"] = f"{base}/{name}"
        response._content = json.dumps(document).encode()
        response.headers["Content-Type"] = "application/json"
        response.request = request
        return response

    def close(self) -> None:
        pass


def _franceconnect(adapter: _RecordingAdapter) -> Any:
    import requests

    from reassort.adapters.franceconnect import FranceConnectClient, FranceConnectConfig

    session = requests.Session()
    session.mount("https://fc.test/", adapter)
    config = FranceConnectConfig(
        issuer="https://fc.test/api/v2",
        client_id="c" * 64,
        client_secret="s" * 64,
        redirect_uri="https://reassort.test/api/fc/callback",
        post_logout_redirect_uri="https://reassort.test/api/fc/logout-return",
    )
    return FranceConnectClient(config, session=session)


def test_given_little_time_left_when_calling_franceconnect_then_the_timeout_shrinks_or_the_call_is_refused(
    monotonic: FakeClock,
) -> None:
    from reassort.adapters.franceconnect import FranceConnectUnavailable

    adapter = _RecordingAdapter()
    with deadline.bounded(2.0):
        _franceconnect(adapter).metadata()
    assert adapter.timeouts == [pytest.approx(2.0)]  # not the configured 5 s

    late = _RecordingAdapter()
    with deadline.bounded(0.3), pytest.raises(FranceConnectUnavailable) as refused:
        _franceconnect(late).metadata()
    assert refused.value.reason == "deadline" and late.timeouts == []
