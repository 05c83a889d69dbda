"""The FranceConnect flow with in-memory fakes: fast, no network, no AWS, no FranceConnect."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from reassort.adapters.logout_state import JwtLogoutStates
from reassort.domain.franceconnect import (
    STATE_TTL_SECONDS,
    FcOutcome,
    FcResult,
    FcStarted,
    FranceConnectFlow,
    Refusal,
)
from reassort.domain.identity import identity_digest
from reassort.domain.issuing import LinkIssuer
from reassort.domain.model import ElectorRecord
from reassort.domain.ports import IdentityProviderError, IdentityProviderUnavailable
from reassort.domain.rules import Rules
from reassort.domain.tokens import link_digest
from tests.support.fakes import (
    CountingRandom,
    FakeAudit,
    FakeClock,
    FakeElectors,
    FakeFcStates,
    FakeLinks,
    FakeNotifier,
)

LINK_KEY = b"k" * 32
IDENTITY_KEY = b"i" * 32
PRO_EMAIL = "jp.lefevre@ac-paris.fr"
FC_EMAIL = "jp.lefevre@exemple-perso.fr"
JEAN_PIERRE = {
    "family_name": "LEFÈVRE",
    "given_name": "Jean-Pierre Marc",
    "birthdate": "1980-05-17",
    "gender": "male",
    "email": FC_EMAIL,
}


@dataclass(frozen=True)
class Login:
    id_token: str
    userinfo: dict[str, Any] = field(repr=False)


class FakeProvider:
    """FranceConnect as the flow sees it: records every code exchange."""

    issuer = "https://fc.test/api/v2"

    def __init__(self) -> None:
        self.userinfo: dict[str, Any] = dict(JEAN_PIERRE)
        self.exchanges: list[tuple[str, str]] = []
        self.nonces: list[str] = []
        self.failure: IdentityProviderError | None = None
        self.logout_failure: IdentityProviderError | None = None

    def authorize_url(self, state: str, nonce: str) -> str:
        self.nonces.append(nonce)
        return f"https://fc.test/api/v2/authorize?state={state}&nonce={nonce}"

    def complete_login(self, code: str, nonce: str) -> Login:
        self.exchanges.append((code, nonce))
        if self.failure is not None:
            raise self.failure
        return Login(id_token="id-token", userinfo=dict(self.userinfo))

    def logout_url(self, id_token_hint: str, state: str) -> str:
        if self.logout_failure is not None:
            raise self.logout_failure
        return f"https://fc.test/api/v2/session/end?id_token_hint={id_token_hint}&state={state}"


class World:
    def __init__(self, **rules: Any) -> None:
        self.electors = FakeElectors()
        self.notifier = FakeNotifier()
        self.audit = FakeAudit()
        self.clock = FakeClock()
        self.states = FakeFcStates()
        self.provider = FakeProvider()
        self.random = CountingRandom()
        self.rules = Rules(
            public_base_url="https://r.test", professional_domains=("education.gouv.fr",), **rules
        )
        self.issuer = LinkIssuer(
            electors=self.electors,
            links=FakeLinks(self.electors),
            notifier=self.notifier,
            audit=self.audit,
            clock=self.clock,
            random=self.random,
            link_key=LINK_KEY,
            rules=self.rules,
        )
        self.flow = self.flow_with(lambda: self.provider)
        self.add_elector("E1")

    def flow_with(self, provider: Callable[[], FakeProvider]) -> FranceConnectFlow:
        return FranceConnectFlow(
            electors=self.electors,
            issuer=self.issuer,
            audit=self.audit,
            clock=self.clock,
            random=self.random,
            rules=self.rules,
            states=self.states,
            provider=provider,
            link_key=LINK_KEY,
            identity_key=IDENTITY_KEY,
            logout_states=JwtLogoutStates(LINK_KEY),
        )

    def add_elector(self, elector_id: str, *, with_identity: bool = True, **extra: Any) -> None:
        digest = (
            identity_digest(IDENTITY_KEY, "Lefevre", "Jean-Pierre", "1980-05-17", "M")
            if with_identity
            else None
        )
        self.electors.put_roll_record(
            ElectorRecord(
                elector_id=elector_id,
                display_name="Jean-Pierre Lefèvre",
                pro_email=PRO_EMAIL,
                question=None,
                answer_hash=None,
                numen_hash=None,
                nir_hash=None,
                vote_code_hash=None,
                identity_digest=digest,
                **extra,
            )
        )

    def start(self, elector_id: str = "E1") -> str:
        """Start a login and return the state FranceConnect will send back."""
        started = self.flow.start(elector_id, "r-login")
        assert isinstance(started, FcStarted), started
        return parse_qs(urlsplit(started.authorize_url).query)["state"][0]

    def complete(self, state: str, code: str = "the-code", error: str | None = None) -> FcOutcome:
        return self.flow.complete(state=state, code=code, error=error, request_id="r-callback")

    def after_logout(self, outcome: FcOutcome) -> FcOutcome:
        """What the logout return shows, from the state carried through FranceConnect's logout."""
        assert outcome.logout_url is not None
        state = parse_qs(urlsplit(outcome.logout_url).query)["state"][0]
        return self.flow.logout_return(state)

    def fc_outcomes(self, elector_id: str = "E1") -> list[str]:
        return [
            e.outcome for e in self.audit.events if e.event == "franceconnect" and e.elector_id == elector_id
        ]


@pytest.fixture
def world() -> World:
    return World()


# -- login ------------------------------------------------------------------------------------------


def test_given_an_elector_with_an_identity_when_login_starts_then_state_stored_hashed_with_its_nonce(
    world: World,
) -> None:
    state = world.start()

    assert len(state) == 43
    stored = world.states.items[link_digest(LINK_KEY, state)]
    assert stored.elector_id == "E1"
    assert stored.nonce == world.provider.nonces[-1] and len(stored.nonce) == 43
    assert stored.nonce != state
    assert stored.expires_at == world.clock.value + STATE_TTL_SECONDS
    assert state not in world.states.items
    assert world.fc_outcomes() == ["login_started"]


def test_given_an_elector_without_identity_on_the_roll_when_login_starts_then_refused_and_no_state(
    world: World,
) -> None:
    world.add_elector("E2", with_identity=False)
    assert world.flow.start("E2", "r") == FcOutcome.refused(Refusal.NO_IDENTITY)
    assert world.states.items == {}
    assert world.fc_outcomes("E2") == ["no_identity_on_roll"]


def test_given_the_election_window_is_closed_when_login_starts_then_refused_with_the_service_rule() -> None:
    world = World(opens_at=FakeClock().value + 3600)
    assert world.flow.start("E1", "r") == FcOutcome.refused(Refusal.OUT_OF_WINDOW)
    assert world.provider.nonces == []
    assert world.fc_outcomes() == ["election_closed"]


def test_given_a_locked_elector_when_login_starts_then_refused_before_franceconnect(world: World) -> None:
    world.add_elector("E3", locked_until=world.clock.value + 60)
    assert world.flow.start("E3", "r") == FcOutcome.refused(Refusal.LOCKED)
    assert world.provider.nonces == []


def test_given_franceconnect_cannot_be_reached_when_login_starts_then_unavailable_and_audited(
    world: World,
) -> None:
    def unreachable() -> FakeProvider:
        raise IdentityProviderUnavailable()

    flow = world.flow_with(unreachable)
    assert flow.start("E1", "r") == FcOutcome(FcResult.UNAVAILABLE)
    assert world.states.items == {}
    assert world.audit.events[-1].outcome == "unavailable"
    assert world.audit.events[-1].detail == "unavailable"


# -- callback -----------------------------------------------------------------------------------------


def test_given_a_matching_identity_when_called_back_then_information_mail_first_then_link_to_the_fc_email(
    world: World,
) -> None:
    outcome = world.complete(world.start())

    assert outcome.result is FcResult.SENT
    assert outcome.masked_destination == "j•••@exemple-perso.fr"
    assert [(kind, to) for kind, to, _ in world.notifier.sent] == [("email", PRO_EMAIL), ("email", FC_EMAIL)]
    assert world.notifier.sent[0][2] == "Demande de réassort de votre code de vote"
    assert "/reassort/code-vote#t=" in world.notifier.bodies[1]
    assert world.fc_outcomes() == ["login_started", "identity_matched"]
    sent = next(e for e in world.audit.events if e.outcome == "link_sent")
    assert sent.method == "franceconnect"
    assert world.after_logout(outcome) == FcOutcome(FcResult.SENT)  # the address stays out of URLs


def test_given_a_state_already_used_when_replayed_then_refused_and_code_never_exchanged_twice(
    world: World,
) -> None:
    state = world.start()
    world.complete(state)
    exchanges, sent = len(world.provider.exchanges), len(world.notifier.sent)

    replay = world.complete(state)

    assert replay == FcOutcome.refused(Refusal.SESSION_EXPIRED)
    assert replay.logout_url is None
    assert len(world.provider.exchanges) == exchanges
    assert len(world.notifier.sent) == sent
    assert world.fc_outcomes("-") == ["state_invalid"]


@pytest.mark.parametrize("state", ["", "short", "x" * 43 + "<", "A" * 43])
def test_given_a_malformed_or_unknown_state_when_called_back_then_refused_without_exchange(
    world: World, state: str
) -> None:
    world.start()
    assert world.complete(state) == FcOutcome.refused(Refusal.SESSION_EXPIRED)
    assert world.provider.exchanges == []


def test_given_a_state_older_than_ten_minutes_when_called_back_then_refused_and_consumed(
    world: World,
) -> None:
    state = world.start()
    world.clock.value += STATE_TTL_SECONDS
    assert world.complete(state) == FcOutcome.refused(Refusal.SESSION_EXPIRED)
    assert world.states.items == {}
    assert world.fc_outcomes() == ["login_started", "state_invalid"]


def test_given_another_persons_identity_when_called_back_then_mismatch_and_nothing_sent(world: World) -> None:
    world.provider.userinfo = {**JEAN_PIERRE, "given_name": "Paul"}
    outcome = world.complete(world.start())

    assert outcome.result is FcResult.MISMATCH
    assert world.notifier.sent == []
    assert world.fc_outcomes() == ["login_started", "identity_mismatch"]
    assert world.after_logout(outcome) == FcOutcome(FcResult.MISMATCH)  # FranceConnect session closed too


def test_given_an_incomplete_identity_when_called_back_then_mismatch_and_nothing_sent(world: World) -> None:
    del world.provider.userinfo["birthdate"]
    assert world.complete(world.start()).result is FcResult.MISMATCH
    assert world.notifier.sent == []
    assert world.fc_outcomes()[-1] == "identity_incomplete"


def test_given_the_elector_cancels_at_franceconnect_when_called_back_then_cancelled_without_exchange(
    world: World,
) -> None:
    outcome = world.complete(world.start(), code="", error="access_denied")
    assert outcome == FcOutcome(FcResult.CANCELLED)
    assert outcome.logout_url is None
    assert world.provider.exchanges == []
    assert world.notifier.sent == []
    assert world.fc_outcomes() == ["login_started", "cancelled"]


@pytest.mark.parametrize(
    ("error", "audited", "detail"),
    [
        ("temporarily_unavailable", "unavailable", "temporarily_unavailable"),
        ("invalid_scope", "error", "invalid_scope"),
        ("<script>", "error", "other"),
    ],
)
def test_given_another_provider_error_when_called_back_then_unavailable(
    world: World, error: str, audited: str, detail: str
) -> None:
    assert world.complete(world.start(), error=error) == FcOutcome(FcResult.UNAVAILABLE)
    assert (world.audit.events[-1].outcome, world.audit.events[-1].detail) == (audited, detail)
    assert world.provider.exchanges == []


@pytest.mark.parametrize("code", ["", "c" * 513])
def test_given_no_usable_code_when_called_back_then_unavailable_without_exchange(
    world: World, code: str
) -> None:
    assert world.complete(world.start(), code=code) == FcOutcome(FcResult.UNAVAILABLE)
    assert world.audit.events[-1].detail == "code_missing"
    assert world.provider.exchanges == []


@pytest.mark.parametrize(
    ("failure", "audited"),
    [(IdentityProviderUnavailable("server_error"), "unavailable"), (IdentityProviderError(), "error")],
)
def test_given_franceconnect_fails_the_exchange_when_called_back_then_unavailable_and_no_logout(
    world: World, failure: IdentityProviderError, audited: str
) -> None:
    world.provider.failure = failure
    outcome = world.complete(world.start())
    assert outcome == FcOutcome(FcResult.UNAVAILABLE)
    assert outcome.logout_url is None  # an unverified ID token is never sent back as a hint
    assert world.fc_outcomes()[-1] == audited
    assert world.notifier.sent == []


def test_given_franceconnect_sends_no_email_when_called_back_then_refused_and_nothing_sent(
    world: World,
) -> None:
    del world.provider.userinfo["email"]
    outcome = world.complete(world.start())
    assert outcome.result is FcResult.REFUSED and outcome.reason == Refusal.NO_ADDRESS
    assert world.notifier.sent == []
    assert world.fc_outcomes()[-1] == "email_missing"


def test_given_a_professional_fc_email_when_called_back_then_refused_and_nothing_sent(world: World) -> None:
    world.provider.userinfo["email"] = PRO_EMAIL
    outcome = world.complete(world.start())
    assert world.after_logout(outcome) == FcOutcome.refused(Refusal.PROFESSIONAL_ADDRESS)
    assert world.notifier.sent == []


def test_given_the_election_closes_during_franceconnect_when_called_back_then_refused_and_nothing_sent() -> (
    None
):
    world = World(closes_at=FakeClock().value + 60)
    state = world.start()
    world.clock.value += 60
    outcome = world.complete(state)
    assert (outcome.result, outcome.reason) == (FcResult.REFUSED, Refusal.OUT_OF_WINDOW)
    assert world.notifier.sent == []
    assert world.fc_outcomes()[-1] == "election_closed"


def test_given_the_information_mail_fails_when_called_back_then_refused_send_failed(world: World) -> None:
    world.notifier.fail_on = {1}
    outcome = world.complete(world.start())
    assert (outcome.result, outcome.reason) == (FcResult.REFUSED, Refusal.SEND_FAILED)
    assert world.notifier.sent == []


def test_given_franceconnect_logout_cannot_be_built_when_called_back_then_the_outcome_is_shown_directly(
    world: World,
) -> None:
    world.provider.logout_failure = IdentityProviderUnavailable()
    outcome = world.complete(world.start())
    assert outcome.result is FcResult.SENT and outcome.logout_url is None


def test_given_the_callback_when_the_state_names_the_elector_then_the_caller_is_told(world: World) -> None:
    seen: list[str] = []
    world.flow.complete(state=world.start(), code="c", error=None, request_id="r", on_elector=seen.append)
    assert seen == ["E1"]


# -- logout state ------------------------------------------------------------------------------------


def test_given_a_forged_or_tampered_logout_state_when_returning_then_refused(world: World) -> None:
    outcome = world.complete(world.start())
    assert outcome.logout_url is not None
    genuine = parse_qs(urlsplit(outcome.logout_url).query)["state"][0]
    header, body, mac = genuine.split(".")
    expired = FcOutcome.refused(Refusal.SESSION_EXPIRED)
    forged_body = base64.urlsafe_b64encode(b'{"r":"sent","exp":9999999999}').rstrip(b"=").decode()
    other_key = JwtLogoutStates(b"another key, another service....").sign(FcOutcome(FcResult.SENT), 0)
    assert world.flow.logout_return(f"{header}.{forged_body}.{mac}") == expired
    assert world.flow.logout_return(f"{header}.{body}.{mac[:-2]}AA") == expired
    assert world.flow.logout_return(other_key) == expired
    assert world.flow.logout_return("eyJyIjoic2VudCJ9.AAAA") == expired
    assert world.flow.logout_return("") == expired
    assert world.flow.logout_return(genuine) == FcOutcome(FcResult.SENT)


def test_given_any_outcome_then_its_logout_state_is_a_jwt_with_exp_and_no_personal_data(world: World) -> None:
    outcome = world.complete(world.start())
    assert outcome.result is FcResult.SENT and outcome.masked_destination
    state = parse_qs(urlsplit(outcome.logout_url or "").query)["state"][0]
    header, body, _ = state.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"] == "HS256"
    assert set(claims) == {"r", "exp", "jti"}
    assert claims["r"] == "sent" and claims["exp"] == int(world.clock.value) + 600
    assert "@" not in (outcome.logout_url or "") and "•" not in unquote(outcome.logout_url or "")


def test_given_a_logout_state_older_than_ten_minutes_when_returning_then_refused(world: World) -> None:
    outcome = world.complete(world.start())
    world.clock.value += 600
    assert world.after_logout(outcome) == FcOutcome.refused(Refusal.SESSION_EXPIRED)


def test_given_two_callbacks_with_the_same_outcome_then_their_logout_states_differ(world: World) -> None:
    first = world.complete(world.start())
    second = world.complete(world.start())
    assert first.logout_url != second.logout_url


# -- RFC 9207 --------------------------------------------------------------------------------------


def test_given_the_callback_names_the_provider_as_iss_when_completing_then_the_login_goes_on(
    world: World,
) -> None:
    outcome = world.flow.complete(
        state=world.start(), code="c", error=None, request_id="r", iss="https://fc.test/api/v2"
    )
    assert outcome.result is FcResult.SENT


@pytest.mark.parametrize("iss", ["https://evil.test/api/v2", "https://fc.test/api/v2/", ""])
def test_given_the_callback_names_another_issuer_when_completing_then_unavailable_and_the_code_never_spent(
    world: World, iss: str
) -> None:
    outcome = world.flow.complete(state=world.start(), code="c", error=None, request_id="r", iss=iss)
    assert outcome == FcOutcome(FcResult.UNAVAILABLE)
    assert world.provider.exchanges == []
    assert world.notifier.sent == []
    assert "issuer_mismatch" in {e.detail for e in world.audit.events}
