"""One deadline per request: a slow information e-mail leaves no link behind, and a link whose
send cannot finish in time is revoked instead of being left stored but unsent."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from reassort import deadline, wiring
from tests.support.fakes import FakeClock
from tests.support.stack import Elector, Stack

BUDGET = deadline.budget_for(None)


@pytest.fixture
def monotonic() -> Iterator[FakeClock]:
    clock = FakeClock(1000.0)
    deadline.set_clock(clock.now)
    yield clock
    deadline.set_clock(time.monotonic)


def _slow_sends(clock: FakeClock, seconds_per_send: list[float]) -> None:
    """The n-th SES attempt takes seconds_per_send[n] (then succeeds): time passes on the clock."""
    sender = wiring.get_notifier()._email_sender()  # type: ignore[attr-defined]
    remaining = list(seconds_per_send)

    def slow(**_: object) -> None:
        clock.value += remaining.pop(0) if remaining else 0.0

    sender.client.meta.events.register_first("before-send.sesv2.SendEmail", slow)


def test_given_a_slow_information_email_when_no_time_is_left_to_send_the_link_then_it_is_revoked(
    stack: Stack, marie: Elector, monotonic: FakeClock
) -> None:
    # The link is stored (its quota slot taken) before any send; the information e-mail then
    # takes so long that less than one attempt of the link's send is left, but enough to revoke.
    sender = wiring.get_notifier()._email_sender()  # type: ignore[attr-defined]
    took = {"n": 0}

    def slow_after_success(**_: object) -> None:
        took["n"] += 1
        if took["n"] == 1:
            monotonic.value += BUDGET - sum(deadline.SEND_TIMEOUTS) + 0.5

    sender.client.meta.events.register("after-call.sesv2.SendEmail", slow_after_success)

    reply = stack.challenge(marie)

    assert reply.status == 503
    assert [m["subject"] for m in stack.emails()] == ["Demande de réassort de votre code de vote"]
    assert stack.scan("reassort-links") == []
    # The slot stays spent: the information e-mail went out (the daily message cap).
    assert len(stack.elector_item(marie.elector_id)["recent_links"]["M"]) == 1


def test_given_a_link_send_that_would_outlast_the_deadline_then_the_link_is_revoked_in_time(
    stack: Stack, marie: Elector, monotonic: FakeClock
) -> None:
    # Just enough time to store the link; the write takes a whole attempt, and the send one more:
    # no time is left for the SDK's retry of the send, only for the revoke.
    info_seconds = BUDGET - deadline.LINK_ISSUE_RESERVE_SECONDS - 0.5
    writes = {"n": 0}

    def slow_write(**_: object) -> None:
        writes["n"] += 1
        if writes["n"] == 1:
            monotonic.value += sum(deadline.DYNAMODB_TIMEOUTS)

    wiring.get_dynamodb().meta.events.register_first("before-send.dynamodb.TransactWriteItems", slow_write)
    sender = wiring.get_notifier()._email_sender()  # type: ignore[attr-defined]
    calls = {"n": 0}

    def slow_then_refused(**_: object) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            monotonic.value += info_seconds
        elif calls["n"] == 2:  # the link e-mail hangs a whole attempt, then the SDK would retry
            monotonic.value += sum(deadline.SEND_TIMEOUTS)
            from botocore.exceptions import ReadTimeoutError

            raise ReadTimeoutError(endpoint_url="https://email.eu-west-3.amazonaws.com")

    # Same level as the deadline guard, registered after it: only attempts the guard lets through.
    sender.client.meta.events.register("before-send.sesv2", slow_then_refused)

    reply = stack.challenge(marie)

    assert reply.status == 503 and reply.body["code"] == "SEND_FAILED"
    assert calls["n"] == 2  # no retry started past the deadline
    assert stack.scan("reassort-links") == []  # revoked, inside the deadline
    assert deadline.remaining() == float("inf")  # the request's deadline ended with it
