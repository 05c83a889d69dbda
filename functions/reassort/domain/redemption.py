"""The link page: check a link without consuming it, redeem it once for a new vote code."""

from __future__ import annotations

import math

from . import auditing
from .codes import generate_vote_code
from .display import open_code, seal_code
from .errors import DisplayOver, LinkInvalid
from .model import LinkCheck, LinkRecord, NewVoteCode
from .ports import AuditLog, Clock, ElectorStore, LinkStore, RandomSource, SecretHasher
from .rules import Rules
from .tokens import is_token_shaped, link_digest
from .window import check_window


class LinkRedemption:
    """The link use cases: ``check_link`` and ``redeem_link``."""

    def __init__(
        self,
        *,
        electors: ElectorStore,
        links: LinkStore,
        audit: AuditLog,
        clock: Clock,
        random: RandomSource,
        hasher: SecretHasher,
        link_key: bytes,
        rules: Rules,
    ) -> None:
        self._electors = electors
        self._links = links
        self._audit_log = audit
        self._clock = clock
        self._random = random
        self._hasher = hasher
        self._link_key = link_key
        self._rules = rules

    def check_link(self, token: str, request_id: str) -> LinkCheck:
        """Whether the link can be redeemed, or has been and still shows its code (never the code)."""
        now = self._clock.now()
        link = self._link_in_window(token, now)
        if link.used_at is not None:
            remaining = self._display_remaining(link, now)
            self._audit(link.elector_id, "link_check", "shown", request_id, now, method=link.method.value)
            return LinkCheck(display_seconds=remaining, redeemed=True)
        self._audit(link.elector_id, "link_check", "valid", request_id, now, method=link.method.value)
        return LinkCheck(display_seconds=self._rules.display_seconds, redeemed=False)

    def redeem_link(self, token: str, request_id: str) -> NewVoteCode:
        """Replace the vote code once; within the display window the same link shows it again."""
        now = self._clock.now()
        link = self._link_in_window(token, now)
        if link.used_at is not None:
            return self._show_again(link, token, now, request_id)
        code = generate_vote_code(self._random)
        shown_until = now + self._rules.display_seconds
        sealed = seal_code(code, token, link.link_id, self._random)
        success = auditing.audit_event(
            link.elector_id, "redeem", "success", request_id, now, method=link.method.value
        )
        # The success record is written in the redemption's own transaction (one call less).
        if not self._links.redeem(
            link, self._hasher.hash(code), now, sealed_code=sealed, shown_until=shown_until, record=success
        ):
            current = self._links.get(link.link_id)
            if current is not None and current.used_at is not None:
                # The same link won a concurrent call (a retried request): show the code it set.
                return self._show_again(current, token, now, request_id)
            self._audit(link.elector_id, "redeem", "lost_race", request_id, now)
            raise LinkInvalid()
        self._audit_log.observe(success)
        return NewVoteCode(vote_code=code, display_seconds=self._rules.display_seconds)

    def _link_in_window(self, token: str, now: float) -> LinkRecord:
        """During the vote, the link as it stands (usable, or redeemed and still on display).
        After the close and for `close_grace_seconds`, only a link issued before the close: an
        elector authenticated on the voting system before the close may still finish voting, and
        may need the code that link gives."""
        closes = self._rules.closes_at
        if closes is not None and closes <= now < closes + self._rules.close_grace_seconds:
            link = self._link_as_it_stands(token, now)
            if link.created_at < closes:
                return link
        check_window(self._rules, now)
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
        elector = self._electors.get(link.elector_id)
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
        link = self._links.get(link_digest(self._link_key, token))
        if link is None:
            raise LinkInvalid()
        return link

    def _usable(self, link: LinkRecord, now: float) -> None:
        if now >= link.expires_at:
            raise LinkInvalid()
        elector = self._electors.get(link.elector_id)
        if elector is None or not link.is_usable(now, elector.link_generation):
            raise LinkInvalid()

    def _audit(
        self,
        elector_id: str,
        event: str,
        outcome: str,
        request_id: str,
        now: float,
        *,
        method: str | None = None,
    ) -> None:
        self._audit_log.record(
            auditing.audit_event(elector_id, event, outcome, request_id, now, method=method)
        )
