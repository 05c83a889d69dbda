"""The domain's view of the outside world. Adapters implement these; tests use fakes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .model import AuditEvent, ElectorRecord, FcState, LinkRecord


class QuotaConflict(Exception):
    """The elector's quota or link generation changed between read and write: read again."""


class NotificationError(Exception):
    """A message could not be handed to the sending service."""


class StoreUnavailable(Exception):
    """A store could not be read or written. ``reason`` is a stable, log-safe code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IdentityProviderError(Exception):
    """The identity provider refused the login or its answer failed verification.

    ``reason`` is a stable, log-safe code (never a claim, token or code).
    """

    reason = "provider_error"


class IdentityProviderUnavailable(IdentityProviderError):
    """The identity provider could not be reached or answered with a server error."""

    reason = "unavailable"


class ElectorStore(Protocol):
    def get(self, elector_id: str) -> ElectorRecord | None: ...

    def reserve_attempt(self, elector_id: str, now: float, max_attempts: int) -> int | None:
        """Count one more evaluated attempt before it is evaluated, atomically.

        Returns the attempt's number (1 … max_attempts), or None when the elector is locked or
        every attempt is already taken (by this request's concurrent siblings).
        """
        ...

    def lock(self, elector_id: str, now: float, until: float, max_attempts: int) -> bool:
        """Lock the elector until ``until`` if the attempts are used up and no lock holds yet.

        Returns True only for the call that set the lock (so the alert goes out once).
        """
        ...

    def reset_failures(self, elector_id: str) -> None: ...

    def record_lock_alerts(self, elector_id: str, sent_at: tuple[float, ...]) -> None:
        """Replace the times of the lock alerts still counted by the daily message cap."""
        ...

    def update_secret_hashes(self, elector_id: str, hashes: dict[str, str]) -> None: ...


class LinkStore(Protocol):
    def get(self, link_id: str) -> LinkRecord | None: ...

    def issue(
        self,
        link: LinkRecord,
        *,
        quota_version: int,
        recent_links: dict[str, float],
        reset_failures: bool = False,
    ) -> None:
        """Store the link and the elector's new quota entries in one atomic step (and, after a
        right answer, forget the elector's failed attempts in the same step).

        Raises QuotaConflict when the elector's quota_version or link_generation moved.
        """
        ...

    def revoke(self, link: LinkRecord) -> None:
        """Remove a link that could not be sent. Its quota entry stays: messages may have gone."""
        ...

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
        """Atomically mark the link used, keep the sealed code on it until ``shown_until`` (also the
        item's lifetime), replace the vote-code hash, bump the generation and store ``record``
        in the audit trail: a new code exists if and only if its audit record does.

        Returns False when another redemption won or the link is no longer valid.
        """
        ...


class FcStateStore(Protocol):
    def save(self, state: FcState) -> None:
        """Raises StoreUnavailable when the state cannot be stored."""
        ...

    def take(self, state_id: str) -> FcState | None:
        """Delete and return the state: a state can be consumed once."""
        ...


class ProviderLogin(Protocol):
    """A verified login. ``userinfo`` holds personal data: use it in memory only."""

    @property
    def id_token(self) -> str: ...

    @property
    def userinfo(self) -> Mapping[str, Any]: ...


class IdentityProvider(Protocol):
    """An OpenID Connect provider (FranceConnect). Failures raise IdentityProviderError."""

    @property
    def issuer(self) -> str:
        """The provider's issuer, as the authorization response's ``iss`` must name it (RFC 9207)."""
        ...

    def authorize_url(self, state: str, nonce: str) -> str: ...

    def complete_login(self, code: str, nonce: str) -> ProviderLogin:
        """Exchange the code, verify the ID token (nonce included) and the userinfo."""
        ...

    def logout_url(self, id_token_hint: str, state: str) -> str: ...


class Notifier(Protocol):
    def send_email(self, to: str, subject: str, text: str, html: str) -> None: ...

    def send_sms(self, to_e164: str, text: str) -> None: ...


class AuditLog(Protocol):
    def record(self, event: AuditEvent) -> None: ...

    def observe(self, event: AuditEvent) -> None:
        """Log and count a record another store already wrote (inside its own transaction)."""
        ...


class Clock(Protocol):
    def now(self) -> float: ...


class RandomSource(Protocol):
    def token_bytes(self, n: int) -> bytes: ...

    def choice(self, seq: str) -> str: ...


class SecretHasher(Protocol):
    """A slow, salted hash of answers, identifiers and vote codes."""

    def hash(self, secret: str) -> str: ...

    def verify(self, stored_hash: str | None, secret: str) -> bool:
        """True when the secret matches; a missing hash costs one verification all the same."""
        ...

    def needs_rehash(self, stored_hash: str) -> bool: ...
