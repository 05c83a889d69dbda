"""Capacity model: known inputs give known outputs."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tools import capacity
from tools.capacity import Inputs, model

# A hand-checkable scenario: 19 200 reissues over 8 days = 100 per average hour.
SIMPLE = Inputs(
    reissues=19_200,
    window_days=8,
    hourly_profile=(1.0,) * 24,
    opening_hour_factor=3,
    last_hour_factor=4.5,
    burst_factor=1,
    franceconnect_share=0,
    email_share=1,
    links_per_reissue=1,
    link_clicks_per_reissue=1,
    wrong_answer_share=0.5,
    lock_share=0,
    argon2_verify_ms=36,
    argon2_hash_ms=36,
    lambda_memory_mb=1769,
)


def test_given_peak_factors_when_modelled_then_opening_and_last_hours_are_pinned_and_total_kept():
    hours = capacity.hourly_reissues(SIMPLE)
    assert len(hours) == 192
    assert hours[0] == pytest.approx(300)
    assert hours[-1] == pytest.approx(450)
    assert sum(hours) == pytest.approx(19_200)
    # a flat profile shares the rest evenly
    assert hours[1] == pytest.approx((19_200 - 750) / 190)


def test_given_the_last_hour_is_busiest_when_modelled_then_peak_rates_follow_it():
    res = model(SIMPLE)
    assert res.average_hour == pytest.approx(100)
    assert res.peak_hour == pytest.approx(450)
    rates = {r.route: r.peak_rps for r in res.routes}
    # 450 reissues/h = 0.125/s; one wrong answer for each right one doubles the challenge POSTs
    assert rates["POST /api/links/redeem"] == pytest.approx(0.125)
    assert rates["POST /api/reassort/challenge (accepted)"] == pytest.approx(0.125)
    assert rates["POST /api/reassort/challenge (refused)"] == pytest.approx(0.125)
    assert rates["GET /api/reassort/challenge"] == pytest.approx(0.25)
    assert rates["GET /api/fc/callback"] == 0


def test_given_two_argon2_verifications_when_modelled_then_challenge_concurrency_follows_littles_law():
    res = model(SIMPLE)
    accepted = next(r for r in res.routes if r.route == "POST /api/reassort/challenge (accepted)")
    assert accepted.duration_ms == pytest.approx(2 * 36 + 3 + 90)
    assert accepted.concurrency == pytest.approx(0.125 * 0.165)
    assert res.concurrency_total == pytest.approx(sum(r.concurrency for r in res.routes))


def test_given_less_than_one_vcpu_when_modelled_then_only_cpu_work_slows_down():
    route = capacity.routes(SIMPLE)["POST /api/links/redeem"]
    full = capacity.duration_ms(route, SIMPLE)
    half = capacity.duration_ms(route, dataclasses.replace(SIMPLE, lambda_memory_mb=1769 // 2))
    bigger = capacity.duration_ms(route, dataclasses.replace(SIMPLE, lambda_memory_mb=3538))
    assert full == pytest.approx(39 + 40)
    assert half == pytest.approx(39 * 1769 / 884 + 40)
    assert bigger == full


def test_given_email_only_when_modelled_then_two_emails_per_reissue_and_no_sms():
    res = model(SIMPLE)
    assert res.emails_total == pytest.approx(2 * 19_200)
    assert res.sms_parts_total == 0
    assert res.costs["ses"] == pytest.approx(2 * 19_200 * 0.10 / 1000)
    assert res.costs["sms"] == 0


def test_given_sms_share_when_modelled_then_spend_and_part_rate_follow_the_price():
    inputs = dataclasses.replace(SIMPLE, email_share=0.5, sms_price_usd=0.08)
    res = model(inputs)
    assert res.sms_parts_total == pytest.approx(9_600)
    assert res.sms_spend_total_usd == pytest.approx(768)
    assert res.sms_parts_peak_per_s == pytest.approx(0.0625)
    # 1 information e-mail + 0.5 link e-mail per reissue
    assert res.emails_total == pytest.approx(1.5 * 19_200)


def test_given_known_prices_when_modelled_then_api_and_lambda_costs_are_exact():
    res = model(SIMPLE)
    calls = sum(r.per_reissue for r in res.routes) * 19_200
    assert res.costs["api_gateway"] == pytest.approx(calls * 1.0e-6)
    gb_s = sum(r.per_reissue * 19_200 * r.duration_ms / 1000 * 1769 / 1024 for r in res.routes)
    assert res.costs["lambda"] == pytest.approx(calls * 0.2e-6 + gb_s * 0.0000133334)
    assert res.cost_per_reissue_usd == pytest.approx(sum(res.costs.values()) / 19_200)
    assert res.election_cost_usd == pytest.approx(sum(res.costs.values()) + sum(res.fixed_costs.values()))


def test_given_defaults_when_modelled_then_sandbox_quotas_are_flagged():
    res = model(Inputs())
    text = " ".join(res.warnings)
    assert "SES sandbox" in text
    assert "SMS spend" in text


def test_given_a_need_when_rounding_a_quota_then_two_significant_figures_upwards():
    assert capacity._round_up(55_658) == 56_000
    assert capacity._round_up(3_519) == 3_600
    assert capacity._round_up(7.2) == 8


def test_given_factors_leaving_nothing_when_modelled_then_refused():
    with pytest.raises(ValueError):
        capacity.hourly_reissues(dataclasses.replace(SIMPLE, window_days=0.1))
    with pytest.raises(ValueError):
        capacity.hourly_reissues(dataclasses.replace(SIMPLE, window_days=1, opening_hour_factor=20))


def test_given_every_input_when_listed_then_each_has_a_source():
    names = {f.name for f in dataclasses.fields(Inputs)}
    assert names == set(capacity.SOURCES)


def test_given_cli_overrides_when_run_then_json_reflects_them(capsys):
    assert capacity.main(["--reissues", "19200", "--set", "burst_factor=1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["inputs"]["reissues"] == 19_200
    assert data["inputs"]["burst_factor"] == 1
    assert capacity.main(["--inputs"]) == 0
    assert "SPEC" in capsys.readouterr().out


def test_given_the_prod_stage_when_modelled_then_its_memory_window_and_spend_limit_are_read_not_repeated():
    from infra.stages import STAGES

    prod = STAGES["prod"]
    inputs = capacity.stage_inputs("prod")
    assert inputs.lambda_memory_mb == prod.function_memory_mb
    assert inputs.argon2_memory_kib == prod.argon2_memory_kib
    assert inputs.sms_spend_limit_usd == prod.sms_monthly_spend_limit_usd
    assert (
        len(capacity.hourly_reissues(inputs)) == round(inputs.window_days * 24) == 175
    )  # 1 Dec 10:00 to 8 Dec 17:00
    # below one vCPU the argon2 work of an accepted challenge slows down with the memory
    accepted = next(r for r in model(inputs).routes if r.route.endswith("(accepted)"))
    full = next(
        r
        for r in model(dataclasses.replace(inputs, lambda_memory_mb=1769)).routes
        if r.route.endswith("(accepted)")
    )
    cpu_ms = 2 * 36 + 3  # two verifications and the rest of the handler
    assert accepted.duration_ms == pytest.approx(
        full.duration_ms + cpu_ms * (1769 / prod.function_memory_mb - 1)
    )
    assert capacity.stage_inputs("dev").lambda_memory_mb == STAGES["dev"].function_memory_mb


def test_given_the_high_end_of_reissues_when_modelled_then_the_prod_spend_limit_covers_the_sms():
    high = model(dataclasses.replace(capacity.stage_inputs("prod"), reissues=150_000))
    assert high.sms_spend_limit_needed_usd <= high.inputs.sms_spend_limit_usd
    assert not any("spend limit (USD" in w for w in high.warnings)
    short = model(dataclasses.replace(high.inputs, sms_spend_limit_usd=1000))
    assert any("is below the USD 5,300 needed" in w for w in short.warnings)


def test_given_the_capacity_docs_when_compared_to_the_model_then_every_generated_figure_matches():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "docs" / "capacity.md"
    text = path.read_text(encoding="utf-8")
    assert capacity.update_docs(text, capacity.docs_blocks()) == text, (
        "docs/capacity.md is stale: python -m tools.capacity --update-docs docs/capacity.md"
    )
    assert "1769 MB = one vCPU; CPU-bound" not in text
