"""The challenge path: show the elector's question, check the answer and identifier, send a link."""

from __future__ import annotations

from . import auditing, messages
from .destinations import DestinationError
from .electors import known_elector
from .errors import (
    AccountLocked,
    AttemptsInProgress,
    ChallengeNotSet,
    FieldProblem,
    InvalidFields,
    ReassortError,
    WrongCredentials,
)
from .issuing import LinkIssuer, normalise_destination
from .model import Challenge, Channel, ElectorRecord, IssuedLink, Method
from .normalise import normalise_answer, parse_identifier
from .ports import AuditLog, Clock, ElectorStore, NotificationError, Notifier, SecretHasher
from .rules import Rules
from .window import check_window


class ChallengeRequests:
    """The challenge use cases: ``get_challenge`` and ``request_by_challenge``."""

    def __init__(
        self,
        *,
        electors: ElectorStore,
        notifier: Notifier,
        audit: AuditLog,
        clock: Clock,
        hasher: SecretHasher,
        issuer: LinkIssuer,
        rules: Rules,
    ) -> None:
        self._electors = electors
        self._notifier = notifier
        self._audit_log = audit
        self._clock = clock
        self._hasher = hasher
        self._issuer = issuer
        self._rules = rules

    @property
    def link_valid_minutes(self) -> int:
        """How long a link sent by this path stays valid, as the elector is told."""
        return self._rules.link_ttl_seconds // 60

    def get_challenge(self, elector_id: str) -> Challenge:
        elector = known_elector(self._electors, elector_id)
        if not elector.question or not elector.answer_hash:
            raise ChallengeNotSet()
        return Challenge(
            display_name=elector.display_name,
            question=elector.question,
            channels=(Channel.EMAIL, Channel.SMS),
            franceconnect=bool(elector.identity_digest),
        )

    def request_by_challenge(
        self,
        elector_id: str,
        *,
        answer: str,
        identifier: str,
        channel: Channel,
        destination: str,
        request_id: str,
    ) -> IssuedLink:
        now = self._clock.now()
        check_window(self._rules, now)
        problems: list[FieldProblem] = []
        normalised_answer = normalise_answer(answer)
        if not normalised_answer:
            problems.append(
                FieldProblem("answer", "REQUIRED", "Saisissez la réponse secrète à votre question Défi.")
            )
        try:
            parsed = parse_identifier(identifier)
        except ValueError:
            problems.append(
                FieldProblem(
                    "identifier",
                    "IDENTIFIER_FORMAT",
                    "Saisissez votre NUMEN (13 caractères) ou les 10 premiers chiffres de votre "
                    "numéro de sécurité sociale.",
                )
            )
        try:
            address = normalise_destination(channel, destination)
        except DestinationError as exc:
            problems.append(FieldProblem("destination", exc.code, exc.message))
        if problems:
            self._audit(elector_id, "challenge", "invalid_fields", request_id, now, channel=channel)
            raise InvalidFields(problems)

        elector = known_elector(self._electors, elector_id)
        if not elector.question or not elector.answer_hash:
            raise ChallengeNotSet()
        if elector.is_locked(now):
            self._audit(elector_id, "challenge", "locked", request_id, now, channel=channel)
            raise AccountLocked(elector.locked_until or now)
        self._issuer.refuse_professional_address(elector, channel, address, request_id, now, Method.CHALLENGE)

        attempt = self._electors.reserve_attempt(elector_id, now, self._rules.max_failed_attempts)
        if attempt is None:
            self._refuse_unreserved(elector_id, request_id, now, channel)

        # Both verifications always run, whatever the first one says (no timing oracle).
        answer_ok = self._hasher.verify(elector.answer_hash, normalised_answer)
        stored_identifier = elector.numen_hash if parsed.kind == "numen" else elector.nir_hash
        identifier_ok = self._hasher.verify(stored_identifier, parsed.value)
        if not (answer_ok and identifier_ok):
            self._fail(elector, attempt or 0, request_id, now, channel)

        self._rehash_if_needed(elector, normalised_answer, parsed.kind, parsed.value)
        self._audit(elector_id, "challenge", "success", request_id, now, channel=channel)
        try:
            # The attempt counted above is forgotten with the link's own write.
            return self._issuer.issue(
                elector, channel, address, Method.CHALLENGE, request_id, now, reset_failures=True
            )
        except ReassortError:
            # A right answer must not count as a failure when nothing could be sent.
            self._electors.reset_failures(elector_id)
            raise

    def _refuse_unreserved(self, elector_id: str, request_id: str, now: float, channel: Channel) -> None:
        """No attempt left to evaluate: locked meanwhile, or the last ones are being evaluated."""
        current = known_elector(self._electors, elector_id)
        self._audit(elector_id, "challenge", "locked", request_id, now, channel=channel)
        if current.is_locked(now):
            raise AccountLocked(current.locked_until or now)
        raise AttemptsInProgress()

    def _fail(
        self, elector: ElectorRecord, attempt: int, request_id: str, now: float, channel: Channel
    ) -> None:
        self._audit(elector.elector_id, "challenge", "wrong_credentials", request_id, now, channel=channel)
        remaining = self._rules.max_failed_attempts - attempt
        if remaining > 0:
            raise WrongCredentials(remaining)
        until = now + self._rules.lock_seconds
        if not self._electors.lock(elector.elector_id, now, until, self._rules.max_failed_attempts):
            # Another request locked first and sent the alert.
            current = known_elector(self._electors, elector.elector_id)
            raise AccountLocked(
                current.locked_until if current.locked_until and current.is_locked(now) else until
            )
        self._audit(elector.elector_id, "lock", "locked", request_id, now)
        self._send_lock_alert(elector, until, request_id, now)
        raise AccountLocked(until)

    def _send_lock_alert(
        self, elector: ElectorRecord, locked_until: float, request_id: str, now: float
    ) -> None:
        window = self._rules.link_quota_window_seconds
        recent = tuple(t for t in elector.lock_alerts if t > now - window)
        if len(recent) >= self._rules.lock_alert_quota:
            # The daily message cap: the lock holds, the elector was already warned today.
            self._audit(elector.elector_id, "send", "lock_alert_capped", request_id, now, channel="email")
            return
        # Counted before sending: a send that fails after SES accepted it still counts.
        self._electors.record_lock_alerts(elector.elector_id, (*recent, now))
        alert = messages.lock_alert_email(elector.display_name, locked_until, self._rules.lock_seconds // 60)
        try:
            self._notifier.send_email(elector.pro_email, alert.subject, alert.text, alert.html)
            self._audit(elector.elector_id, "send", "lock_alert_sent", request_id, now, channel="email")
        except NotificationError:
            # The lock holds regardless; ops see the failed alert in the audit and metrics.
            self._audit(elector.elector_id, "send", "lock_alert_failed", request_id, now, channel="email")

    def _rehash_if_needed(self, elector: ElectorRecord, answer: str, kind: str, identifier: str) -> None:
        updates: dict[str, str] = {}
        if elector.answer_hash and self._hasher.needs_rehash(elector.answer_hash):
            updates["answer_hash"] = self._hasher.hash(answer)
        stored = elector.numen_hash if kind == "numen" else elector.nir_hash
        if stored and self._hasher.needs_rehash(stored):
            updates["numen_hash" if kind == "numen" else "nir_hash"] = self._hasher.hash(identifier)
        if updates:
            self._electors.update_secret_hashes(elector.elector_id, updates)

    def _audit(
        self,
        elector_id: str,
        event: str,
        outcome: str,
        request_id: str,
        now: float,
        *,
        channel: str | None = None,
    ) -> None:
        self._audit_log.record(
            auditing.audit_event(elector_id, event, outcome, request_id, now, channel=channel)
        )
