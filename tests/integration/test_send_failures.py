"""A failed send never leaves a half-done state: no link without its information e-mail,
no usable link that was not delivered."""

from __future__ import annotations

from tests.support.stack import Elector, Stack, fail_sends


def test_information_email_failure_issues_no_link(stack: Stack, marie: Elector) -> None:
    fail_sends("sesv2", "SendEmail", on_calls={1}, code="MessageRejected")

    reply = stack.challenge(marie)

    assert reply.status == 503 and reply.body["code"] == "SEND_FAILED"
    assert "aucun lien n'a été émis" in reply.body["message"]
    assert stack.emails() == []
    assert stack.scan("reassort-links") == []
    assert stack.elector_item(marie.elector_id).get("recent_links", {"M": {}})["M"] == {}


def test_link_email_failure_revokes_the_link(stack: Stack, marie: Elector) -> None:
    fail_sends("sesv2", "SendEmail", on_calls={2}, code="MessageRejected")

    reply = stack.challenge(marie)

    assert reply.status == 503 and reply.body["code"] == "SEND_FAILED"
    assert [m["subject"] for m in stack.emails()] == ["Demande de réassort de votre code de vote"]
    assert stack.scan("reassort-links") == []
    assert stack.elector_item(marie.elector_id)["recent_links"]["M"] == {}
    assert stack.vote_code_accepted(marie.elector_id, marie.vote_code)
    assert stack.challenge(marie).status == 202  # the retry goes through


def test_sms_failure_revokes_the_link(stack: Stack, marie: Elector) -> None:
    fail_sends("sns", "Publish", on_calls={1})

    reply = stack.challenge(marie, channel="sms", destination="06 12 34 56 78")

    assert reply.status == 503 and reply.headers["retry-after"] == "60"
    assert stack.sms() == [] and stack.scan("reassort-links") == []
