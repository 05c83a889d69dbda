"""The numbers of the service (link lifetime, display time, attempts, quotas, election window)."""

from __future__ import annotations

from dataclasses import dataclass


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
