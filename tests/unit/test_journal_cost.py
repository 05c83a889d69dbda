"""The journal's line of the capacity model: cost per 100 000 reissues and record-to-digest lag."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tools.capacity import Inputs, JournalInputs, journal_cost, main


def test_given_the_default_election_then_the_journal_costs_tens_of_dollars_per_100k_reissues() -> None:
    inputs = Inputs()
    cost = journal_cost(inputs)
    assert cost["digests"] == pytest.approx(inputs.window_days * 24 * 12)  # one every 5 minutes
    assert 5 < cost["audit_records"] / 100_000 < 8
    assert 10 < cost["per_100k_reissues_usd"] < 50
    assert cost["total_usd"] == sum(
        v for k, v in cost.items() if k.endswith("_usd") and k not in {"total_usd", "per_100k_reissues_usd"}
    )


def test_given_more_reissues_then_the_scan_costs_more_and_the_fixed_part_spreads() -> None:
    small = journal_cost(dataclasses.replace(Inputs(), reissues=50_000))
    large = journal_cost(dataclasses.replace(Inputs(), reissues=150_000))
    assert large["dynamodb_scan_usd"] > 2.5 * small["dynamodb_scan_usd"]
    assert large["per_100k_reissues_usd"] < small["per_100k_reissues_usd"]


def test_given_a_shorter_interval_then_records_wait_less_for_their_digest() -> None:
    five = journal_cost(Inputs())
    one = journal_cost(Inputs(), JournalInputs(interval_minutes=1))
    assert one["lag_max_s"] < five["lag_max_s"]
    assert 5 * 60 + 120 <= five["lag_max_s"] < 5 * 60 + 120 + 60
    assert one["digests"] == 5 * five["digests"]


def test_given_the_cli_when_asked_for_the_journal_then_it_prints_the_figures(capsys) -> None:
    assert main(["--journal"]) == 0
    assert "per_100k_reissues_usd" in json.loads(capsys.readouterr().out)
