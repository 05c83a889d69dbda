"""Figures for the electoral office: counts per hour and per day (Europe/Paris), from the audit
records. Counts only: no elector id leaves this module."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from .records import Item, plain, record_time_ms

PARIS = ZoneInfo("Europe/Paris")

# FranceConnect outcomes that are steps of a journey, not refusals.
FC_STEPS = {"login_started", "identity_matched"}
FC_EVENT = "franceconnect"

# (label, French title), in the order of the report.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("answers_right", "Réponses justes"),
    ("answers_wrong", "Réponses fausses"),
    ("locks", "Comptes bloqués"),
    ("links_email_challenge", "Liens par e-mail (question)"),
    ("links_sms_challenge", "Liens par SMS (question)"),
    ("links_email_franceconnect", "Liens par e-mail (FranceConnect)"),
    ("redemptions", "Codes régénérés"),
    ("send_failures", "Envois échoués"),
    ("fc_refusals", "Refus FranceConnect"),
)


def classify(record: dict[str, str]) -> list[str]:
    """The columns one audit record counts in."""
    event, outcome = record.get("event", ""), record.get("outcome", "")
    if event == "challenge" and outcome == "success":
        return ["answers_right"]
    if event == "challenge" and outcome == "wrong_credentials":
        return ["answers_wrong"]
    if event == "lock" and outcome == "locked":
        return ["locks"]
    if event == "send" and outcome == "link_sent":
        channel = record.get("channel", "email")
        method = record.get("method", "challenge")
        return [f"links_{channel}_{method}"]
    if event == "send" and outcome.endswith("_failed"):
        return ["send_failures"]
    if event == "redeem" and outcome == "success":
        return ["redemptions"]
    if event == FC_EVENT and outcome not in FC_STEPS:
        return ["fc_refusals"]
    return []


def fc_reason(record: dict[str, str]) -> str:
    outcome = record.get("outcome", "")
    detail = record.get("detail")
    return f"{outcome}:{detail}" if detail else outcome


@dataclass
class Figures:
    by_hour: dict[str, dict[str, int]] = field(default_factory=dict)
    by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    fc_refusals_by_reason: dict[str, int] = field(default_factory=dict)
    redemptions_after_close: int = 0
    records: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "columns": [{"name": name, "title": title} for name, title in COLUMNS],
            "by_hour": self.by_hour,
            "by_day": self.by_day,
            "totals": self.totals,
            "fc_refusals_by_reason": self.fc_refusals_by_reason,
            "redemptions_after_close": self.redemptions_after_close,
            "records": self.records,
        }


def _zero() -> dict[str, int]:
    return {name: 0 for name, _ in COLUMNS}


def compute(items: Iterable[Item], closes_at: float | None = None) -> Figures:
    figures = Figures(totals=_zero())
    for item in items:
        try:
            at_ms = record_time_ms(item)
        except ValueError:
            continue
        record = plain(item)
        figures.records += 1
        local = datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(PARIS)
        hour = local.strftime("%Y-%m-%d %H:00")
        day = local.strftime("%Y-%m-%d")
        for column in classify(record):
            if column not in figures.totals:
                continue
            for bucket, key in ((figures.by_hour, hour), (figures.by_day, day)):
                bucket.setdefault(key, _zero())[column] += 1
            figures.totals[column] += 1
            if column == "fc_refusals":
                reason = fc_reason(record)
                figures.fc_refusals_by_reason[reason] = figures.fc_refusals_by_reason.get(reason, 0) + 1
            if column == "redemptions" and closes_at is not None and at_ms >= closes_at * 1000:
                figures.redemptions_after_close += 1
    figures.by_hour = dict(sorted(figures.by_hour.items()))
    figures.by_day = dict(sorted(figures.by_day.items()))
    figures.fc_refusals_by_reason = dict(sorted(figures.fc_refusals_by_reason.items()))
    return figures


def to_text(figures: Figures, period: str = "day") -> str:
    rows = figures.by_day if period == "day" else figures.by_hour
    titles = [title for _, title in COLUMNS]
    lines = ["période | " + " | ".join(titles)]
    for key, counts in rows.items():
        lines.append(key + " | " + " | ".join(str(counts[name]) for name, _ in COLUMNS))
    lines.append("total | " + " | ".join(str(figures.totals[name]) for name, _ in COLUMNS))
    if figures.fc_refusals_by_reason:
        lines.append("")
        lines.append("Refus FranceConnect par motif :")
        lines += [f"  {reason} : {count}" for reason, count in figures.fc_refusals_by_reason.items()]
    if figures.redemptions_after_close:
        lines.append(f"Codes régénérés après la clôture (délai de grâce) : {figures.redemptions_after_close}")
    return "\n".join(lines)
