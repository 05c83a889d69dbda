"""Issuing a link, shared by the challenge and FranceConnect paths: quota, information e-mail, link."""

from __future__ import annotations

from . import auditing, messages
from .destinations import (
    DestinationError,
    is_professional_address,
    mask_email,
    mask_phone,
    normalise_email,
    normalise_mobile,
)
from .electors import known_elector
from .errors import (
    AccountLocked,
    FieldProblem,
    InvalidFields,
    ProfessionalAddressRefused,
    QuotaExceeded,
    SendFailed,
)
from .model import Channel, ElectorRecord, IssuedLink, LinkRecord, Method
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
from .rules import Rules
from .tokens import TOKEN_BYTES, encode_token, link_digest
from .window import check_window

# Each conflict means another request of the elector stored (or revoked) a link, so the quota
# fills within a few rounds: enough attempts for every slot plus revocations in between.
_ISSUE_EXTRA_ATTEMPTS = 3


def normalise_destination(channel: Channel, destination: str) -> str:
    """The address in its one written form; DestinationError when it is not one."""
    if channel is Channel.SMS:
        return normalise_mobile(destination)
    return normalise_email(destination)


class LinkIssuer:
    """Sends a single-use link to an elector whose identity a path has proved."""

    def __init__(
        self,
        *,
        electors: ElectorStore,
        links: LinkStore,
        notifier: Notifier,
        audit: AuditLog,
        clock: Clock,
        random: RandomSource,
        link_key: bytes,
        rules: Rules,
    ) -> None:
        self._electors = electors
        self._links = links
        self._notifier = notifier
        self._audit_log = audit
        self._clock = clock
        self._random = random
        self._link_key = link_key
        self._rules = rules

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
        now = self._clock.now()
        check_window(self._rules, now)
        try:
            address = normalise_destination(channel, destination)
        except DestinationError as exc:
            raise InvalidFields([FieldProblem("destination", exc.code, exc.message)]) from exc
        elector = known_elector(self._electors, elector_id)
        if elector.is_locked(now):
            self._audit(elector_id, method.value, "locked", request_id, now, channel=channel)
            raise AccountLocked(elector.locked_until or now)
        self.refuse_professional_address(elector, channel, address, request_id, now, method)
        return self.issue(elector, channel, address, method, request_id, now)

    def issue(
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
        """Take a quota slot, store the link, send the information e-mail, then the link."""
        self._quota_entries(elector, now, request_id, method)  # refuse before any send
        masked = mask_phone(address) if channel is Channel.SMS else mask_email(address)

        # The quota slot is taken before any send and never given back, whatever fails after:
        # one elector's session can never make the service send more than the daily cap
        # (Rules.max_messages_per_window). The token is known to no one until it is sent.
        token = encode_token(self._random.token_bytes(TOKEN_BYTES))
        link = self._store_link(elector, token, channel, method, request_id, now, reset_failures)

        info = messages.information_email(elector.display_name, channel, method, masked, now)
        try:
            self._notifier.send_email(elector.pro_email, info.subject, info.text, info.html)
        except NotificationError as exc:
            self._links.revoke(link)  # no link is issued without its information e-mail
            self._audit(elector.elector_id, "send", "information_failed", request_id, now, channel="email")
            raise SendFailed() from exc
        self._audit(elector.elector_id, "send", "information_sent", request_id, now, channel="email")

        url = messages.link_url(self._rules.public_base_url, token)
        minutes = self._rules.link_ttl_seconds // 60
        try:
            if channel is Channel.SMS:
                self._notifier.send_sms(address, messages.link_sms(url, minutes))
            else:
                mail = messages.link_email(elector.display_name, url, minutes, self._rules.display_seconds)
                self._notifier.send_email(address, mail.subject, mail.text, mail.html)
        except NotificationError as exc:
            self._links.revoke(link)
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

    def check_quota(self, elector: ElectorRecord, now: float, request_id: str, method: Method) -> None:
        """Refuse (QuotaExceeded, audited) when the elector has no link left in the window."""
        self._quota_entries(elector, now, request_id, method)

    def refuse_professional_address(
        self,
        elector: ElectorRecord,
        channel: Channel,
        address: str,
        request_id: str,
        now: float,
        method: Method,
    ) -> None:
        """Refuse (ProfessionalAddressRefused, audited) a link sent to a professional mailbox."""
        if channel is Channel.EMAIL and is_professional_address(
            address, elector.pro_email, self._rules.professional_domains
        ):
            self._audit(elector.elector_id, method.value, "professional_address", request_id, now)
            raise ProfessionalAddressRefused()

    def _quota_entries(
        self, elector: ElectorRecord, now: float, request_id: str, method: Method
    ) -> dict[str, float]:
        window = self._rules.link_quota_window_seconds
        recent = {k: t for k, t in elector.recent_links.items() if t > now - window}
        if len(recent) >= self._rules.link_quota:
            self._audit(elector.elector_id, method.value, "quota_exceeded", request_id, now)
            raise QuotaExceeded(self._rules.link_quota, int(min(recent.values()) + window - now) + 1)
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
        link_id = link_digest(self._link_key, token)
        current = elector
        for _ in range(self._rules.link_quota + _ISSUE_EXTRA_ATTEMPTS):
            recent = self._quota_entries(current, now, request_id, method)
            link = LinkRecord(
                link_id=link_id,
                elector_id=current.elector_id,
                generation=current.link_generation,
                channel=channel,
                method=method,
                created_at=now,
                expires_at=now + self._rules.link_ttl_seconds,
            )
            recent[link.short_id] = now
            try:
                self._links.issue(
                    link,
                    quota_version=current.quota_version,
                    recent_links=recent,
                    reset_failures=reset_failures,
                )
                return link
            except QuotaConflict:
                # A concurrent request won: read again.
                current = known_elector(self._electors, current.elector_id)
        self._audit(elector.elector_id, "send", "link_store_conflict", request_id, now)
        raise SendFailed()

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
        self._audit_log.record(
            auditing.audit_event(elector_id, event, outcome, request_id, now, channel=channel, method=method)
        )
