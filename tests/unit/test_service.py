"""The use cases with in-memory fakes: fast, no network, no AWS."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reassort.domain.errors import (
    AccountLocked,
    ChallengeNotSet,
    ElectionClosed,
    InvalidFields,
    LinkInvalid,
    ProfessionalAddressRefused,
    QuotaExceeded,
    SendFailed,
    WrongCredentials,
)
from reassort.domain.hashing import Argon2Profile, SecretHasher
from reassort.domain.model import Channel, ElectorRecord, Method
from reassort.domain.normalise import normalise_answer
from reassort.domain.service import ReassortService, Rules, link_digest
from tests.support.fakes import (
    CountingRandom,
    FakeAudit,
    FakeClock,
    FakeElectors,
    FakeLinks,
    FakeNotifier,
)
from tests.support.links import token_in

CHEAP = Argon2Profile(memory_kib=64, time_cost=1, parallelism=1)
KEY = b"k" * 32


class World:
    def __init__(self, **rules: object) -> None:
        self.hasher = SecretHasher(CHEAP)
        self.electors = FakeElectors()
        self.links = FakeLinks(self.electors)
        self.notifier = FakeNotifier()
        self.audit = FakeAudit()
        self.clock = FakeClock()
        self.service = ReassortService(
            electors=self.electors,
            links=self.links,
            notifier=self.notifier,
            audit=self.audit,
            clock=self.clock,
            random=CountingRandom(),
            hasher=self.hasher,
            link_key=KEY,
            rules=Rules(
                public_base_url="https://r.test", professional_domains=("education.gouv.fr",), **rules
            ),  # type: ignore[arg-type]
        )
        self.electors.put_roll_record(
            ElectorRecord(
                elector_id="E1",
                display_name="Jeanne Test",
                pro_email="jeanne@education.gouv.fr",
                question="Ville de naissance ?",
                answer_hash=self.hasher.hash(normalise_answer("Besançon")),
                numen_hash=self.hasher.hash("12E3456789ABC"),
                nir_hash=None,
                vote_code_hash=self.hasher.hash("OLD"),
            )
        )

    def request(self, **overrides: object) -> object:
        args: dict[str, object] = {
            "answer": "besancon",
            "identifier": "12E3456789ABC",
            "channel": Channel.EMAIL,
            "destination": "jeanne@gmail.com",
            "request_id": "r1",
            **overrides,
        }
        return self.service.request_by_challenge("E1", **args)  # type: ignore[arg-type]

    def last_token(self) -> str:
        return token_in(self.notifier.bodies[-1])


def test_given_a_correct_challenge_when_requested_then_information_precedes_the_link() -> None:
    world = World()
    issued = world.request()

    assert [s[:2] for s in world.notifier.sent] == [
        ("email", "jeanne@education.gouv.fr"),
        ("email", "jeanne@gmail.com"),
    ]
    assert issued.masked_destination == "j•••@gmail.com"  # type: ignore[attr-defined]
    token = world.last_token()
    assert link_digest(KEY, token) in world.links.items
    assert token not in repr(world.links.items) and token not in repr(world.electors.items)


def test_given_the_information_email_fails_then_no_link_exists() -> None:
    world = World()
    world.notifier.fail_on = {1}

    with pytest.raises(SendFailed):
        world.request()
    assert world.links.items == {}
    assert world.notifier.sent == []
    assert ("send", "information_failed") in world.audit.outcomes()


def test_given_the_link_send_fails_then_the_link_is_revoked_and_its_quota_slot_stays_taken() -> None:
    world = World()
    world.notifier.fail_on = {2}

    with pytest.raises(SendFailed):
        world.request()
    assert world.links.items == {}
    assert len(world.electors.items["E1"].recent_links) == 1  # the information e-mail went out
    assert ("send", "link_failed") in world.audit.outcomes()
    world.request()  # a retry goes through, on the next slot
    assert len(world.links.items) == 1
    assert len(world.electors.items["E1"].recent_links) == 2


@pytest.mark.parametrize("failing", ["information", "link", "both"])
def test_given_every_send_failing_when_an_elector_requests_fifty_times_then_the_daily_message_cap_holds(
    failing: str,
) -> None:
    world = World()
    world.notifier.fail_on = {
        "information": set(range(1, 200, 2)),
        "link": set(range(2, 200, 2)),
        "both": set(range(1, 200)),
    }[failing]
    refused = 0
    for attempt in range(50):
        try:
            world.request(request_id=f"r{attempt}")
        except QuotaExceeded:
            refused += 1
        except SendFailed:
            pass
    # Each request spends one slot before any send, so at most 5 requests ever reach a notifier.
    assert world.notifier.attempts <= 2 * world.service.rules.link_quota
    assert refused == 45
    assert world.service.rules.max_messages_per_window == 12


def test_given_an_elector_locked_again_and_again_then_at_most_two_lock_alerts_a_day() -> None:
    world = World()
    for _lock in range(6):
        for _attempt in range(5):
            with pytest.raises((WrongCredentials, AccountLocked)):
                world.request(answer="faux")
        world.clock.value += 1801  # the lock is over
    alerts = [s for s in world.notifier.sent if s[1] == "jeanne@education.gouv.fr"]
    assert len(alerts) == 2
    assert world.audit.outcomes().count(("send", "lock_alert_capped")) == 4
    world.clock.value += 86400  # a day later the elector is warned again
    for _attempt in range(5):
        with pytest.raises((WrongCredentials, AccountLocked)):
            world.request(answer="faux")
    assert len([s for s in world.notifier.sent if s[1] == "jeanne@education.gouv.fr"]) == 3


def test_given_a_link_when_redeemed_then_old_code_replaced_and_link_spent() -> None:
    world = World()
    world.request()
    token = world.last_token()

    assert world.service.check_link(token, "r2") == 120
    code = world.service.redeem_link(token, "r3").vote_code
    stored = world.electors.items["E1"].vote_code_hash
    assert world.hasher.verify(stored, code) and not world.hasher.verify(stored, "OLD")
    with pytest.raises(LinkInvalid):
        world.service.redeem_link(token, "r4")


def test_given_an_expired_link_then_it_is_invalid_even_if_still_stored() -> None:
    world = World()
    world.request()
    token = world.last_token()
    world.clock.value += 3600
    with pytest.raises(LinkInvalid):
        world.service.check_link(token, "r")
    with pytest.raises(LinkInvalid):
        world.service.redeem_link(token, "r")


def test_given_two_links_when_one_is_redeemed_then_the_other_dies() -> None:
    world = World()
    world.request()
    first = world.last_token()
    world.request(channel=Channel.SMS, destination="0612345678")
    second = world.last_token()
    world.service.redeem_link(second, "r")
    with pytest.raises(LinkInvalid):
        world.service.redeem_link(first, "r")


def test_given_five_failures_then_locked_once_with_one_alert() -> None:
    world = World()
    for expected in (4, 3, 2, 1):
        with pytest.raises(WrongCredentials) as wrong:
            world.request(answer="lyon")
        assert wrong.value.remaining_attempts == expected
    with pytest.raises(AccountLocked):
        world.request(answer="lyon")
    with pytest.raises(AccountLocked):
        world.request()
    alerts = [s for s in world.notifier.sent if s[2].startswith("Alerte")]
    assert alerts == [("email", "jeanne@education.gouv.fr", alerts[0][2])]
    world.clock.value += 1800
    world.request()


def test_a_failed_alert_email_still_locks() -> None:
    world = World(max_failed_attempts=1)
    world.notifier.fail_on = {1}
    with pytest.raises(AccountLocked):
        world.request(answer="lyon")
    assert ("send", "lock_alert_failed") in world.audit.outcomes()


def test_given_no_nir_on_record_when_one_is_typed_then_the_same_argon2_work_is_done() -> None:
    """The CPU spent, not the calls made: skipping the argon2 work for an identifier the roll
    does not hold would tell, by timing, whether an elector has a NIR on record."""
    import statistics
    import time

    world = World(max_failed_attempts=50)
    world.hasher = SecretHasher(Argon2Profile(memory_kib=4096, time_cost=3, parallelism=1))
    world.service.hasher = world.hasher
    for name in ("answer_hash", "numen_hash"):
        value = "besancon" if name == "answer_hash" else "12E3456789ABC"
        world.electors.items["E1"] = replace(world.electors.items["E1"], **{name: world.hasher.hash(value)})

    def cpu_of(**typed: object) -> float:
        started = time.process_time()
        with pytest.raises(WrongCredentials):
            world.request(**typed)
        return time.process_time() - started

    on_record, absent = [], []
    for _ in range(7):
        on_record.append(cpu_of(identifier="12E3456789ABC", answer="lyon"))  # NUMEN held, wrong answer
        absent.append(cpu_of(identifier="1850275123"))  # a NIR the roll does not hold
    ratio = statistics.median(absent) / statistics.median(on_record)
    assert 0.75 < ratio < 1.33, f"absent NIR costs {ratio:.2f}× a NUMEN on record"


def test_quota_counts_the_last_24_hours() -> None:
    world = World(link_quota=2)
    world.request()
    world.clock.value += 3600
    world.request()
    with pytest.raises(QuotaExceeded) as refused:
        world.request()
    assert refused.value.retry_after_seconds == 86400 - 3600 + 1
    assert len(world.notifier.sent) == 4
    world.clock.value += 86400 - 3600
    world.request()


def test_window_is_enforced_on_every_use_case() -> None:
    world = World(opens_at=1_796_000_100.0, closes_at=1_796_000_200.0)
    with pytest.raises(ElectionClosed):
        world.request()
    world.clock.value = 1_796_000_150.0
    world.request()
    token = world.last_token()
    world.clock.value = 1_796_000_200.0
    with pytest.raises(ElectionClosed):
        world.request()
    # a link issued before the close stays usable during the grace, not after it
    world.clock.value = 1_796_000_200.0 + 1800
    for call in (world.service.check_link, world.service.redeem_link):
        with pytest.raises(ElectionClosed):
            call(token, "r")  # type: ignore[operator]
    world.clock.value = 1_796_000_200.0 + 1799
    assert world.service.check_link(token, "r") == 120


def test_professional_domain_refused_on_the_shared_issue_path() -> None:
    world = World()
    with pytest.raises(ProfessionalAddressRefused):
        world.service.issue_link(
            "E1",
            channel=Channel.EMAIL,
            destination="x@ac.education.gouv.fr",
            method=Method.FRANCECONNECT,
            request_id="r",
        )
    issued = world.service.issue_link(
        "E1",
        channel=Channel.EMAIL,
        destination="jeanne@laposte.net",
        method=Method.FRANCECONNECT,
        request_id="r",
    )
    assert issued.channel is Channel.EMAIL
    assert "FranceConnect" in world.notifier.bodies[0]


def test_invalid_destination_on_the_shared_path_names_the_field() -> None:
    world = World()
    with pytest.raises(InvalidFields) as invalid:
        world.service.issue_link(
            "E1", channel=Channel.EMAIL, destination="nope", method=Method.FRANCECONNECT, request_id="r"
        )
    assert invalid.value.fields[0].name == "destination"


def test_rehash_when_the_profile_changes() -> None:
    world = World()
    world.service.hasher = SecretHasher(Argon2Profile(memory_kib=128, time_cost=1, parallelism=1))
    world.request()
    record = world.electors.items["E1"]
    assert "m=128" in (record.answer_hash or "") and "m=128" in (record.numen_hash or "")


def test_an_elector_without_a_question_is_sent_to_franceconnect() -> None:
    world = World()
    world.electors.items["E2"] = ElectorRecord("E2", "X", "x@education.gouv.fr", None, None, None, None, None)
    with pytest.raises(ChallengeNotSet):
        world.service.get_challenge("E2")
