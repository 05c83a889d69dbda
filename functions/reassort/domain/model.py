"""Plain data of the domain: no boto3, no Lambda types."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Method(StrEnum):
    CHALLENGE = "challenge"
    FRANCECONNECT = "franceconnect"


@dataclass(frozen=True)
class ElectorRecord:
    """One elector of the roll. Secrets are argon2 hashes; the civil identity is a keyed digest."""

    elector_id: str
    display_name: str
    pro_email: str
    question: str | None
    answer_hash: str | None
    numen_hash: str | None
    nir_hash: str | None
    vote_code_hash: str | None
    identity_digest: str | None = None
    failed_attempts: int = 0
    locked_until: float | None = None
    link_generation: int = 0
    # short link id -> issue time (epoch seconds): the links counted by the quota
    recent_links: dict[str, float] = field(default_factory=dict)
    quota_version: int = 0
    # times (epoch seconds) of the lock alerts sent: counted by the daily message cap
    lock_alerts: tuple[float, ...] = ()

    def is_locked(self, now: float) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class LinkRecord:
    link_id: str  # hex HMAC-SHA256 of the token: the token itself is never stored
    elector_id: str
    generation: int
    channel: Channel
    method: Method
    created_at: float
    expires_at: float
    used_at: float | None = None
    # Set by the redemption: the new code sealed for the token holder, readable until shown_until.
    sealed_code: str | None = None
    shown_until: float | None = None

    @property
    def short_id(self) -> str:
        return self.link_id[:16]

    def is_usable(self, now: float, elector_generation: int) -> bool:
        return self.used_at is None and now < self.expires_at and self.generation == elector_generation


@dataclass(frozen=True)
class Challenge:
    display_name: str
    question: str
    channels: tuple[Channel, ...]
    # FranceConnect can prove who the elector is only when the roll holds their civil identity.
    franceconnect: bool = False


@dataclass(frozen=True)
class IssuedLink:
    channel: Channel
    masked_destination: str
    expires_at: float


@dataclass(frozen=True)
class LinkCheck:
    display_seconds: int  # the display time, or what remains of it once redeemed
    redeemed: bool


@dataclass(frozen=True)
class NewVoteCode:
    vote_code: str
    display_seconds: int  # the time left on screen: the whole window, or what remains of it
    shown_before: bool = False  # True when this link already showed this code


@dataclass(frozen=True)
class FcState:
    state_id: str  # hex HMAC of the state value
    elector_id: str
    nonce: str
    expires_at: float


@dataclass(frozen=True)
class AuditEvent:
    """What happened, to whom, never how to reach them nor any secret."""

    elector_id: str
    event: str
    outcome: str
    request_id: str
    at: float
    channel: str | None = None
    method: str | None = None
    detail: str | None = None
