"""The use cases with in-memory fakes: fast, no network, no AWS."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reassort.adapters.system import Argon2Profile, SecretHasher
from reassort.domain.challenge import ChallengeRequests
from reassort.domain.display import open_code
from reassort.domain.errors import (
    AccountLocked,
    ChallengeNotSet,
    DisplayOver,
    ElectionClosed,
    InvalidFields,
    LinkInvalid,
    ProfessionalAddressRefused,
    QuotaExceeded,
    SendFailed,
    WrongCredentials,
)
from reassort.domain.issuing import LinkIssuer
from reassort.domain.model import Channel, ElectorRecord, LinkCheck, Method, NewVoteCode
from reassort.domain.normalise import normalise_answer
from reassort.domain.redemption import LinkRedemption
from reassort.domain.rules import Rules
from reassort.domain.tokens import encode_token, link_digest
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
        self.random = CountingRandom()
        self.rules = Rules(
            public_base_url="https://r.test", professional_domains=("education.gouv.fr",), **rules
        )  # type: ignore[arg-type]
        self.use_hasher(self.hasher)
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

    def use_hasher(self, hasher: SecretHasher) -> None:
        """Build the use cases around this hasher (the roll keeps the hashes it holds)."""
        self.issuer = LinkIssuer(
            electors=self.electors,
            links=self.links,
            notifier=self.notifier,
            audit=self.audit,
            clock=self.clock,
            random=self.random,
            link_key=KEY,
            rules=self.rules,
        )
        self.challenge = ChallengeRequests(
            electors=self.electors,
            notifier=self.notifier,
            audit=self.audit,
            clock=self.clock,
            hasher=hasher,
            issuer=self.issuer,
            rules=self.rules,
        )
        self.redemption = LinkRedemption(
            electors=self.electors,
            links=self.links,
            audit=self.audit,
            clock=self.clock,
            random=self.random,
            hasher=hasher,
            link_key=KEY,
            rules=self.rules,
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
        return self.challenge.request_by_challenge("E1", **args)  # type: ignore[arg-type]

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
    assert world.notifier.attempts <= 2 * world.rules.link_quota
    assert refused == 45
    assert world.rules.max_messages_per_window == 12


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

    assert world.redemption.check_link(token, "r2") == LinkCheck(display_seconds=120, redeemed=False)
    code = world.redemption.redeem_link(token, "r3").vote_code
    stored = world.electors.items["E1"].vote_code_hash
    assert world.hasher.verify(stored, code) and not world.hasher.verify(stored, "OLD")
    world.clock.value += 120
    with pytest.raises(DisplayOver):
        world.redemption.redeem_link(token, "r4")
    assert world.electors.items["E1"].vote_code_hash == stored


def test_given_a_redeemed_link_when_used_again_within_the_window_then_the_same_code_shows_with_the_time_left() -> (
    None
):
    world = World()
    world.request()
    token = world.last_token()
    first = world.redemption.redeem_link(token, "r1")
    stored = world.electors.items["E1"].vote_code_hash
    world.clock.value += 45.5

    assert world.redemption.check_link(token, "r2") == LinkCheck(display_seconds=75, redeemed=True)
    again = world.redemption.redeem_link(token, "r3")
    assert again == NewVoteCode(vote_code=first.vote_code, display_seconds=75, shown_before=True)
    assert world.electors.items["E1"].vote_code_hash == stored  # no second code
    assert ("redeem", "shown_again") in world.audit.outcomes()

    world.clock.value += 74.5  # the last instant of the window is over
    for call in (world.redemption.check_link, world.redemption.redeem_link):
        with pytest.raises(DisplayOver):
            call(token, "r4")  # type: ignore[operator]


def test_given_a_redeemed_link_then_what_is_kept_reveals_the_code_to_no_one_without_the_token() -> None:
    world = World()
    world.request()
    token = world.last_token()
    code = world.redemption.redeem_link(token, "r1").vote_code
    (link,) = world.links.items.values()

    assert link.sealed_code and code not in link.sealed_code and token not in repr(link)
    assert link.shown_until == world.clock.value + 120
    assert open_code(link.sealed_code, token, link.link_id) == code
    other = encode_token(b"x" * 32)
    assert open_code(link.sealed_code, other, link.link_id) is None
    assert open_code(link.sealed_code, token, "another-link") is None
    assert open_code("not base64!", token, link.link_id) is None


def test_given_a_redeemed_link_when_another_link_replaced_its_code_then_it_no_longer_shows_it() -> None:
    world = World()
    world.request()
    first = world.last_token()
    world.redemption.redeem_link(first, "r1")
    world.request(channel=Channel.SMS, destination="0612345678")
    world.redemption.redeem_link(world.last_token(), "r2")

    with pytest.raises(LinkInvalid):
        world.redemption.redeem_link(first, "r3")


def test_given_two_calls_for_one_link_when_the_other_commits_first_then_both_show_the_same_code() -> None:
    world = World()
    world.request()
    token = world.last_token()
    original = world.links.redeem
    first: list[str] = []

    def concurrent_first(*args: object, **kwargs: object) -> bool:
        # The other call (a retry of a lost answer) commits between our read and our write.
        world.links.redeem = original  # type: ignore[method-assign]
        first.append(world.redemption.redeem_link(token, "r1").vote_code)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    world.links.redeem = concurrent_first  # type: ignore[method-assign]
    again = world.redemption.redeem_link(token, "r2")
    assert again.vote_code == first[0] and again.shown_before
    assert world.hasher.verify(world.electors.items["E1"].vote_code_hash, first[0])
    assert ("redeem", "lost_race") not in world.audit.outcomes()


def test_given_an_expired_link_then_it_is_invalid_even_if_still_stored() -> None:
    world = World()
    world.request()
    token = world.last_token()
    world.clock.value += 3600
    with pytest.raises(LinkInvalid):
        world.redemption.check_link(token, "r")
    with pytest.raises(LinkInvalid):
        world.redemption.redeem_link(token, "r")


def test_given_two_links_when_one_is_redeemed_then_the_other_dies() -> None:
    world = World()
    world.request()
    first = world.last_token()
    world.request(channel=Channel.SMS, destination="0612345678")
    second = world.last_token()
    world.redemption.redeem_link(second, "r")
    with pytest.raises(LinkInvalid):
        world.redemption.redeem_link(first, "r")


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


def test_given_the_alert_email_failing_when_the_account_locks_then_it_still_locks_and_audits_the_failure() -> (
    None
):
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
    world.use_hasher(world.hasher)
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


def test_given_a_quota_of_two_when_a_third_link_is_requested_then_refused_until_the_first_is_24_hours_old() -> (
    None
):
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


def test_given_an_election_window_then_requests_outside_it_and_links_after_its_grace_are_refused() -> None:
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
    for call in (world.redemption.check_link, world.redemption.redeem_link):
        with pytest.raises(ElectionClosed):
            call(token, "r")  # type: ignore[operator]
    world.clock.value = 1_796_000_200.0 + 1799
    assert world.redemption.check_link(token, "r") == LinkCheck(display_seconds=120, redeemed=False)


def test_given_the_shared_issue_path_then_pro_domains_are_refused_and_personal_addresses_get_a_link() -> None:
    world = World()
    with pytest.raises(ProfessionalAddressRefused):
        world.issuer.issue_link(
            "E1",
            channel=Channel.EMAIL,
            destination="x@ac.education.gouv.fr",
            method=Method.FRANCECONNECT,
            request_id="r",
        )
    issued = world.issuer.issue_link(
        "E1",
        channel=Channel.EMAIL,
        destination="jeanne@laposte.net",
        method=Method.FRANCECONNECT,
        request_id="r",
    )
    assert issued.channel is Channel.EMAIL
    assert "FranceConnect" in world.notifier.bodies[0]


def test_given_an_invalid_destination_on_the_shared_issue_path_then_invalid_fields_names_destination() -> (
    None
):
    world = World()
    with pytest.raises(InvalidFields) as invalid:
        world.issuer.issue_link(
            "E1", channel=Channel.EMAIL, destination="nope", method=Method.FRANCECONNECT, request_id="r"
        )
    assert invalid.value.fields[0].name == "destination"


def test_given_a_new_argon2_profile_when_a_request_succeeds_then_the_stored_hashes_are_redone_with_it() -> (
    None
):
    world = World()
    world.use_hasher(SecretHasher(Argon2Profile(memory_kib=128, time_cost=1, parallelism=1)))
    world.request()
    record = world.electors.items["E1"]
    assert "m=128" in (record.answer_hash or "") and "m=128" in (record.numen_hash or "")


def test_given_an_elector_without_a_question_when_getting_the_challenge_then_challenge_not_set() -> None:
    world = World()
    world.electors.items["E2"] = ElectorRecord("E2", "X", "x@education.gouv.fr", None, None, None, None, None)
    with pytest.raises(ChallengeNotSet):
        world.challenge.get_challenge("E2")


def test_given_the_roll_holds_a_civil_identity_or_not_then_the_challenge_says_whether_franceconnect_can_work() -> (
    None
):
    world = World()
    assert world.challenge.get_challenge("E1").franceconnect is False
    elector = world.electors.items["E1"]
    world.electors.items["E1"] = replace(elector, identity_digest="d" * 64)
    assert world.challenge.get_challenge("E1").franceconnect is True
