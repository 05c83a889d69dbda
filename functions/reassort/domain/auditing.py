"""One audit record per step of a use case: ids, outcomes and codes only, never personal data."""

from __future__ import annotations

from .model import AuditEvent


def audit_event(
    elector_id: str,
    event: str,
    outcome: str,
    request_id: str,
    now: float,
    *,
    channel: str | None = None,
    method: str | None = None,
    detail: str | None = None,
) -> AuditEvent:
    return AuditEvent(
        elector_id=elector_id,
        event=event,
        outcome=outcome,
        request_id=request_id,
        at=now,
        channel=str(channel) if channel else None,
        method=method,
        detail=detail,
    )
