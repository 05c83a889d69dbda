"""Capacity and cost model for the election week.

Every input is a field of :class:`Inputs`; its source is in :data:`SOURCES`. The model is plain
arithmetic (no AWS call) so that it can be re-run with the figures of a load test or of the
pricing pages of the day:

    python -m tools.capacity                      # report for the default inputs (Markdown)
    python -m tools.capacity --reissues 150000 --json
    python -m tools.capacity --set sms_price_usd=0.09 --set email_share=0.6

Rates use Little's law (concurrency = arrival rate x duration). Prices are USD list prices.
What the stages define (function memory, argon2 profile, the election window, the SMS spend
limit) is read from ``infra/stages.py`` (``--stage``, prod by default), never repeated here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from infra.stages import STAGES, StageConfig

# Lambda gives one full vCPU at 1769 MB; below that, CPU-bound work slows proportionally.
LAMBDA_FULL_VCPU_MB = 1769
HOURS_PER_DAY = 24

# Hour-of-day weights (Europe/Paris, index 0 = 00:00-01:00). Shape of an ordinary school-week
# day: almost nothing at night, a morning plateau, a lunch bump and an evening peak when staff
# vote from home. Normalised by the model, so only the shape matters.
DEFAULT_HOURLY_PROFILE: tuple[float, ...] = (
    0.10, 0.05, 0.03, 0.03, 0.05, 0.15,  # 00-06
    0.40, 0.90, 1.30, 1.50, 1.50, 1.40,  # 06-12
    1.70, 1.60, 1.30, 1.30, 1.40, 1.60,  # 12-18
    1.90, 2.00, 1.90, 1.60, 1.00, 0.40,  # 18-24
)  # fmt: skip


_PROD = STAGES["prod"]


def _window_days(stage: StageConfig) -> float:
    opens = datetime.fromisoformat(stage.election_opens_at)
    closes = datetime.fromisoformat(stage.election_closes_at)
    return round((closes - opens).total_seconds() / 86400, 3)


@dataclass(frozen=True)
class Inputs:
    # Population and demand
    electors: int = 1_050_000
    turnout: float = 0.40
    reissues: int = 100_000
    window_days: float = _window_days(_PROD)
    opening_hour_of_day: int = datetime.fromisoformat(_PROD.election_opens_at).hour
    hourly_profile: tuple[float, ...] = DEFAULT_HOURLY_PROFILE
    opening_hour_factor: float = 3.0
    last_hour_factor: float = 4.5
    burst_factor: float = 2.0
    # Journey mix
    franceconnect_share: float = 0.15
    email_share: float = 0.70
    links_per_reissue: float = 1.15
    link_clicks_per_reissue: float = 1.3
    wrong_answer_share: float = 0.20
    lock_share: float = 0.01
    sms_parts: int = 1
    # Measured or estimated durations (ms at one full vCPU) and Lambda size
    argon2_verify_ms: float = 36.0
    argon2_hash_ms: float = 36.0
    lambda_memory_mb: int = _PROD.function_memory_mb
    argon2_memory_kib: int = _PROD.argon2_memory_kib
    lambda_concurrency_quota: int = 1000
    # Quotas
    ses_sandbox_per_day: int = 200
    ses_sandbox_per_second: float = 1.0
    sms_sandbox_spend_usd: float = 1.0
    sms_parts_per_second: float = 10.0
    sms_spend_limit_usd: float = _PROD.sms_monthly_spend_limit_usd
    dynamodb_initial_wru_per_s: int = 4000
    dynamodb_initial_rru_per_s: int = 12000
    # Prices (USD)
    lambda_arm_gb_s_usd: float = 0.0000133334
    lambda_request_usd: float = 0.20 / 1e6
    http_api_request_usd: float = 1.00 / 1e6
    dynamodb_wru_usd: float = 0.625 / 1e6
    dynamodb_rru_usd: float = 0.125 / 1e6
    ses_email_usd: float = 0.10 / 1000
    sms_price_usd: float = 0.08
    cloudfront_request_usd: float = 0.0120 / 10_000
    cloudfront_gb_usd: float = 0.085
    cloudfront_requests_per_reissue: float = 30.0
    cloudfront_mb_per_reissue: float = 0.6
    waf_request_usd: float = 0.60 / 1e6
    waf_monthly_usd: float = 5.0 + 6 * 1.0
    secrets_monthly_usd: float = 0.40
    import_wru_per_elector: float = 2.0


SOURCES: dict[str, str] = {
    "electors": "SPEC §1 (~1.05 M electors, Éducation nationale)",
    "turnout": "SPEC §1 (40 % turnout); used only to relate reissues to voters",
    "reissues": "SPEC §1 (50 000-150 000 expected reissues; 100 000 = middle)",
    "window_days": "infra/stages.py: prod election_opens_at to election_closes_at (SPEC §1: about 8 days)",
    "opening_hour_of_day": "infra/stages.py: hour of prod election_opens_at (Europe/Paris)",
    "hourly_profile": "assumption: school-week day shape (tools/capacity.py DEFAULT_HOURLY_PROFILE)",
    "opening_hour_factor": "SPEC §1 (opening hour ~3x the average hour; 2018 portal fell minutes after opening)",
    "last_hour_factor": "SPEC §1 (last hour ~4.5x the average hour)",
    "burst_factor": "assumption: busiest second / mean second of the peak hour (Poisson + mail waves)",
    "franceconnect_share": "assumption: share of reissues through FranceConnect",
    "email_share": "assumption: share of question-path reissues choosing e-mail (rest SMS)",
    "links_per_reissue": "assumption: links issued per successful reissue (re-requests on late mail)",
    "link_clicks_per_reissue": "assumption: link-page openings calling /api/links/check per reissue",
    "wrong_answer_share": "assumption: share of challenge POSTs refused (answer or identifier wrong)",
    "lock_share": "assumption: share of question-path journeys ending in a lock (alert e-mail)",
    "sms_parts": "SPEC §3 (one GSM-7 part)",
    "argon2_verify_ms": "measured at one vCPU (docs/performance.md; 19 MiB/t=2/p=1 verify ~36 ms)",
    "argon2_hash_ms": "measured: hashing costs one verification (same profile)",
    "lambda_memory_mb": "infra/stages.py: function_memory_mb of the stage (below 1769 MB = one vCPU, CPU work slows)",
    "argon2_memory_kib": "infra/stages.py: argon2_memory_kib of the stage (the profile argon2_*_ms were measured with)",
    "lambda_concurrency_quota": "AWS default account quota (new accounts may start lower: check)",
    "ses_sandbox_per_day": "AWS SES sandbox: 200 messages per 24 h",
    "ses_sandbox_per_second": "AWS SES sandbox: 1 message per second",
    "sms_sandbox_spend_usd": "AWS SMS default account spend limit: USD 1 per month",
    "sms_parts_per_second": "AWS End User Messaging SMS default: 10 message parts per second",
    "sms_spend_limit_usd": "infra/stages.py: sms_monthly_spend_limit_usd of the stage (account-wide cap)",
    "dynamodb_initial_wru_per_s": "DynamoDB on-demand initial throughput of a new table (4 000 writes/s)",
    "dynamodb_initial_rru_per_s": "DynamoDB on-demand initial throughput of a new table (12 000 reads/s)",
    "lambda_arm_gb_s_usd": "aws.amazon.com/lambda/pricing (Arm, first 7.5 G GB-s/month)",
    "lambda_request_usd": "aws.amazon.com/lambda/pricing (USD 0.20 per million requests)",
    "http_api_request_usd": "aws.amazon.com/api-gateway/pricing (HTTP API, first 300 M: USD 1.00/M)",
    "dynamodb_wru_usd": "aws.amazon.com/dynamodb/pricing/on-demand (USD 0.625/M WRU since Nov 2024)",
    "dynamodb_rru_usd": "aws.amazon.com/dynamodb/pricing/on-demand (USD 0.125/M RRU since Nov 2024)",
    "ses_email_usd": "aws.amazon.com/ses/pricing (USD 0.10 per 1 000 e-mails)",
    "sms_price_usd": "aws.amazon.com/end-user-messaging/pricing (France, per part; check the day's rate)",
    "cloudfront_request_usd": "aws.amazon.com/cloudfront/pricing (Europe, HTTPS, USD 0.012 per 10 000)",
    "cloudfront_gb_usd": "aws.amazon.com/cloudfront/pricing (Europe, first 10 TB, USD 0.085/GB)",
    "cloudfront_requests_per_reissue": "estimate: pages x assets of the journey (HTML, DSFR CSS/JS, fonts)",
    "cloudfront_mb_per_reissue": "estimate: compressed pages and DSFR assets of one journey",
    "waf_request_usd": "aws.amazon.com/waf/pricing (USD 0.60 per million requests)",
    "waf_monthly_usd": "aws.amazon.com/waf/pricing (USD 5 per web ACL + USD 1 per rule, 6 rules)",
    "secrets_monthly_usd": "aws.amazon.com/secrets-manager/pricing (USD 0.40 per secret-month)",
    "import_wru_per_elector": "estimate: one ~1.5 KB elector item = 2 WRU",
}


@dataclass(frozen=True)
class Route:
    """One HTTP route: its Lambda function, its cost in CPU and waiting, its DynamoDB units."""

    name: str
    function: str
    cpu_ms: float  # at one full vCPU
    io_ms: float  # DynamoDB, SES, SNS, FranceConnect round trips
    rru: float
    wru: float


def routes(inputs: Inputs) -> dict[str, Route]:
    """Per-request costs. DynamoDB units follow docs/architecture.md access patterns:
    an elector item ~1.5 KB (2 WRU on update, 1 RRU on a strongly consistent read), a link,
    state or audit item < 1 KB (1 WRU), transactions count double."""
    two_verifications = 2 * inputs.argon2_verify_ms + 3
    return {
        r.name: r
        for r in (
            Route("GET /api/reassort/challenge", "request_reassort", 3, 15, rru=1, wru=0),
            # both hashes always verified; elector update + link put + 3 audit records
            Route("POST /api/reassort/challenge (accepted)", "request_reassort", two_verifications, 90, 1, 6),
            # both hashes verified; failure counter update + 1 audit record
            Route("POST /api/reassort/challenge (refused)", "request_reassort", two_verifications, 25, 1, 3),
            Route("GET /api/fc/login", "fc_callback", 3, 20, rru=1, wru=1),
            # token + JWKS + signed userinfo round trips, 2 e-mails; state delete, link, elector, audit
            Route("GET /api/fc/callback", "fc_callback", 10, 400, rru=2, wru=7),
            Route("GET /api/fc/logout-return", "fc_callback", 2, 15, rru=1, wru=1),
            Route("POST /api/links/check", "redeem", 2, 15, rru=2, wru=0),
            # new code hashed once; TransactWriteItems (link 1 + elector 2) x 2 + audit 1
            Route("POST /api/links/redeem", "redeem", inputs.argon2_hash_ms + 3, 40, rru=2, wru=7),
        )
    }


def requests_per_reissue(inputs: Inputs) -> dict[str, float]:
    """How many calls of each route one successful reissue costs on average."""
    challenge = 1 - inputs.franceconnect_share
    fc = inputs.franceconnect_share
    links = inputs.links_per_reissue
    accepted = challenge * links
    attempts = accepted / (1 - inputs.wrong_answer_share)
    return {
        "GET /api/reassort/challenge": attempts,
        "POST /api/reassort/challenge (accepted)": accepted,
        "POST /api/reassort/challenge (refused)": attempts - accepted,
        "GET /api/fc/login": fc * links,
        "GET /api/fc/callback": fc * links,
        "GET /api/fc/logout-return": fc * links,
        "POST /api/links/check": inputs.link_clicks_per_reissue,
        "POST /api/links/redeem": 1.0,
    }


def messages_per_reissue(inputs: Inputs) -> dict[str, float]:
    """E-mails and SMS parts sent per reissue (information e-mail first, then the link)."""
    challenge = 1 - inputs.franceconnect_share
    links = inputs.links_per_reissue
    information = links
    link_emails = (challenge * inputs.email_share + inputs.franceconnect_share) * links
    lock_alerts = challenge * inputs.lock_share
    sms = challenge * (1 - inputs.email_share) * links
    return {
        "emails": information + link_emails + lock_alerts,
        "sms_messages": sms,
        "sms_parts": sms * inputs.sms_parts,
    }


def hourly_reissues(inputs: Inputs) -> list[float]:
    """Reissues in each hour of the window. The opening and last hours are pinned at their
    factor times the average hour; the other hours follow the day profile and share the rest."""
    hours = round(inputs.window_days * HOURS_PER_DAY)
    if hours < 2:
        raise ValueError("the window must last at least two hours")
    average = inputs.reissues / hours
    opening = inputs.opening_hour_factor * average
    last = inputs.last_hour_factor * average
    rest = inputs.reissues - opening - last
    if rest < 0:
        raise ValueError("peak factors leave nothing for the other hours")
    profile = inputs.hourly_profile
    weights = [profile[(inputs.opening_hour_of_day + h) % len(profile)] for h in range(1, hours - 1)]
    total_weight = sum(weights)
    middle = [rest * w / total_weight for w in weights] if total_weight else [0.0] * len(weights)
    return [opening, *middle, last]


@dataclass
class RouteLoad:
    route: str
    function: str
    per_reissue: float
    peak_rps: float
    duration_ms: float
    concurrency: float


@dataclass
class Result:
    inputs: Inputs
    average_hour: float
    opening_hour: float
    last_hour: float
    peak_hour: float
    busiest_24h: float
    routes: list[RouteLoad] = field(default_factory=list)
    concurrency_by_function: dict[str, float] = field(default_factory=dict)
    concurrency_total: float = 0.0
    peak_rru_per_s: float = 0.0
    peak_wru_per_s: float = 0.0
    email_peak_per_s: float = 0.0
    emails_busiest_24h: float = 0.0
    emails_total: float = 0.0
    sms_parts_peak_per_s: float = 0.0
    sms_parts_total: float = 0.0
    sms_spend_total_usd: float = 0.0
    # What to ask AWS for: 2x the busiest 24 h and 2x the peak for SES, 1.5x the spend for SMS.
    ses_daily_quota_needed: int = 0
    ses_rate_needed_per_s: int = 0
    sms_spend_limit_needed_usd: int = 0
    costs: dict[str, float] = field(default_factory=dict)
    fixed_costs: dict[str, float] = field(default_factory=dict)
    cost_per_reissue_usd: float = 0.0
    election_cost_usd: float = 0.0
    warnings: list[str] = field(default_factory=list)


def duration_ms(route: Route, inputs: Inputs) -> float:
    """Billed duration: CPU work slows down below one vCPU, waiting does not."""
    slowdown = max(1.0, LAMBDA_FULL_VCPU_MB / inputs.lambda_memory_mb)
    return route.cpu_ms * slowdown + route.io_ms


def model(inputs: Inputs) -> Result:
    hours = hourly_reissues(inputs)
    window = 24
    busiest_24h = max(sum(hours[i : i + window]) for i in range(max(1, len(hours) - window + 1)))
    res = Result(
        inputs=inputs,
        average_hour=inputs.reissues / len(hours),
        opening_hour=hours[0],
        last_hour=hours[-1],
        peak_hour=max(hours),
        busiest_24h=busiest_24h,
    )
    # the busiest second of the busiest hour
    peak_reissues_per_s = res.peak_hour / 3600 * inputs.burst_factor
    per_reissue = requests_per_reissue(inputs)
    route_table = routes(inputs)
    api_requests = 0.0
    lambda_gb_s = 0.0
    total_rru = total_wru = 0.0
    memory_gb = inputs.lambda_memory_mb / 1024
    for name, count in per_reissue.items():
        route = route_table[name]
        rps = count * peak_reissues_per_s
        dur = duration_ms(route, inputs)
        conc = rps * dur / 1000
        res.routes.append(RouteLoad(name, route.function, count, rps, dur, conc))
        res.concurrency_by_function[route.function] = (
            res.concurrency_by_function.get(route.function, 0) + conc
        )
        res.peak_rru_per_s += rps * route.rru
        res.peak_wru_per_s += rps * route.wru
        n = count * inputs.reissues
        api_requests += n
        lambda_gb_s += n * dur / 1000 * memory_gb
        total_rru += n * route.rru
        total_wru += n * route.wru
    res.concurrency_total = sum(res.concurrency_by_function.values())

    messages = messages_per_reissue(inputs)
    res.email_peak_per_s = messages["emails"] * peak_reissues_per_s
    res.emails_busiest_24h = messages["emails"] * busiest_24h
    res.emails_total = messages["emails"] * inputs.reissues
    res.sms_parts_peak_per_s = messages["sms_parts"] * peak_reissues_per_s
    res.sms_parts_total = messages["sms_parts"] * inputs.reissues
    res.sms_spend_total_usd = res.sms_parts_total * inputs.sms_price_usd
    res.ses_daily_quota_needed = _round_up(2 * res.emails_busiest_24h)
    res.ses_rate_needed_per_s = math.ceil(2 * res.email_peak_per_s)
    res.sms_spend_limit_needed_usd = _round_up(1.5 * res.sms_spend_total_usd)

    cf_requests = inputs.cloudfront_requests_per_reissue * inputs.reissues
    cf_gb = inputs.cloudfront_mb_per_reissue * inputs.reissues / 1024
    res.costs = {
        "lambda": api_requests * inputs.lambda_request_usd + lambda_gb_s * inputs.lambda_arm_gb_s_usd,
        "api_gateway": api_requests * inputs.http_api_request_usd,
        "dynamodb": total_rru * inputs.dynamodb_rru_usd + total_wru * inputs.dynamodb_wru_usd,
        "ses": res.emails_total * inputs.ses_email_usd,
        "sms": res.sms_spend_total_usd,
        "cloudfront": cf_requests * inputs.cloudfront_request_usd + cf_gb * inputs.cloudfront_gb_usd,
        "waf": (api_requests + cf_requests) * inputs.waf_request_usd,
    }
    res.fixed_costs = {
        "roll_import": inputs.electors * inputs.import_wru_per_elector * inputs.dynamodb_wru_usd,
        "waf_month": inputs.waf_monthly_usd,
        "secrets_month": inputs.secrets_monthly_usd,
    }
    variable = sum(res.costs.values())
    res.cost_per_reissue_usd = variable / inputs.reissues if inputs.reissues else 0.0
    res.election_cost_usd = variable + sum(res.fixed_costs.values())
    res.warnings = _warnings(res)
    return res


def _warnings(res: Result) -> list[str]:
    i = res.inputs
    out = []
    if res.email_peak_per_s > i.ses_sandbox_per_second or res.emails_busiest_24h > i.ses_sandbox_per_day:
        out.append(
            f"SES sandbox ({i.ses_sandbox_per_day}/day, {i.ses_sandbox_per_second:g}/s) is far below the "
            f"need ({res.emails_busiest_24h:,.0f} in the busiest 24 h, {res.email_peak_per_s:.1f}/s): "
            "request production access with a quota of at least "
            f"{res.ses_daily_quota_needed:,} per day and {res.ses_rate_needed_per_s}/s"
        )
    if res.sms_spend_total_usd > i.sms_sandbox_spend_usd:
        out.append(
            f"SMS spend (USD {res.sms_spend_total_usd:,.0f}) exceeds the default USD "
            f"{i.sms_sandbox_spend_usd:g}/month limit: request production access and a spend limit of "
            f"USD {res.sms_spend_limit_needed_usd:,}"
        )
    if res.sms_spend_limit_needed_usd > i.sms_spend_limit_usd:
        out.append(
            f"the stage's SMS spend limit (USD {i.sms_spend_limit_usd:,.0f}, infra/stages.py) is below "
            f"the USD {res.sms_spend_limit_needed_usd:,} needed: SMS beyond it are not delivered"
        )
    if res.sms_parts_peak_per_s > i.sms_parts_per_second:
        out.append(
            f"SMS peak {res.sms_parts_peak_per_s:.1f} parts/s exceeds {i.sms_parts_per_second:g} parts/s"
        )
    if res.concurrency_total > 0.5 * i.lambda_concurrency_quota:
        out.append(
            f"Lambda peak concurrency {res.concurrency_total:.0f} uses more than half of the "
            f"{i.lambda_concurrency_quota} quota"
        )
    if res.peak_wru_per_s > i.dynamodb_initial_wru_per_s or res.peak_rru_per_s > i.dynamodb_initial_rru_per_s:
        out.append("DynamoDB peak above a new on-demand table's initial throughput: set warm throughput")
    return out


def _round_up(value: float) -> int:
    """Round up to two significant figures (quota requests are round numbers)."""
    if value <= 0:
        return 0
    magnitude = 10 ** max(0, math.floor(math.log10(value)) - 1)
    return int(math.ceil(value / magnitude) * magnitude)


def to_markdown(res: Result) -> str:
    i = res.inputs
    lines = [
        f"Reissues {i.reissues:,} over {i.window_days:g} days, functions of {i.lambda_memory_mb} MB "
        f"({i.reissues / (i.electors * i.turnout):.1%} of the expected voters).",
        "",
        "| hour | reissues/h |",
        "|---|---:|",
        f"| average hour | {res.average_hour:,.0f} |",
        f"| opening hour (x{i.opening_hour_factor:g}) | {res.opening_hour:,.0f} |",
        f"| last hour (x{i.last_hour_factor:g}) | {res.last_hour:,.0f} |",
        f"| busiest hour | {res.peak_hour:,.0f} |",
        f"| busiest 24 h | {res.busiest_24h:,.0f} |",
        "",
        f"Peak second = busiest hour / 3600 x burst factor {i.burst_factor:g}.",
        "",
        "| route | function | calls/reissue | peak req/s | duration ms | concurrency |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in res.routes:
        lines.append(
            f"| `{r.route}` | {r.function} | {r.per_reissue:.2f} | {r.peak_rps:.2f} | "
            f"{r.duration_ms:.0f} | {r.concurrency:.2f} |"
        )
    lines += ["", "| function | peak concurrency |", "|---|---:|"]
    for fn, conc in sorted(res.concurrency_by_function.items()):
        lines.append(f"| {fn} | {conc:.1f} |")
    lines += [
        f"| **total** (quota {i.lambda_concurrency_quota}) | **{res.concurrency_total:.1f}** |",
        "",
        "| resource | peak | quota / limit |",
        "|---|---:|---:|",
        f"| DynamoDB read units/s | {res.peak_rru_per_s:.1f} | {i.dynamodb_initial_rru_per_s:,} (new table) |",
        f"| DynamoDB write units/s | {res.peak_wru_per_s:.1f} | {i.dynamodb_initial_wru_per_s:,} (new table) |",
        f"| SES e-mails/s | {res.email_peak_per_s:.2f} | {i.ses_sandbox_per_second:g} (sandbox) |",
        f"| SES e-mails, busiest 24 h | {res.emails_busiest_24h:,.0f} | {i.ses_sandbox_per_day} (sandbox) |",
        f"| SMS parts/s | {res.sms_parts_peak_per_s:.2f} | {i.sms_parts_per_second:g} (default) |",
        f"| SMS spend for the election, USD | {res.sms_spend_total_usd:,.0f} | "
        f"{i.sms_spend_limit_usd:,.0f}/month (stage) |",
        "",
        *_asks_table(res),
        "",
        "| cost (USD) | election | per reissue |",
        "|---|---:|---:|",
    ]
    for name, cost in res.costs.items():
        lines.append(f"| {name} | {cost:,.2f} | {cost / i.reissues:.5f} |")
    for name, cost in res.fixed_costs.items():
        lines.append(f"| {name} (fixed) | {cost:,.2f} | |")
    lines += [
        f"| **total** | **{res.election_cost_usd:,.2f}** | **{res.cost_per_reissue_usd:.4f}** |",
        "",
    ]
    if res.warnings:
        lines += ["Warnings:", ""] + [f"- {w}" for w in res.warnings] + [""]
    return "\n".join(lines)


def stage_inputs(name: str = "prod", base: Inputs | None = None) -> Inputs:
    """The inputs with what a stage of infra/stages.py defines: its functions' memory, argon2
    profile and SMS spend limit. The election window is always prod's (the other stages keep a
    window open for tests)."""
    stage = STAGES[name]
    return dataclasses.replace(
        base or Inputs(),
        lambda_memory_mb=stage.function_memory_mb,
        argon2_memory_kib=stage.argon2_memory_kib,
        sms_spend_limit_usd=stage.sms_monthly_spend_limit_usd,
    )


def inputs_markdown(inputs: Inputs) -> str:
    lines = ["| input | value | source |", "|---|---|---|"]
    for f in dataclasses.fields(inputs):
        value = getattr(inputs, f.name)
        shown = "see DEFAULT_HOURLY_PROFILE" if f.name == "hourly_profile" else f"{value:g}"
        lines.append(f"| `{f.name}` | {shown} | {SOURCES.get(f.name, '')} |")
    return "\n".join(lines)


def asks_markdown(res: Result) -> str:
    return "\n".join(
        [
            f"Reissues {res.inputs.reissues:,}, burst factor {res.inputs.burst_factor:g}: peak "
            f"{res.email_peak_per_s:.1f} e-mails/s, {res.emails_busiest_24h:,.0f} e-mails in the busiest "
            f"24 h, {res.sms_parts_total:,.0f} SMS (USD {res.sms_spend_total_usd:,.0f}), "
            f"{res.concurrency_total:.1f} concurrent executions.",
            "",
            *_asks_table(res),
        ]
    )


def _asks_table(res: Result) -> list[str]:
    """The quotas to ask AWS for before the election, as a Markdown table."""
    return [
        "| ask AWS for | at least |",
        "|---|---:|",
        f"| SES daily quota (2x busiest 24 h) | {res.ses_daily_quota_needed:,} |",
        f"| SES sending rate, per second (2x peak) | {res.ses_rate_needed_per_s} |",
        f"| SMS monthly spend limit, USD (1.5x spend) | {res.sms_spend_limit_needed_usd:,} |",
    ]


def docs_blocks(inputs: Inputs | None = None) -> dict[str, str]:
    """The generated parts of docs/capacity.md, by marker name."""
    base = inputs or stage_inputs()
    high = dataclasses.replace(base, reissues=150_000)
    return {
        "inputs": inputs_markdown(base),
        "result": to_markdown(model(base)),
        "high": asks_markdown(model(high)),
        "stress": asks_markdown(model(dataclasses.replace(high, burst_factor=10))),
    }


def update_docs(text: str, blocks: dict[str, str]) -> str:
    """Replace each ``<!-- capacity:NAME -->`` … ``<!-- /capacity:NAME -->`` block."""
    for name, body in blocks.items():
        start, end = f"<!-- capacity:{name} -->", f"<!-- /capacity:{name} -->"
        head, found, rest = text.partition(start)
        if not found:
            raise ValueError(f"marker {start} missing")
        _old, found, tail = rest.partition(end)
        if not found:
            raise ValueError(f"marker {end} missing")
        text = f"{head}{start}\n{body.strip()}\n{end}{tail}"
    return text


def to_json(res: Result) -> str:
    data = dataclasses.asdict(res)
    data["inputs"].pop("hourly_profile")
    return json.dumps(data, indent=2, ensure_ascii=False)


# Audit records each call of a route writes (functions/reassort/domain: challenge.py, issuing.py, redemption.py, franceconnect.py).
AUDIT_RECORDS_PER_CALL: dict[str, float] = {
    "GET /api/reassort/challenge": 0,
    "POST /api/reassort/challenge (accepted)": 3,  # challenge success, information sent, link sent
    "POST /api/reassort/challenge (refused)": 1,  # wrong credentials (a lock adds 2 more, rare)
    "GET /api/fc/login": 1,  # login started
    "GET /api/fc/callback": 3,  # identity matched, information sent, link sent
    "GET /api/fc/logout-return": 0,
    "POST /api/links/check": 1,
    "POST /api/links/redeem": 1,
}


@dataclass(frozen=True)
class JournalInputs:
    """The signed journal (infra/supervision.py). Prices: USD list prices, check the day's."""

    interval_minutes: float = 5
    settle_seconds: float = 120
    audit_item_bytes: float = 360  # measured: a link_sent record in DynamoDB JSON
    digest_bytes_per_record: float = 138  # measured: one [locator, hash] pair in the digest
    digest_cpu_ms_per_record: float = 0.1  # measured here: 100 000 records hashed, sorted, signed in 9.5 s
    scan_mb_per_s: float = 10  # estimate: one DynamoDB Scan stream, 1 MB pages
    digester_memory_mb: int = 512
    retention_months: float = 13
    kms_sign_usd: float = 0.15 / 10_000  # aws.amazon.com/kms/pricing: asymmetric (non-RSA-2048) requests
    kms_key_month_usd: float = 1.0
    s3_put_usd: float = 0.005 / 1000
    s3_list_usd: float = 0.005 / 1000
    s3_gb_month_usd: float = 0.024


def journal_cost(inputs: Inputs, journal: JournalInputs | None = None) -> dict[str, float]:
    """Cost of the journal over the election, per 100 000 reissues, and the record-to-digest lag.

    Each run scans the whole audit table (it is keyed by elector), so the read cost grows with the
    table: with linear growth the average run reads half of the final table."""
    j = journal or JournalInputs()
    per_reissue = requests_per_reissue(inputs)
    records_per_reissue = sum(n * AUDIT_RECORDS_PER_CALL.get(route, 0) for route, n in per_reissue.items())
    records = records_per_reissue * inputs.reissues
    runs = inputs.window_days * HOURS_PER_DAY * 60 / j.interval_minutes
    average_table_bytes = records * j.audit_item_bytes / 2
    rru = runs * math.ceil(average_table_bytes / 4096)  # strongly consistent scan: 1 RRU per 4 KB
    scan_seconds = average_table_bytes / (j.scan_mb_per_s * 1e6)
    run_seconds = scan_seconds + records / runs * j.digest_cpu_ms_per_record / 1000 + 0.2
    gb_s = runs * run_seconds * j.digester_memory_mb / 1024
    digest_gb = records * j.digest_bytes_per_record / 1e9
    costs = {
        "dynamodb_scan": rru * inputs.dynamodb_rru_usd,
        "lambda": runs * inputs.lambda_request_usd + gb_s * inputs.lambda_arm_gb_s_usd,
        "kms": runs * j.kms_sign_usd + j.kms_key_month_usd * math.ceil(j.retention_months),
        "s3": runs * (j.s3_put_usd + j.s3_list_usd) + digest_gb * j.s3_gb_month_usd * j.retention_months,
    }
    total = sum(costs.values())
    last_run_seconds = 2 * scan_seconds + 0.2
    return {
        **{f"{name}_usd": cost for name, cost in costs.items()},
        "total_usd": total,
        "per_100k_reissues_usd": total * 100_000 / inputs.reissues if inputs.reissues else 0.0,
        "audit_records": records,
        "digests": runs,
        # a record waits for the end of its period, the settling delay, then the run
        "lag_mean_s": j.interval_minutes * 60 / 2 + j.settle_seconds + run_seconds,
        "lag_max_s": j.interval_minutes * 60 + j.settle_seconds + last_run_seconds,
    }


def _parse_set(values: Sequence[str], base: Inputs) -> Inputs:
    changes: dict[str, object] = {}
    types = {f.name: f.type for f in dataclasses.fields(Inputs)}
    for item in values:
        name, _, raw = item.partition("=")
        if name not in types or name == "hourly_profile":
            raise SystemExit(f"unknown input: {name}")
        changes[name] = int(raw) if types[name] == "int" else float(raw)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reissues", type=int, help="expected reissues over the window")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override an input")
    parser.add_argument(
        "--stage", default="prod", choices=sorted(STAGES), help="stage whose definition is read"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--inputs", action="store_true", help="print the inputs and their sources")
    parser.add_argument("--journal", action="store_true", help="cost and lag of the signed audit journal")
    parser.add_argument("--update-docs", type=Path, metavar="docs/capacity.md", help="rewrite its figures")
    args = parser.parse_args(argv)
    if args.update_docs:
        args.update_docs.write_text(update_docs(args.update_docs.read_text(encoding="utf-8"), docs_blocks()))
        return 0
    inputs = stage_inputs(args.stage)
    if args.reissues is not None:
        inputs = dataclasses.replace(inputs, reissues=args.reissues)
    inputs = _parse_set(args.set, inputs)
    if args.inputs:
        print(inputs_markdown(inputs))
        return 0
    if args.journal:
        print(json.dumps(journal_cost(inputs), indent=2))
        return 0
    res = model(inputs)
    print(to_json(res) if args.json else to_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
