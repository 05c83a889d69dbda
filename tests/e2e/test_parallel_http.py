"""The single-use, lockout and quota rules under parallel HTTP requests through the local stack:
its functions run in pools of worker processes (like concurrent Lambda environments) against
dynoxide, so the requests really reach the conditional writes at the same time."""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from urllib.parse import quote

import pytest
import requests

from tests.e2e.conftest import PARALLEL_SECRETS
from tests.e2e.support import Stack
from tests.support.links import token_in

ROUNDS = 3

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def next_elector() -> Callable[[], dict[str, str]]:
    with PARALLEL_SECRETS.open(newline="", encoding="utf-8") as handle:
        rows = iter(list(csv.DictReader(handle)))
    lock = threading.Lock()

    def take() -> dict[str, str]:
        with lock:
            return next(rows)

    return take


def session_of(stack: Stack, elector: dict[str, str]) -> requests.Session:
    session = requests.Session()
    answer = session.post(
        stack.url("/local/login"),
        json={"elector_id": elector["elector_id"], "password": f"demo-{elector['elector_id']}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return session


def challenge_body(elector: dict[str, str], **changes: str) -> dict[str, str]:
    return {
        "answer": elector["answer"],
        "identifier": elector["identifier"],
        "channel": "email",
        "destination": elector["personal_email"],
        **changes,
    }


def at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def links_to(stack: Stack, address: str) -> list[str]:
    messages = stack.get_json(f"/local/outbox.json?to={quote(address)}")["messages"]
    return [token_in(m["body"]) for m in messages if "Procéder" in m.get("subject", "")]


def new_link(stack: Stack, elector: dict[str, str], destination: str) -> str:
    session = session_of(stack, elector)
    answer = session.post(
        stack.url("/api/reassort/challenge"),
        json=challenge_body(elector, destination=destination),
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    return links_to(stack, destination)[-1]


def redeem(stack: Stack, token: str) -> Callable[[], requests.Response]:
    return lambda: requests.post(stack.url("/api/links/redeem"), json={"token": token}, timeout=60)


def test_given_fifty_parallel_redemptions_over_http_then_exactly_one_code(
    stack: Stack, next_elector: Callable[[], dict[str, str]]
) -> None:
    for _ in range(ROUNDS):
        elector = next_elector()
        token = new_link(stack, elector, elector["personal_email"])
        answers = at_once([redeem(stack, token)] * 50)
        statuses = sorted(a.status_code for a in answers)
        assert set(statuses) <= {200, 410}, statuses
        # The calls that lose to the same link see the winner's code again, never a second one.
        codes = {a.json()["vote_code"] for a in answers if a.status_code == 200}
        assert len(codes) == 1, statuses
        assert sum(1 for a in answers if a.status_code == 200 and not a.json()["shown_before"]) == 1


def test_given_two_sibling_links_redeemed_twenty_five_times_each_over_http_then_exactly_one_code(
    stack: Stack, next_elector: Callable[[], dict[str, str]]
) -> None:
    for _ in range(ROUNDS):
        elector = next_elector()
        first = new_link(stack, elector, elector["personal_email"])
        second = new_link(stack, elector, "autre." + elector["personal_email"])
        answers = at_once([redeem(stack, first)] * 25 + [redeem(stack, second)] * 25)
        codes = {a.json()["vote_code"] for a in answers if a.status_code == 200}
        assert len(codes) == 1, sorted(a.status_code for a in answers)
        assert sum(1 for a in answers if a.status_code == 200 and not a.json()["shown_before"]) == 1


def test_given_twenty_parallel_wrong_answers_over_http_then_five_evaluated_and_one_alert(
    stack: Stack, next_elector: Callable[[], dict[str, str]]
) -> None:
    for _ in range(ROUNDS):
        elector = next_elector()
        session = session_of(stack, elector)
        body = challenge_body(elector, answer="pas la bonne réponse")
        answers = at_once(
            [partial(session.post, stack.url("/api/reassort/challenge"), json=body, timeout=60)] * 20
        )
        codes = [a.json()["code"] for a in answers]
        wrong = [a.json()["remaining_attempts"] for a in answers if a.json()["code"] == "WRONG_CREDENTIALS"]
        # Four evaluated failures answer with the attempts left; the fifth locks.
        assert sorted(wrong) == [1, 2, 3, 4], codes
        assert set(codes) <= {"WRONG_CREDENTIALS", "ACCOUNT_LOCKED", "ATTEMPTS_IN_PROGRESS"}, codes
        alerts = stack.get_json(f"/local/outbox.json?to={quote(elector['pro_email'])}")["messages"]
        assert len(alerts) == 1, [m.get("subject") for m in alerts]
        locked = session.post(stack.url("/api/reassort/challenge"), json=challenge_body(elector), timeout=30)
        assert locked.json()["code"] == "ACCOUNT_LOCKED"


def test_given_twelve_parallel_link_requests_over_http_then_five_links(
    stack: Stack, next_elector: Callable[[], dict[str, str]]
) -> None:
    for _ in range(ROUNDS):
        elector = next_elector()
        session = session_of(stack, elector)
        bodies = [challenge_body(elector, destination=f"n{n}.{elector['personal_email']}") for n in range(12)]
        answers = at_once(
            [
                partial(session.post, stack.url("/api/reassort/challenge"), json=body, timeout=60)
                for body in bodies
            ]
        )
        statuses = [a.status_code for a in answers]
        assert statuses.count(202) == 5, [(a.status_code, a.json().get("code")) for a in answers]
        assert {a.json()["code"] for a in answers if a.status_code != 202} <= {
            "QUOTA_EXCEEDED",
            "ATTEMPTS_IN_PROGRESS",
        }
        sent = sum(len(links_to(stack, body["destination"])) for body in bodies)
        assert sent == 5
