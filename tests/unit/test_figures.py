"""The bureau's figures: counts per hour and per day (Paris time), never an identifier."""

from __future__ import annotations

import json

from reassort.journal.figures import compute, to_text
from tests.support.journal import audit_item

# 2026-12-01 10:30 Paris = 09:30 UTC
T = 1796117400000


def test_given_a_morning_of_records_then_each_column_counts_its_own_events() -> None:
    items = [
        audit_item(T, "E-1", "challenge", "success", "a", channel="email"),
        audit_item(T, "E-1", "send", "link_sent", "a", channel="email", method="challenge"),
        audit_item(T + 1, "E-2", "challenge", "wrong_credentials", "b", channel="sms"),
        audit_item(T + 2, "E-2", "lock", "locked", "b"),
        audit_item(T + 3, "E-3", "send", "link_sent", "c", channel="sms", method="challenge"),
        audit_item(T + 4, "E-4", "send", "link_sent", "d", channel="email", method="franceconnect"),
        audit_item(T + 5, "E-4", "send", "link_failed", "d", channel="email"),
        audit_item(T + 3_600_000, "E-1", "redeem", "success", "e", method="challenge"),
        audit_item(T + 3_600_001, "E-5", "franceconnect", "identity_mismatch", "f", method="franceconnect"),
        audit_item(
            T + 3_600_002,
            "E-5",
            "franceconnect",
            "error",
            "g",
            method="franceconnect",
            detail="access_denied",
        ),
        audit_item(T + 3_600_003, "E-5", "franceconnect", "login_started", "h", method="franceconnect"),
    ]
    figures = compute(items)
    assert figures.totals == {
        "answers_right": 1,
        "answers_wrong": 1,
        "locks": 1,
        "links_email_challenge": 1,
        "links_sms_challenge": 1,
        "links_email_franceconnect": 1,
        "redemptions": 1,
        "send_failures": 1,
        "fc_refusals": 2,
    }
    assert list(figures.by_hour) == ["2026-12-01 10:00", "2026-12-01 11:00"]
    assert figures.by_hour["2026-12-01 11:00"]["redemptions"] == 1
    assert list(figures.by_day) == ["2026-12-01"]
    assert figures.fc_refusals_by_reason == {"error:access_denied": 1, "identity_mismatch": 1}
    text = to_text(figures, "hour") + json.dumps(figures.to_json())
    assert "E-1" not in text and "E-5" not in text


def test_given_redemptions_after_the_close_then_they_are_counted_apart() -> None:
    items = [
        audit_item(T, "E-1", "redeem", "success", "a"),
        audit_item(T + 600_000, "E-2", "redeem", "success", "b"),
    ]
    figures = compute(items, closes_at=(T + 1000) / 1000)
    assert figures.totals["redemptions"] == 2 and figures.redemptions_after_close == 1
    assert "délai de grâce) : 1" in to_text(figures)
