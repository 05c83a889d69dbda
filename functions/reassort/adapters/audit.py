"""Audit records go to DynamoDB, a log line and, for what ops watch, a CloudWatch metric."""

from __future__ import annotations

from typing import Any, Protocol

from ..domain.model import AuditEvent

# (event, outcome) -> metric name; "*" matches any event. Alarms in infra/ use these names.
METRIC_NAMES: dict[tuple[str, str], str] = {
    ("challenge", "success"): "ChallengeSucceeded",
    ("challenge", "wrong_credentials"): "WrongCredentials",
    ("lock", "locked"): "AccountLocked",
    ("send", "link_sent"): "LinkSent",
    ("send", "information_failed"): "SendFailed",
    ("send", "link_failed"): "SendFailed",
    ("send", "lock_alert_failed"): "SendFailed",
    ("redeem", "success"): "VoteCodeReissued",
    ("redeem", "lost_race"): "RedeemConflict",
    ("*", "quota_exceeded"): "QuotaExceeded",
    ("franceconnect", "identity_mismatch"): "FcIdentityMismatch",
    ("franceconnect", "error"): "FcError",
}


def metric_name(event: AuditEvent) -> str | None:
    return METRIC_NAMES.get((event.event, event.outcome)) or METRIC_NAMES.get(("*", event.outcome))


class AuditStore(Protocol):
    def record(self, event: AuditEvent) -> None: ...


class ObservedAuditLog:
    """Writes the record, then logs and counts it. Only ids, outcomes and channel kinds."""

    def __init__(self, store: AuditStore, logger: Any, metrics: Any) -> None:
        self.store = store
        self.logger = logger
        self.metrics = metrics

    def record(self, event: AuditEvent) -> None:
        self.store.record(event)
        self.observe(event)

    def observe(self, event: AuditEvent) -> None:
        fields = {
            "audit_event": event.event,
            "outcome": event.outcome,
            "elector_id": event.elector_id,
            "request_id": event.request_id,
        }
        if event.channel:
            fields["channel"] = event.channel
        if event.method:
            fields["method"] = event.method
        self.logger.info("audit", extra=fields)
        name = metric_name(event)
        if name:
            from aws_lambda_powertools.metrics import MetricUnit

            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
