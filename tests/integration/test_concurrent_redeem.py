"""Twenty redemptions of one link at the same instant against a real (moto) DynamoDB server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer

from reassort.adapters.dynamodb import DynamoElectorStore, DynamoLinkStore, create_tables
from reassort.config import Settings
from reassort.domain.codes import SystemRandom
from reassort.domain.errors import LinkInvalid
from reassort.domain.hashing import Argon2Profile, SecretHasher
from reassort.domain.model import Channel, ElectorRecord
from reassort.domain.service import ReassortService, Rules
from tests.support.fakes import FakeAudit, FakeClock, FakeNotifier
from tests.support.links import token_in

THREADS = 20


@pytest.fixture
def dynamodb_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # moto answers requests on parallel threads with no isolation: a transaction that fails
    # restores a copy of the tables taken before it started, undoing a transaction that committed
    # meanwhile. DynamoDB serialises transactions with each other and with GetItem; one request
    # at a time gives moto that guarantee, while the twenty callers still interleave between
    # their requests.
    serial = threading.Lock()
    call_action = DynamoHandler.call_action

    def one_at_a_time(self: DynamoHandler) -> Any:
        with serial:
            return call_action(self)

    monkeypatch.setattr(DynamoHandler, "call_action", one_at_a_time)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_twenty_concurrent_redemptions_issue_exactly_one_code(dynamodb_server: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=dynamodb_server, region_name="eu-west-3")
    settings = Settings(stage="test")
    create_tables(client, settings)
    hasher = SecretHasher(Argon2Profile(memory_kib=64, time_cost=1, parallelism=1))
    electors = DynamoElectorStore(settings.electors_table, client)
    electors.put_roll_record(
        ElectorRecord(
            "E1",
            "Jeanne",
            "j@education.gouv.fr",
            "Q ?",
            hasher.hash("r"),
            hasher.hash("12E3456789ABC"),
            None,
            hasher.hash("OLD"),
        )
    )
    notifier = FakeNotifier()
    service = ReassortService(
        electors=electors,
        links=DynamoLinkStore(settings.links_table, settings.electors_table, client),
        notifier=notifier,
        audit=FakeAudit(),
        clock=FakeClock(__import__("time").time()),
        random=SystemRandom(),
        hasher=hasher,
        link_key=b"k" * 32,
        rules=Rules(public_base_url="https://r.test"),
    )
    service.request_by_challenge(
        "E1",
        answer="r",
        identifier="12E3456789ABC",
        channel=Channel.EMAIL,
        destination="j@gmail.com",
        request_id="r",
    )
    token = token_in(notifier.bodies[-1])

    start = threading.Barrier(THREADS)
    codes: list[str] = []
    refused: list[int] = []

    def redeem(i: int) -> None:
        start.wait()
        try:
            codes.append(service.redeem_link(token, f"r{i}").vote_code)
        except LinkInvalid:
            refused.append(i)

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # One redemption wins; every other concurrent call (double click, retry) shows that same code.
    assert len(codes) == THREADS and len(set(codes)) == 1 and refused == []
    stored = electors.get("E1")
    assert stored is not None and hasher.verify(stored.vote_code_hash, codes[0])
    assert stored.link_generation == 1
