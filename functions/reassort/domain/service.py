"""The use cases: show the challenge, check it, issue a link, check a link, redeem it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from dataclasses import dataclass

from . import messages
from .codes import generate_vote_code
from .destinations import (
    DestinationError,
    is_professional_address,
    mask_email,
    mask_phone,
    normalise_email,
    normalise_mobile,
)
from .display import open_code, seal_code
from .errors import (
    AccountLocked,
    AttemptsInProgress,
    ChallengeNotSet,
    DisplayOver,
    ElectionClosed,
    ElectorUnknown,
    FieldProblem,
    InvalidFields,
    LinkInvalid,
    ProfessionalAddressRefused,
    QuotaExceeded,
    ReassortError,
    SendFailed,
    WrongCredentials,
)
from .hashing import SecretHasher
from .model import (
    AuditEvent,
    Challenge,
    Channel,
    ElectorRecord,
    IssuedLink,
    LinkCheck,
    LinkRecord,
    Method,
    NewVoteCode,
)
from .normalise import normalise_answer, parse_identifier
from .ports import (
    AuditLog,
    Clock,
    ElectorStore,
    LinkStore,
    NotificationError,
    Notifier,
    QuotaConflict,
    RandomSource,
)

TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# Each conflict means another request of the elector stored (or revoked) a link, so the quota
# fills within a few rounds: enough attempts for every slot plus revocations in between.
_ISSUE_EXTRA_ATTEMPTS = 3


@dataclass(frozen=True)
class Rules:
    public_base_url: str
    link_ttl_seconds: int = 3600
    display_seconds: int = 120
    max_failed_attempts: int = 5
    lock_seconds: int = 1800
    link_quota: int = 5
    link_quota_window_seconds: int = 86400
    # Lock alerts sent per elector in the same window; later locks hold without an e-mail.
    lock_alert_quota: int = 2

    @property
    def max_messages_per_window(self) -> int:
        """The most messages one elector's session can make the service send in the window:
        an information e-mail and a link per quota slot (a slot is never given back), plus the
        lock alerts. Whatever fails, nothing else is ever sent."""
        return 2 * self.link_quota + self.lock_alert_quota

    professional_domains: tuple[str, ...] = ()
    opens_at: float | None = None
    closes_at: float | None = None
    # After the close, a link issued before it can still be redeemed this long (docs/supervision.md).
    close_grace_seconds: int = 1800


def link_digest(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode("ascii"), hashlib.sha256).hexdigest()


def encode_token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def is_token_shaped(token: str) -> bool:
    if not _TOKEN_SHAPE.fullmatch(token):
        return False
    try:
        return len(base64.urlsafe_b64decode(token + "=")) == TOKEN_BYTES
    except (binascii.Error, ValueError):
        return False


class ReassortService:
    def __init__(
        self,
        *,
        electors: ElectorStore,
        links: LinkStore,
        notifier: Notifier,
        audit: AuditLog,
        clock: Clock,
        random: RandomSource,
        hasher: SecretHasher,
        link_key: bytes,
        rules: Rules,
    ) -> None:
        self.electors = electors
        self.links = links
        self.notifier = notifier
        self.audit = audit
        self.clock = clock
        self.random = random
        self.hasher = hasher
        self.link_key = link_key
        self.rules = rules

    # -- challenge path -------------------------------------------------------------------
    def get_challenge(self, elector_id: str) -> Challenge:
        elector = self._elector(elector_id)
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
        now = self.clock.now()
        self.check_window(now)
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
            address = self._normalise_destination(channel, destination)
        except DestinationError as exc:
            problems.append(FieldProblem("destination", exc.code, exc.message))
        if problems:
            self._audit(elector_id, "challenge", "invalid_fields", request_id, now, channel=channel)
            raise InvalidFields(problems)

        elector = self._elector(elector_id)
        if not elector.question or not elector.answer_hash:
            raise ChallengeNotSet()
        if elector.is_locked(now):
            self._audit(elector_id, "challenge", "locked", request_id, now, channel=channel)
            raise AccountLocked(elector.locked_until or now)
        self._refuse_professional_address(elector, channel, address, request_id, now, Method.CHALLENGE)

        attempt = self.electors.reserve_attempt(elector_id, now, self.rules.max_failed_attempts)
        if attempt is None:
            self._refuse_unreserved(elector_id, request_id, now, channel)

        # Both verifications always run, whatever the first one says (no timing oracle).
        answer_ok = self.hasher.verify(elector.answer_hash, normalised_answer)
        stored_identifier = elector.numen_hash if parsed.kind == "numen" else elector.nir_hash
        identifier_ok = self.hasher.verify(stored_identifier, parsed.value)
        if not (answer_ok and identifier_ok):
            self._fail(elector, attempt or 0, request_id, now, channel)

        self._rehash_if_needed(elector, normalised_answer, parsed.kind, parsed.value)
        self._audit(elector_id, "challenge", "success", request_id, now, channel=channel)
        try:
            # The attempt counted above is forgotten with the link's own write.
            return self._issue(
                elector, channel, address, Method.CHALLENGE, request_id, now, reset_failures=True
            )
        except ReassortError:
            # A right answer must not count as a failure when nothing could be sent.
            self.electors.reset_failures(elector_id)
            raise

    def _refuse_unreserved(self, elector_id: str, request_id: str, now: float, channel: Channel) -> None:
        """No attempt left to evaluate: locked meanwhile, or the last ones are being evaluated."""
        current = self._elector(elector_id)
        self._audit(elector_id, "challenge", "locked", request_id, now, channel=channel)
        if current.is_locked(now):
            raise AccountLocked(current.locked_until or now)
        raise AttemptsInProgress()

    def _fail(
        self, elector: ElectorRecord, attempt: int, request_id: str, now: float, channel: Channel
    ) -> None:
        self._audit(elector.elector_id, "challenge", "wrong_credentials", request_id, now, channel=channel)
        remaining = self.rules.max_failed_attempts - attempt
        if remaining > 0:
            raise WrongCredentials(remaining)
        until = now + self.rules.lock_seconds
        if not self.electors.lock(elector.elector_id, now, until, self.rules.max_failed_attempts):
            # Another request locked first and sent the alert.
            current = self._elector(elector.elector_id)
            raise AccountLocked(
                current.locked_until if current.locked_until and current.is_locked(now) else until
            )
        self._audit(elector.elector_id, "lock", "locked", request_id, now)
        self._send_lock_alert(elector, until, request_id, now)
        raise AccountLocked(until)

    def _send_lock_alert(
        self, elector: ElectorRecord, locked_until: float, request_id: str, now: float
    ) -> None:
        window = self.rules.link_quota_window_seconds
        recent = tuple(t for t in elector.lock_alerts if t > now - window)
        if len(recent) >= self.rules.lock_alert_quota:
            # The daily message cap: the lock holds, the elector was already warned today.
            self._audit(elector.elector_id, "send", "lock_alert_capped", request_id, now, channel="email")
            return
        # Counted before sending: a send that fails after SES accepted it still counts.
        self.electors.record_lock_alerts(elector.elector_id, (*recent, now))
        alert = messages.lock_alert_email(elector.display_name, locked_until, self.rules.lock_seconds // 60)
        try:
            self.notifier.send_email(elector.pro_email, alert.subject, alert.text, alert.html)
            self._audit(elector.elector_id, "send", "lock_alert_sent", request_id, now, channel="email")
        except NotificationError:
            # The lock holds regardless; ops see the failed alert in the audit and metrics.
            self._audit(elector.elector_id, "send", "lock_alert_failed", request_id, now, channel="email")

    def _rehash_if_needed(self, elector: ElectorRecord, answer: str, kind: str, identifier: str) -> None:
        updates: dict[str, str] = {}
        if elector.answer_hash and self.hasher.needs_rehash(elector.answer_hash):
            updates["answer_hash"] = self.hasher.hash(answer)
        stored = elector.numen_hash if kind == "numen" else elector.nir_hash
        if stored and self.hasher.needs_rehash(stored):
            updates["numen_hash" if kind == "numen" else "nir_hash"] = self.hasher.hash(identifier)
        if updates:
            self.electors.update_secret_hashes(elector.elector_id, updates)

    # -- issuing a link (shared by the challenge and FranceConnect paths) -------------------
    def issue_link(
        self,
        elector_id: str,
        *,
        channel: Channel,
        destination: str,
        method: Method,
        request_id: str,
    ) -> IssuedLink:
        """For a caller that proved the elector's identity another way (FranceConnect)."""
        now = self.clock.now()
        self.check_window(now)
        try:
            address = self._normalise_destination(channel, destination)
        except DestinationError as exc:
            raise InvalidFields([FieldProblem("destination", exc.code, exc.message)]) from exc
        elector = self._elector(elector_id)
        if elector.is_locked(now):
            self._audit(elector_id, method.value, "locked", request_id, now, channel=channel)
            raise AccountLocked(elector.locked_until or now)
        self._refuse_professional_address(elector, channel, address, request_id, now, method)
        return self._issue(elector, channel, address, method, request_id, now)

    def _issue(
        self,
        elector: ElectorRecord,
        channel: Channel,
        address: str,
        method: Method,
        request_id: str,
        now: float,
        *,
        reset_failures: bool = False,
    ) -> IssuedLink:
        self._quota_entries(elector, now, request_id, method)  # refuse before any send
        masked = mask_phone(address) if channel is Channel.SMS else mask_email(address)

        # The quota slot is taken before any send and never given back, whatever fails after:
        # one elector's session can never make the service send more than the daily cap
        # (Rules.max_messages_per_window). The token is known to no one until it is sent.
        token = encode_token(self.random.token_bytes(TOKEN_BYTES))
        link = self._store_link(elector, token, channel, method, request_id, now, reset_failures)

        info = messages.information_email(elector.display_name, channel, method, masked, now)
        try:
            self.notifier.send_email(elector.pro_email, info.subject, info.text, info.html)
        except NotificationError as exc:
            self.links.revoke(link)  # no link is issued without its information e-mail
            self._audit(elector.elector_id, "send", "information_failed", request_id, now, channel="email")
            raise SendFailed() from exc
        self._audit(elector.elector_id, "send", "information_sent", request_id, now, channel="email")

        url = messages.link_url(self.rules.public_base_url, token)
        minutes = self.rules.link_ttl_seconds // 60
        try:
            if channel is Channel.SMS:
                self.notifier.send_sms(address, messages.link_sms(url, minutes))
            else:
                mail = messages.link_email(elector.display_name, url, minutes, self.rules.display_seconds)
                self.notifier.send_email(address, mail.subject, mail.text, mail.html)
        except NotificationError as exc:
            self.links.revoke(link)
            self._audit(elector.elector_id, "send", "link_failed", request_id, now, channel=channel.value)
            raise SendFailed() from exc
        self._audit(
            elector.elector_id,
            "send",
            "link_sent",
            request_id,
            now,
            channel=channel.value,
            method=method.value,
        )
        return IssuedLink(channel=channel, masked_destination=masked, expires_at=link.expires_at)

    def check_link_quota(self, elector: ElectorRecord, now: float, request_id: str, method: Method) -> None:
        """Refuse (QuotaExceeded, audited) when the elector has no link left in the window."""
        self._quota_entries(elector, now, request_id, method)

    def _quota_entries(
        self, elector: ElectorRecord, now: float, request_id: str, method: Method
    ) -> dict[str, float]:
        window = self.rules.link_quota_window_seconds
        recent = {k: t for k, t in elector.recent_links.items() if t > now - window}
        if len(recent) >= self.rules.link_quota:
            self._audit(elector.elector_id, method.value, "quota_exceeded", request_id, now)
            raise QuotaExceeded(self.rules.link_quota, int(min(recent.values()) + window - now) + 1)
        return recent

    def _store_link(
        self,
        elector: ElectorRecord,
        token: str,
        channel: Channel,
        method: Method,
        request_id: str,
        now: float,
        reset_failures: bool,
    ) -> LinkRecord:
        link_id = link_digest(self.link_key, token)
        current = elector
        for _ in range(self.rules.link_quota + _ISSUE_EXTRA_ATTEMPTS):
            recent = self._quota_entries(current, now, request_id, method)
            link = LinkRecord(
                link_id=link_id,
                elector_id=current.elector_id,
                generation=current.link_generation,
                channel=channel,
                method=method,
                created_at=now,
                expires_at=now + self.rules.link_ttl_seconds,
            )
            recent[link.short_id] = now
            try:
                self.links.issue(
                    link,
                    quota_version=current.quota_version,
                    recent_links=recent,
                    reset_failures=reset_failures,
                )
                return link
            except QuotaConflict:
                current = self._elector(current.elector_id)  # a concurrent request won: read again
        self._audit(elector.elector_id, "send", "link_store_conflict", request_id, now)
        raise SendFailed()

    # -- the link page ----------------------------------------------------------------------
    def check_link(self, token: str, request_id: str) -> LinkCheck:
        """Whether the link can be redeemed, or has been and still shows its code (never the code)."""
        now = self.clock.now()
        link = self._link_in_window(token, now)
        if link.used_at is not None:
            remaining = self._display_remaining(link, now)
            self._audit(link.elector_id, "link_check", "shown", request_id, now, method=link.method.value)
            return LinkCheck(display_seconds=remaining, redeemed=True)
        self._audit(link.elector_id, "link_check", "valid", request_id, now, method=link.method.value)
        return LinkCheck(display_seconds=self.rules.display_seconds, redeemed=False)

    def redeem_link(self, token: str, request_id: str) -> NewVoteCode:
        """Replace the vote code once; within the display window the same link shows it again."""
        now = self.clock.now()
        link = self._link_in_window(token, now)
        if link.used_at is not None:
            return self._show_again(link, token, now, request_id)
        code = generate_vote_code(self.random)
        shown_until = now + self.rules.display_seconds
        sealed = seal_code(code, token, link.link_id, self.random)
        if not self.links.redeem(
            link, self.hasher.hash(code), now, sealed_code=sealed, shown_until=shown_until
        ):
            current = self.links.get(link.link_id)
            if current is not None and current.used_at is not None:
                # The same link won a concurrent call (a retried request): show the code it set.
                return self._show_again(current, token, now, request_id)
            self._audit(link.elector_id, "redeem", "lost_race", request_id, now)
            raise LinkInvalid()
        self._audit(link.elector_id, "redeem", "success", request_id, now, method=link.method.value)
        return NewVoteCode(vote_code=code, display_seconds=self.rules.display_seconds)

    def _link_in_window(self, token: str, now: float) -> LinkRecord:
        """During the vote, the link as it stands (usable, or redeemed and still on display).
        After the close and for `close_grace_seconds`, only a link issued before the close: an
        elector authenticated on the voting system before the close may still finish voting, and
        may need the code that link gives."""
        closes = self.rules.closes_at
        if closes is not None and closes <= now < closes + self.rules.close_grace_seconds:
            link = self._link_as_it_stands(token, now)
            if link.created_at < closes:
                return link
        self.check_window(now)
        return self._link_as_it_stands(token, now)

    def _show_again(self, link: LinkRecord, token: str, now: float, request_id: str) -> NewVoteCode:
        remaining = self._display_remaining(link, now)
        code = open_code(link.sealed_code or "", token, link.link_id)
        if code is None:
            raise LinkInvalid()
        self._audit(link.elector_id, "redeem", "shown_again", request_id, now, method=link.method.value)
        return NewVoteCode(vote_code=code, display_seconds=remaining, shown_before=True)

    def _display_remaining(self, link: LinkRecord, now: float) -> int:
        """Seconds left to show a redeemed link's code; DisplayOver after the window, LinkInvalid
        when a later redemption replaced that code."""
        if link.sealed_code is None or link.shown_until is None or now >= link.shown_until:
            raise DisplayOver()
        elector = self.electors.get(link.elector_id)
        if elector is None or elector.link_generation != link.generation + 1:
            raise LinkInvalid()
        return max(1, math.ceil(link.shown_until - now))

    def _link_as_it_stands(self, token: str, now: float) -> LinkRecord:
        """The link, either redeemed or still usable (LinkInvalid otherwise)."""
        link = self._known_link(token)
        if link.used_at is None:
            try:
                self._usable(link, now)
            except LinkInvalid:
                # A concurrent call for this same link may have redeemed it between our two reads.
                link = self._known_link(token)
                if link.used_at is None:
                    raise
        return link

    def _known_link(self, token: str) -> LinkRecord:
        if not is_token_shaped(token):
            raise LinkInvalid()
        link = self.links.get(link_digest(self.link_key, token))
        if link is None:
            raise LinkInvalid()
        return link

    def _usable(self, link: LinkRecord, now: float) -> None:
        if now >= link.expires_at:
            raise LinkInvalid()
        elector = self.electors.get(link.elector_id)
        if elector is None or not link.is_usable(now, elector.link_generation):
            raise LinkInvalid()

    # -- shared checks ------------------------------------------------------------------------
    def _elector(self, elector_id: str) -> ElectorRecord:
        elector = self.electors.get(elector_id)
        if elector is None:
            raise ElectorUnknown()
        return elector

    def check_window(self, now: float) -> None:
        """Raise ElectionClosed outside the election window (shared by every path that sends)."""
        opens, closes = self.rules.opens_at, self.rules.closes_at
        if (opens is not None and now < opens) or (closes is not None and now >= closes):
            raise ElectionClosed(opens, closes)

    def _normalise_destination(self, channel: Channel, destination: str) -> str:
        if channel is Channel.SMS:
            return normalise_mobile(destination)
        return normalise_email(destination)

    def _refuse_professional_address(
        self,
        elector: ElectorRecord,
        channel: Channel,
        address: str,
        request_id: str,
        now: float,
        method: Method,
    ) -> None:
        if channel is Channel.EMAIL and is_professional_address(
            address, elector.pro_email, self.rules.professional_domains
        ):
            self._audit(elector.elector_id, method.value, "professional_address", request_id, now)
            raise ProfessionalAddressRefused()

    def _audit(
        self,
        elector_id: str,
        event: str,
        outcome: str,
        request_id: str,
        now: float,
        *,
        channel: str | None = None,
        method: str | None = None,
    ) -> None:
        self.audit.record(
            AuditEvent(
                elector_id=elector_id,
                event=event,
                outcome=outcome,
                request_id=request_id,
                at=now,
                channel=str(channel) if channel else None,
                method=method,
            )
        )
