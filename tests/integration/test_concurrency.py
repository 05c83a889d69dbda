"""Every conditional write proven two ways against dynoxide (atomic per request, like DynamoDB).

1. Deterministic: a competing write is injected at the SDK boundary just before our own
   conditional write, so each lost-race branch runs on every test run.
2. Real parallel runs: many threads at once against the engine, repeated so that a one-in-twenty
   flake would show (60 rounds: 0.95^60 < 5 %).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import boto3
import pytest

from local.tables import create_tables, put_roll_record
from reassort import wiring
from reassort.adapters.dynamodb import DynamoAuditLog, DynamoElectorStore, DynamoLinkStore
from reassort.adapters.system import SecretHasher, SystemClock, SystemRandom
from reassort.config import get_settings
from reassort.domain.challenge import ChallengeRequests
from reassort.domain.errors import (
    AccountLocked,
    AttemptsInProgress,
    LinkInvalid,
    QuotaExceeded,
    WrongCredentials,
)
from reassort.domain.issuing import LinkIssuer
from reassort.domain.model import Channel, ElectorRecord, Method
from reassort.domain.normalise import normalise_answer, parse_identifier
from reassort.domain.redemption import LinkRedemption
from tests.support.fakes import FakeAudit, FakeNotifier
from tests.support.links import token_in
from tests.support.stack import Elector, Stack

ROUNDS = 60


# -- 1. deterministic conflicts injected at the SDK boundary ----------------------------------------
def before_own_write(operation: str, compete: Callable[[], None], *, matching: str = "") -> dict[str, int]:
    """Run `compete` (another container's write) right before the service's next `operation`
    whose request mentions `matching`; the service's own call then meets the changed state."""
    fired = {"n": 0}

    def hook(params: dict[str, Any], **_: Any) -> None:
        if fired["n"] == 0 and matching in repr(params):
            fired["n"] += 1
            # Another container: outside this handler's context (and its IAM identity).
            contextvars.Context().run(compete)

    wiring.get_dynamodb().meta.events.register(f"before-parameter-build.dynamodb.{operation}", hook)
    return fired


def links_in_outbox(stack: Stack) -> list[str]:
    return [token_in(m["body"]) for m in stack.emails() if "Procéder" in m["subject"]]


def redeemed_by_competitor(stack: Stack, elector_id: str, link_id: str, generation: int) -> None:
    """What a winning redemption in another container leaves behind."""
    settings = get_settings()
    stack.dynamodb.update_item(
        TableName=settings.links_table,
        Key={"link_id": {"S": link_id}},
        UpdateExpression="SET used_at = :now",
        ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
    )
    stack.dynamodb.update_item(
        TableName=settings.electors_table,
        Key={"elector_id": {"S": elector_id}},
        UpdateExpression="SET vote_code_hash = :h, link_generation = :g ADD quota_version :one",
        ExpressionAttributeValues={
            ":h": {"S": stack.hasher.hash("Competitor!23")},
            ":g": {"N": str(generation + 1)},
            ":one": {"N": "1"},
        },
    )


def link_id_of(token: str) -> str:
    from reassort.domain.tokens import link_digest
    from reassort.wiring import get_secrets

    return link_digest(get_secrets().link_hmac_key, token)


def test_given_the_same_link_redeemed_elsewhere_first_when_redeemed_then_it_shows_that_code_not_a_second(
    stack: Stack, marie: Elector
) -> None:
    assert stack.challenge(marie).status == 202
    token = links_in_outbox(stack)[-1]
    winner: list[Any] = []
    fired = before_own_write(
        "TransactWriteItems",
        lambda: winner.append(stack.redeem(token)),  # a retried request, committed first
        matching="used_at",
    )

    reply = stack.redeem(token)

    assert fired["n"] == 1 and winner[0].status == 200
    assert reply.status == 200 and reply.body["shown_before"] is True
    assert reply.body["vote_code"] == winner[0].body["vote_code"]
    assert stack.vote_code_accepted(marie.elector_id, reply.body["vote_code"])
    outcomes = [(i["event"]["S"], i["outcome"]["S"]) for i in stack.scan(get_settings().audit_table)]
    assert outcomes.count(("redeem", "success")) == 1


def test_given_a_link_marked_used_but_same_generation_when_redeemed_then_the_link_condition_refuses(
    stack: Stack, marie: Elector
) -> None:
    """The link's own `attribute_not_exists(used_at)` guard, on its own."""
    assert stack.challenge(marie).status == 202
    token = links_in_outbox(stack)[-1]

    def mark_used() -> None:
        stack.dynamodb.update_item(
            TableName=get_settings().links_table,
            Key={"link_id": {"S": link_id_of(token)}},
            UpdateExpression="SET used_at = :now",
            ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
        )

    before_own_write("TransactWriteItems", mark_used, matching="used_at")

    reply = stack.redeem(token)

    assert reply.status == 410 and reply.body["code"] == "DISPLAY_OVER"
    assert stack.vote_code_accepted(marie.elector_id, marie.vote_code)


def test_given_two_sibling_links_when_the_other_is_redeemed_first_then_this_one_loses(
    stack: Stack, marie: Elector
) -> None:
    assert stack.challenge(marie).status == 202
    assert stack.challenge(marie, destination="marie.autre@gmail.com").status == 202
    first, second = links_in_outbox(stack)[-2:]
    fired = before_own_write(
        "TransactWriteItems",
        lambda: redeemed_by_competitor(stack, marie.elector_id, link_id_of(first), 0),
        matching=link_id_of(second),
    )

    reply = stack.redeem(second)

    assert fired["n"] == 1
    assert reply.status == 410 and reply.body["code"] == "LINK_INVALID"
    assert stack.vote_code_accepted(marie.elector_id, "Competitor!23")
    outcomes = [(i["event"]["S"], i["outcome"]["S"]) for i in stack.scan(get_settings().audit_table)]
    assert ("redeem", "lost_race") in outcomes
    assert stack.elector_item(marie.elector_id)["link_generation"]["N"] == "1"


def test_given_a_redemption_while_a_link_is_issued_then_the_new_link_is_bound_to_the_new_generation(
    stack: Stack, marie: Elector
) -> None:
    assert stack.challenge(marie).status == 202
    first = links_in_outbox(stack)[-1]
    redeemed: list[int] = []
    fired = before_own_write(
        "TransactWriteItems",
        lambda: redeemed.append(stack.redeem(first).status),  # the real redemption, elsewhere
        matching="recent_links",
    )

    assert stack.challenge(marie, destination="marie.autre@gmail.com").status == 202

    assert fired["n"] == 1 and redeemed == [200]
    second = links_in_outbox(stack)[-1]
    assert stack.redeem(second).status == 200


def competing_link(stack: Stack, elector_id: str, short_id: str) -> Callable[[], None]:
    """Another container issuing a link: one more quota entry, quota version + 1."""

    def issue() -> None:
        stack.dynamodb.update_item(
            TableName=get_settings().electors_table,
            Key={"elector_id": {"S": elector_id}},
            UpdateExpression="SET recent_links.#k = :t ADD quota_version :one",
            ExpressionAttributeNames={"#k": short_id},
            ExpressionAttributeValues={":t": {"N": str(int(time.time()))}, ":one": {"N": "1"}},
        )

    return issue


def test_given_a_link_issued_concurrently_when_issuing_then_the_quota_is_read_again_and_both_count(
    stack: Stack, marie: Elector
) -> None:
    assert stack.challenge(marie).status == 202
    fired = before_own_write(
        "TransactWriteItems", competing_link(stack, marie.elector_id, "competitor00001"), matching="link_id"
    )

    assert stack.challenge(marie).status == 202

    assert fired["n"] == 1
    recent = stack.elector_item(marie.elector_id)["recent_links"]["M"]
    assert len(recent) == 3 and "competitor00001" in recent


def test_given_the_last_quota_slot_taken_concurrently_when_issuing_then_quota_exceeded_and_no_link(
    stack: Stack, marie: Elector
) -> None:
    for n in range(4):
        assert stack.challenge(marie, destination=f"marie{n}@gmail.com").status == 202
    before_own_write(
        "TransactWriteItems", competing_link(stack, marie.elector_id, "competitor00001"), matching="link_id"
    )

    reply = stack.challenge(marie, destination="marie.cinq@gmail.com")

    assert reply.status == 429 and reply.body["code"] == "QUOTA_EXCEEDED"
    assert len(stack.scan(get_settings().links_table)) == 4
    assert not [m for m in stack.emails() if "marie.cinq@gmail.com" in m["to"]]


def test_given_a_lock_set_elsewhere_when_the_fifth_failure_locks_then_no_second_alert(
    stack: Stack, marie: Elector
) -> None:
    for _ in range(4):
        assert stack.challenge(marie, answer="faux").status == 403
    until = int(time.time()) + 1800

    def locked_elsewhere() -> None:
        stack.dynamodb.update_item(
            TableName=get_settings().electors_table,
            Key={"elector_id": {"S": marie.elector_id}},
            UpdateExpression="SET locked_until = :u",
            ExpressionAttributeValues={":u": {"N": str(until)}},
        )

    fired = before_own_write("UpdateItem", locked_elsewhere, matching="locked_until = :until")

    reply = stack.challenge(marie, answer="faux")

    assert fired["n"] == 1
    assert reply.status == 423 and reply.body["code"] == "ACCOUNT_LOCKED"
    assert not [m for m in stack.emails() if m["to"] == [marie.pro_email]]


# -- 2. real parallel runs against the engine -------------------------------------------------------
@dataclass
class Engine:
    issuer: LinkIssuer
    challenge: ChallengeRequests
    redemption: LinkRedemption
    electors: DynamoElectorStore
    notifier: FakeNotifier
    audit: FakeAudit
    hasher: SecretHasher
    client: Any
    counter: int = 0

    def new_elector(self, vote_code: str = "Ab3!Cd4$Ef5%") -> str:
        self.counter += 1
        elector_id = f"P-{self.counter:04d}"
        put_roll_record(
            self.client,
            get_settings().electors_table,
            ElectorRecord(
                elector_id=elector_id,
                display_name="Irène Joliot",
                pro_email=f"{elector_id.lower()}@ac-paris.fr",
                question="Ville ?",
                answer_hash=self.hasher.hash(normalise_answer("Sceaux")),
                numen_hash=self.hasher.hash(parse_identifier("12E3456789ABC").value),
                nir_hash=None,
                vote_code_hash=self.hasher.hash(vote_code),
            ),
        )
        return elector_id

    def request(self, elector_id: str, answer: str = "Sceaux", destination: str = "irene@gmail.com") -> Any:
        return self.challenge.request_by_challenge(
            elector_id,
            answer=answer,
            identifier="12E3456789ABC",
            channel=Channel.EMAIL,
            destination=destination,
            request_id="r",
        )

    def link(self, elector_id: str) -> str:
        self.request(elector_id)
        return token_in(self.notifier.bodies[-1])


@pytest.fixture
def engine(service_env: dict[str, str], dynamodb_engine: Any) -> Iterator[Engine]:
    settings = get_settings()
    client = boto3.client(
        "dynamodb",
        region_name="eu-west-3",
        config=__import__("botocore.config").config.Config(max_pool_connections=64),
    )
    create_tables(client, settings)
    hasher = SecretHasher(settings.argon2_profile())
    notifier, audit = FakeNotifier(), FakeAudit()
    electors = DynamoElectorStore(settings.electors_table, client)
    audit_store = DynamoAuditLog(settings.audit_table, settings.audit_retention_days, client)
    links = DynamoLinkStore(settings.links_table, settings.electors_table, audit_store, client)
    clock, random, rules = SystemClock(), SystemRandom(), settings.rules()
    issuer = LinkIssuer(
        electors=electors,
        links=links,
        notifier=notifier,
        audit=audit,
        clock=clock,
        random=random,
        link_key=b"k" * 32,
        rules=rules,
    )
    challenge = ChallengeRequests(
        electors=electors,
        notifier=notifier,
        audit=audit,
        clock=clock,
        hasher=hasher,
        issuer=issuer,
        rules=rules,
    )
    redemption = LinkRedemption(
        electors=electors,
        links=links,
        audit=audit,
        clock=clock,
        random=random,
        hasher=hasher,
        link_key=b"k" * 32,
        rules=rules,
    )
    yield Engine(issuer, challenge, redemption, electors, notifier, audit, hasher, client)


def at_once(pool: ThreadPoolExecutor, calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls together (a barrier releases them at the same instant); exceptions are results."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as exc:
            return exc

    return list(pool.map(run, calls))


def test_given_fifty_parallel_redemptions_of_one_link_then_exactly_one_code_every_round(
    engine: Engine,
) -> None:
    with ThreadPoolExecutor(max_workers=50) as pool:
        for _ in range(ROUNDS):
            elector_id = engine.new_elector()
            token = engine.link(elector_id)
            results = at_once(pool, [partial(engine.redemption.redeem_link, token, "r")] * 50)
            codes = {r.vote_code for r in results if not isinstance(r, Exception)}
            # Calls that lose to the same link see the winner's code again, never a second one.
            assert len(codes) == 1, f"{len(codes)} codes for one link"
            assert all(isinstance(r, LinkInvalid) for r in results if isinstance(r, Exception))
            assert sum(1 for r in results if not isinstance(r, Exception) and not r.shown_before) == 1
            stored = engine.electors.get(elector_id)
            assert stored is not None and engine.hasher.verify(stored.vote_code_hash, codes.pop())


def test_given_two_sibling_links_redeemed_twenty_five_times_each_then_exactly_one_code_every_round(
    engine: Engine,
) -> None:
    with ThreadPoolExecutor(max_workers=50) as pool:
        for _ in range(ROUNDS):
            elector_id = engine.new_elector()
            first, second = engine.link(elector_id), engine.link(elector_id)
            calls = [partial(engine.redemption.redeem_link, first, "r")] * 25
            calls += [partial(engine.redemption.redeem_link, second, "r")] * 25
            results = at_once(pool, calls)
            codes = {r.vote_code for r in results if not isinstance(r, Exception)}
            assert len(codes) == 1, f"{len(codes)} codes for two sibling links"
            stored = engine.electors.get(elector_id)
            assert stored is not None and engine.hasher.verify(stored.vote_code_hash, codes.pop())
            assert stored.link_generation == 1


def test_given_twenty_parallel_wrong_answers_then_five_are_evaluated_and_one_alert_every_round(
    engine: Engine,
) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        for _ in range(ROUNDS):
            elector_id = engine.new_elector()
            engine.audit.events.clear()
            engine.notifier.sent.clear()
            results = at_once(pool, [partial(engine.request, elector_id, answer="faux")] * 20)
            evaluated = [
                e
                for e in engine.audit.events
                if e.elector_id == elector_id and e.outcome == "wrong_credentials"
            ]
            alerts = [s for s in engine.notifier.sent if s[1] == f"{elector_id.lower()}@ac-paris.fr"]
            assert len(evaluated) == 5, f"{len(evaluated)} guesses evaluated"
            assert len(alerts) == 1, f"{len(alerts)} alert e-mails"
            assert all(isinstance(r, WrongCredentials | AccountLocked | AttemptsInProgress) for r in results)
            stored = engine.electors.get(elector_id)
            assert stored is not None and stored.is_locked(time.time())


def test_given_twelve_parallel_link_requests_then_five_links_every_round(engine: Engine) -> None:
    with ThreadPoolExecutor(max_workers=12) as pool:
        for _ in range(ROUNDS):
            elector_id = engine.new_elector()
            results = at_once(
                pool,
                [
                    partial(
                        engine.issuer.issue_link,
                        elector_id,
                        channel=Channel.EMAIL,
                        destination=f"irene{n}@gmail.com",
                        method=Method.FRANCECONNECT,
                        request_id="r",
                    )
                    for n in range(12)
                ],
            )
            issued = [r for r in results if not isinstance(r, Exception)]
            assert len(issued) == 5, f"{len(issued)} links issued"
            assert all(isinstance(r, QuotaExceeded) for r in results if isinstance(r, Exception))
            stored = engine.electors.get(elector_id)
            assert stored is not None and len(stored.recent_links) == 5
