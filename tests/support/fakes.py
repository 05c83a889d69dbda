"""In-memory adapters with the same semantics as the DynamoDB ones (conditions included)."""

from __future__ import annotations

import threading
from dataclasses import replace

from reassort.domain.model import AuditEvent, ElectorRecord, FcState, LinkRecord
from reassort.domain.ports import NotificationError, QuotaConflict


class FakeElectors:
    def __init__(self) -> None:
        self.items: dict[str, ElectorRecord] = {}
        self.mutex = threading.Lock()

    def get(self, elector_id: str) -> ElectorRecord | None:
        return self.items.get(elector_id)

    def put_roll_record(self, record: ElectorRecord) -> None:
        self.items[record.elector_id] = record

    def reserve_attempt(self, elector_id: str, now: float, max_attempts: int) -> int | None:
        with self.mutex:
            current = self.items[elector_id]
            if current.failed_attempts >= max_attempts or current.is_locked(now):
                return None
            self.items[elector_id] = replace(current, failed_attempts=current.failed_attempts + 1)
            return current.failed_attempts + 1

    def lock(self, elector_id: str, now: float, until: float, max_attempts: int) -> bool:
        with self.mutex:
            current = self.items[elector_id]
            if current.failed_attempts < max_attempts or current.is_locked(now):
                return False
            self.items[elector_id] = replace(current, failed_attempts=0, locked_until=until)
            return True

    def reset_failures(self, elector_id: str) -> None:
        self.items[elector_id] = replace(self.items[elector_id], failed_attempts=0)

    def record_lock_alerts(self, elector_id: str, sent_at: tuple[float, ...]) -> None:
        self.items[elector_id] = replace(self.items[elector_id], lock_alerts=tuple(sent_at))

    def update_secret_hashes(self, elector_id: str, hashes: dict[str, str]) -> None:
        self.items[elector_id] = replace(self.items[elector_id], **hashes)  # type: ignore[arg-type]


class FakeLinks:
    def __init__(self, electors: FakeElectors) -> None:
        self.electors = electors
        self.items: dict[str, LinkRecord] = {}
        self.records: list[AuditEvent] = []  # audit records written with a redemption

    def get(self, link_id: str) -> LinkRecord | None:
        return self.items.get(link_id)

    def issue(
        self,
        link: LinkRecord,
        *,
        quota_version: int,
        recent_links: dict[str, float],
        reset_failures: bool = False,
    ) -> None:
        with self.electors.mutex:
            elector = self.electors.items[link.elector_id]
            if (
                link.link_id in self.items
                or elector.quota_version != quota_version
                or elector.link_generation != link.generation
            ):
                raise QuotaConflict()
            self.items[link.link_id] = link
            self.electors.items[link.elector_id] = replace(
                elector,
                recent_links=dict(recent_links),
                quota_version=quota_version + 1,
                failed_attempts=0 if reset_failures else elector.failed_attempts,
            )

    def revoke(self, link: LinkRecord) -> None:
        with self.electors.mutex:
            # The quota slot stays taken: messages may already have gone out.
            self.items.pop(link.link_id, None)

    def redeem(
        self,
        link: LinkRecord,
        new_vote_code_hash: str,
        now: float,
        *,
        sealed_code: str,
        shown_until: float,
        record: AuditEvent,
    ) -> bool:
        with self.electors.mutex:
            stored = self.items.get(link.link_id)
            elector = self.electors.items[link.elector_id]
            if stored is None or stored.used_at is not None or stored.expires_at <= now:
                return False
            if elector.link_generation != link.generation:
                return False
            self.items[link.link_id] = replace(
                stored, used_at=now, sealed_code=sealed_code, shown_until=shown_until
            )
            self.electors.items[link.elector_id] = replace(
                elector,
                vote_code_hash=new_vote_code_hash,
                link_generation=link.generation + 1,
                quota_version=elector.quota_version + 1,
            )
            self.records.append(record)
            return True


class FakeFcStates:
    def __init__(self) -> None:
        self.items: dict[str, FcState] = {}

    def save(self, state: FcState) -> None:
        self.items[state.state_id] = state

    def take(self, state_id: str) -> FcState | None:
        return self.items.pop(state_id, None)


class FakeNotifier:
    """Records what was sent; `fail_on` makes the n-th send (1-based) fail."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # (kind, to, subject or text)
        self.bodies: list[str] = []
        self.fail_on: set[int] = set()
        self.attempts = 0

    def _attempt(self) -> None:
        self.attempts += 1
        if self.attempts in self.fail_on:
            raise NotificationError("Throttling")

    def send_email(self, to: str, subject: str, text: str, html: str) -> None:
        self._attempt()
        self.sent.append(("email", to, subject))
        self.bodies.append(text)

    def send_sms(self, to_e164: str, text: str) -> None:
        self._attempt()
        self.sent.append(("sms", to_e164, text))
        self.bodies.append(text)


class FakeAudit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    def observe(self, event: AuditEvent) -> None:
        """A record its link store wrote: it reaches the trail as a recorded one would."""
        self.events.append(event)

    def outcomes(self) -> list[tuple[str, str]]:
        return [(e.event, e.outcome) for e in self.events]


class FakeClock:
    def __init__(self, now: float = 1_796_000_000.0) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


class CountingRandom:
    """Deterministic randomness: token bytes from a counter, choices cycling through the alphabet."""

    def __init__(self) -> None:
        self.counter = 0

    def token_bytes(self, n: int) -> bytes:
        self.counter += 1
        return self.counter.to_bytes(n, "big")

    def choice(self, seq: str) -> str:
        self.counter += 1
        return seq[(self.counter * 7) % len(seq)]
