"""The FranceConnect path: start a login, complete it, carry its outcome through the logout.

FranceConnect proves the elector's civil identity; the link then goes to the e-mail address
FranceConnect holds, through the same ``LinkIssuer`` as the challenge path. The claims
(civil identity, e-mail) are used in memory only: never stored, logged or written to the audit.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from . import auditing
from .errors import (
    AccountLocked,
    ElectionClosed,
    InvalidFields,
    ProfessionalAddressRefused,
    QuotaExceeded,
    ReassortError,
    SendFailed,
)
from .identity import IncompleteIdentityError, civil_identity_from_claims, digest_identity
from .issuing import LinkIssuer
from .model import Channel, FcState, Method
from .ports import (
    AuditLog,
    Clock,
    ElectorStore,
    FcStateStore,
    IdentityProvider,
    IdentityProviderError,
    IdentityProviderUnavailable,
    ProviderLogin,
    RandomSource,
    StoreUnavailable,
)
from .rules import Rules
from .tokens import encode_token, is_token_shaped, link_digest
from .window import check_window

STATE_TTL_SECONDS = 600
STATE_BYTES = 32  # state and nonce: 43 characters, above FranceConnect's minimum of 22
MAX_CODE_LENGTH = 512
AUDIT_EVENT = "franceconnect"
UNKNOWN_ELECTOR = "-"
_ERROR_SHAPE = re.compile(r"^[a-z_]{1,40}$")


class FcResult(StrEnum):
    SENT = "sent"
    MISMATCH = "mismatch"
    CANCELLED = "cancelled"
    UNAVAILABLE = "unavailable"
    REFUSED = "refused"


class Refusal(StrEnum):
    """Why the FranceConnect path refused (the ``motif`` shown on the refusal page)."""

    PROFESSIONAL_ADDRESS = "adresse-professionnelle"
    NO_ADDRESS = "adresse-absente"
    LOCKED = "bloque"
    QUOTA = "quota"
    OUT_OF_WINDOW = "hors-periode"
    SESSION_EXPIRED = "session-expiree"
    PORTAL_SESSION = "session-portail"
    SEND_FAILED = "envoi-echoue"
    NO_IDENTITY = "sans-identite"


@dataclass(frozen=True)
class FcOutcome:
    """Where the FranceConnect path ends for the elector."""

    result: FcResult
    reason: str | None = None  # a Refusal when result is REFUSED
    masked_destination: str | None = None  # on success: j•••@example.fr (never put in a URL)
    # Set once FranceConnect's session is open: the browser closes it there first, and the
    # outcome comes back signed in the logout state. It carries the ID token as a hint.
    logout_url: str | None = field(default=None, repr=False)

    @classmethod
    def refused(cls, reason: Refusal) -> FcOutcome:
        return cls(FcResult.REFUSED, reason=reason)


@dataclass(frozen=True)
class FcStarted:
    authorize_url: str = field(repr=False)


class LogoutStates(Protocol):
    """Carries the outcome through FranceConnect's logout in ``state``, signed and short-lived.

    The state ends up in a URL: it must hold no personal data, masked or not.
    """

    def sign(self, outcome: FcOutcome, now: float) -> str: ...

    def verify(self, value: str, now: float) -> FcOutcome | None: ...


class FranceConnectFlow:
    """The FranceConnect use cases. Every step is audited under the ``franceconnect`` event."""

    def __init__(
        self,
        *,
        electors: ElectorStore,
        issuer: LinkIssuer,
        audit: AuditLog,
        clock: Clock,
        random: RandomSource,
        rules: Rules,
        states: FcStateStore,
        provider: Callable[[], IdentityProvider],
        link_key: bytes,
        identity_key: bytes,
        logout_states: LogoutStates,
    ) -> None:
        self._electors = electors
        self._issuer = issuer
        self._audit_log = audit
        self._clock = clock
        self._random = random
        self._rules = rules
        self.states = states
        # Built on first use: the logout return never needs FranceConnect.
        self._provider = provider
        self._link_key = link_key
        self._identity_key = identity_key
        self.logout_states = logout_states

    # -- login ----------------------------------------------------------------------------------
    def start(self, elector_id: str, request_id: str) -> FcStarted | FcOutcome:
        """Check the elector can use FranceConnect, then store a state and a nonce for the callback."""
        now = self._clock.now()
        try:
            refusal = self._refusal_before_login(elector_id, request_id, now)
            if refusal is not None:
                return FcOutcome.refused(refusal)
            state, nonce = self._token(), self._token()
            authorize_url = self._provider().authorize_url(state=state, nonce=nonce)
            self.states.save(
                FcState(
                    state_id=self._state_id(state),
                    elector_id=elector_id,
                    nonce=nonce,
                    expires_at=now + STATE_TTL_SECONDS,
                )
            )
        except (IdentityProviderError, StoreUnavailable, ReassortError) as error:
            # FranceConnect discovery or the state table: nothing to retry here
            self._audit(elector_id, "unavailable", request_id, now, detail=_reason(error))
            return FcOutcome(FcResult.UNAVAILABLE)
        self._audit(elector_id, "login_started", request_id, now)
        return FcStarted(authorize_url)

    def _refusal_before_login(self, elector_id: str, request_id: str, now: float) -> Refusal | None:
        elector = self._electors.get(elector_id)
        if elector is None or not elector.identity_digest:
            # No civil identity on the roll for this elector: FranceConnect cannot prove anything.
            self._audit(elector_id, "no_identity_on_roll", request_id, now)
            return Refusal.NO_IDENTITY
        try:
            check_window(self._rules, now)
        except ElectionClosed:
            self._audit(elector_id, "election_closed", request_id, now)
            return Refusal.OUT_OF_WINDOW
        if elector.is_locked(now):
            self._audit(elector_id, "locked", request_id, now)
            return Refusal.LOCKED
        try:
            # Before FranceConnect: no point making the elector log in to be refused afterwards.
            self._issuer.check_quota(elector, now, request_id, Method.FRANCECONNECT)
        except QuotaExceeded:
            return Refusal.QUOTA
        return None

    # -- callback -------------------------------------------------------------------------------
    def complete(
        self,
        *,
        state: str,
        code: str,
        error: str | None,
        request_id: str,
        on_elector: Callable[[str], None] | None = None,
        iss: str | None = None,
    ) -> FcOutcome:
        """Take the state, verify the login, match the identity, send the link.

        ``on_elector`` is told the elector id as soon as the state names it (to tag log lines).
        ``iss``, when the provider sends it (RFC 9207), must be the provider's issuer.
        """
        now = self._clock.now()
        # The state is consumed first, whatever else the request says: it can never serve twice.
        taken = self._take_state(state)
        if taken is None or taken.expires_at <= now:
            self._audit(taken.elector_id if taken else UNKNOWN_ELECTOR, "state_invalid", request_id, now)
            return FcOutcome.refused(Refusal.SESSION_EXPIRED)
        elector_id = taken.elector_id
        if on_elector is not None:
            on_elector(elector_id)

        if iss is not None and not hmac.compare_digest(iss.encode(), self._provider().issuer.encode()):
            # RFC 9207: the answer names another provider (mix-up attack); never spend the code.
            self._audit(elector_id, "error", request_id, now, detail="issuer_mismatch")
            return FcOutcome(FcResult.UNAVAILABLE)
        if error is not None:
            return self._provider_error(elector_id, error, request_id, now)
        if not code or len(code) > MAX_CODE_LENGTH:
            self._audit(elector_id, "error", request_id, now, detail="code_missing")
            return FcOutcome(FcResult.UNAVAILABLE)

        provider = self._provider()
        try:
            login = provider.complete_login(code, taken.nonce)
        except IdentityProviderUnavailable as exc:
            self._audit(elector_id, "unavailable", request_id, now, detail=exc.reason)
            return FcOutcome(FcResult.UNAVAILABLE)
        except IdentityProviderError as exc:
            self._audit(elector_id, "error", request_id, now, detail=exc.reason)
            return FcOutcome(FcResult.UNAVAILABLE)

        # From here FranceConnect's session is ours to close: every outcome goes through its logout.
        outcome = self._match_and_send(elector_id, login, request_id, now)
        logout_state = self.logout_states.sign(outcome, now)
        try:
            return replace(outcome, logout_url=provider.logout_url(login.id_token, logout_state))
        except IdentityProviderError:
            return outcome

    def _provider_error(self, elector_id: str, error: str, request_id: str, now: float) -> FcOutcome:
        code = error if _ERROR_SHAPE.fullmatch(error) else "other"
        if code == "access_denied":
            self._audit(elector_id, "cancelled", request_id, now)
            return FcOutcome(FcResult.CANCELLED)
        outcome = "unavailable" if code == "temporarily_unavailable" else "error"
        self._audit(elector_id, outcome, request_id, now, detail=code)
        return FcOutcome(FcResult.UNAVAILABLE)

    def _match_and_send(
        self, elector_id: str, login: ProviderLogin, request_id: str, now: float
    ) -> FcOutcome:
        elector = self._electors.get(elector_id)
        try:
            identity = civil_identity_from_claims(login.userinfo)
        except IncompleteIdentityError:
            self._audit(elector_id, "identity_incomplete", request_id, now)
            return FcOutcome(FcResult.MISMATCH)
        digest = digest_identity(self._identity_key, identity)
        if (
            elector is None
            or not elector.identity_digest
            or not hmac.compare_digest(digest, elector.identity_digest)
        ):
            self._audit(elector_id, "identity_mismatch", request_id, now)
            return FcOutcome(FcResult.MISMATCH)
        self._audit(elector_id, "identity_matched", request_id, now)

        email = login.userinfo.get("email")
        if not isinstance(email, str) or not email.strip():
            self._audit(elector_id, "email_missing", request_id, now)
            return FcOutcome.refused(Refusal.NO_ADDRESS)

        try:
            issued = self._issuer.issue_link(
                elector_id,
                channel=Channel.EMAIL,
                destination=email,
                method=Method.FRANCECONNECT,
                request_id=request_id,
            )
        except ProfessionalAddressRefused:
            return FcOutcome.refused(Refusal.PROFESSIONAL_ADDRESS)
        except InvalidFields:
            self._audit(elector_id, "email_invalid", request_id, now)
            return FcOutcome.refused(Refusal.NO_ADDRESS)
        except AccountLocked:
            return FcOutcome.refused(Refusal.LOCKED)
        except QuotaExceeded:
            return FcOutcome.refused(Refusal.QUOTA)
        except ElectionClosed:
            self._audit(elector_id, "election_closed", request_id, now)
            return FcOutcome.refused(Refusal.OUT_OF_WINDOW)
        except SendFailed:
            return FcOutcome.refused(Refusal.SEND_FAILED)
        except ReassortError as exc:
            self._audit(elector_id, "error", request_id, now, detail=exc.code.lower())
            return FcOutcome(FcResult.UNAVAILABLE)
        return FcOutcome(FcResult.SENT, masked_destination=issued.masked_destination)

    # -- back from FranceConnect's logout ---------------------------------------------------------
    def logout_return(self, state: str) -> FcOutcome:
        outcome = self.logout_states.verify(state, self._clock.now())
        return outcome or FcOutcome.refused(Refusal.SESSION_EXPIRED)

    # -- helpers ----------------------------------------------------------------------------------
    def _token(self) -> str:
        return encode_token(self._random.token_bytes(STATE_BYTES))

    def _state_id(self, state: str) -> str:
        return link_digest(self._link_key, state)

    def _take_state(self, value: str) -> FcState | None:
        if not is_token_shaped(value):  # our own token_bytes(32), as a link token
            return None
        return self.states.take(self._state_id(value))

    def _audit(
        self, elector_id: str, outcome: str, request_id: str, now: float, detail: str | None = None
    ) -> None:
        self._audit_log.record(
            auditing.audit_event(
                elector_id,
                AUDIT_EVENT,
                outcome,
                request_id,
                now,
                method=Method.FRANCECONNECT.value,
                detail=detail,
            )
        )


def _reason(error: IdentityProviderError | StoreUnavailable | ReassortError) -> str:
    reason = getattr(error, "reason", None) or getattr(error, "code", None)
    return str(reason) if reason else type(error).__name__
