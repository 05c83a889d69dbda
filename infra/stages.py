"""Per-stage configuration: every number and name that differs between dev, recette and prod.

Any field can be overridden for one synthesis with CDK context, e.g.
`cdk deploy -c stage=prod -c alarm_email=astreinte@example.gouv.fr`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

STAGE_NAMES = ("dev", "recette", "prod")

FC_INTEGRATION_ISSUER = "https://fcp-low.integ01.dev-franceconnect.fr/api/v2"
FC_PRODUCTION_ISSUER = "https://oidc.franceconnect.gouv.fr/api/v2"

ACADEMIES = (
    "aix-marseille",
    "amiens",
    "besancon",
    "bordeaux",
    "clermont",
    "corse",
    "creteil",
    "dijon",
    "grenoble",
    "guadeloupe",
    "guyane",
    "lille",
    "limoges",
    "lyon",
    "martinique",
    "mayotte",
    "montpellier",
    "nancy-metz",
    "nantes",
    "nice",
    "normandie",
    "orleans-tours",
    "paris",
    "poitiers",
    "reims",
    "rennes",
    "reunion",
    "strasbourg",
    "toulouse",
    "versailles",
)
# Professional mailboxes: the ministry and the academies (prenom.nom@ac-xxx.fr). A personal
# address in one of these domains (or a sub-domain) is refused.
PROFESSIONAL_DOMAINS = ",".join(
    [
        "education.gouv.fr",
        *(f"ac-{academy}.fr" for academy in ACADEMIES),
    ]
)


@dataclass(frozen=True)
class StageConfig:
    name: str
    # Deployment target; None means the account of the deploying credentials.
    account: str | None
    region: str
    # Public host name of the service (pages and /api/* on the same origin).
    domain_name: str
    # An existing ACM certificate in us-east-1 for domain_name; None creates one (DNS validation).
    certificate_arn: str | None
    # Election window, ISO 8601 (without offset = Europe/Paris).
    election_opens_at: str
    election_closes_at: str
    link_ttl_seconds: int = 3600
    code_display_seconds: int = 120
    max_failed_attempts: int = 5
    lock_seconds: int = 1800
    link_quota: int = 5
    link_quota_window_seconds: int = 86400
    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    professional_domains: str = PROFESSIONAL_DOMAINS
    # Sending identity verified in SES (a domain or an address) and the From header.
    ses_identity: str = "elections.example.gouv.fr"
    mail_from: str = "Élections professionnelles <no-reply@elections.example.gouv.fr>"
    sms_sender_id: str = "ELECTIONS"
    # Account-wide SNS SMS cap; above 1 USD it needs a quota increase first (docs/operations.md).
    sms_monthly_spend_limit_usd: int = 1
    audit_retention_days: int = 400
    portal_issuer: str = "https://portail-elections.example.gouv.fr"
    portal_audience: str = "reassort"
    portal_jwks_url: str = "https://portail-elections.example.gouv.fr/.well-known/jwks.json"
    fc_issuer: str = FC_INTEGRATION_ISSUER
    fc_client_id: str = ""
    fc_id_token_alg: str = "ES256"  # noqa: S105 (an algorithm name)
    alarm_email: str = "exploitation-elections@example.gouv.fr"
    # On-call paging (an HTTPS endpoint of the paging service); empty: e-mail only.
    alarm_paging_url: str = ""
    # From docs/capacity.md (tools/capacity.py): the busiest second's e-mails and the SES quota
    # requested for the busiest 24 hours. Alarm thresholds are derived from them.
    peak_emails_per_second: float = 2.62
    ses_daily_quota: int = 56000
    log_retention_days: int = 90
    # One full vCPU (1769 MB) for argon2 with p = 1, as docs/capacity.md assumes.
    function_memory_mb: int = 1769
    # HTTP API throttling: whole API, and the routes that hash or send.
    api_rate_limit: int = 200
    api_burst_limit: int = 400
    sensitive_route_rate_limit: int = 50
    sensitive_route_burst_limit: int = 100
    # WAF rate-based rules, requests per 5 minutes. One journey makes ~2 challenge calls; a
    # school's NAT address can carry several hundred teachers, so the per-IP limits are sized for
    # ~400 journeys per address and the tight limit is per address + portal session.
    waf_challenge_limit_per_session: int = 20
    waf_challenge_limit_per_ip: int = 1000
    waf_links_limit_per_ip: int = 1000
    waf_global_limit_per_ip: int = 5000
    # Rehearsal: rate rules count (CloudWatch metrics, WAF logs) instead of blocking.
    waf_count_only: bool = False
    # Declared academy egress ranges (IPv4 CIDRs): their per-IP limits are multiplied by
    # `waf_academy_limit_factor` (a rectorate's NAT carries thousands of staff).
    waf_academy_cidrs: tuple[str, ...] = ()
    waf_academy_limit_factor: int = 5
    # Alarms on the service's own metrics: count per 5 minutes that means an attack or a bug.
    lockout_alarm_threshold: int = 50
    identity_mismatch_alarm_threshold: int = 20
    error_rate_alarm_percent: int = 2
    # Journal (infra/supervision.py): digest interval, and how long Object Lock keeps each digest.
    journal_interval_minutes: int = 5
    journal_retention_days: int = 7
    # Rehearsals: trust the load-test issuer of portal sessions (never in prod, see
    # infra/load_test_issuer.py), and receive the rehearsal's e-mails (test sub-domain).
    load_test_issuer: bool = False

    @property
    def is_production(self) -> bool:
        return self.name == "prod"

    @property
    def public_base_url(self) -> str:
        return f"https://{self.domain_name}"

    @property
    def resource_prefix(self) -> str:
        return f"reassort-{self.name}"


STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(
        name="dev",
        account=None,
        region="eu-west-3",
        domain_name="reassort.dev.elections.example.gouv.fr",
        certificate_arn=None,
        election_opens_at="2026-01-01T00:00:00",
        election_closes_at="2027-12-31T23:59:59",
        log_retention_days=30,
        function_memory_mb=512,
        api_rate_limit=20,
        api_burst_limit=40,
        sensitive_route_rate_limit=5,
        sensitive_route_burst_limit=10,
        lockout_alarm_threshold=10,
        identity_mismatch_alarm_threshold=5,
    ),
    "recette": StageConfig(
        name="recette",
        account=None,
        region="eu-west-3",
        domain_name="reassort.recette.elections.example.gouv.fr",
        certificate_arn=None,
        election_opens_at="2026-01-01T00:00:00",
        election_closes_at="2027-12-31T23:59:59",
        sms_monthly_spend_limit_usd=200,
        log_retention_days=90,
        load_test_issuer=True,
    ),
    "prod": StageConfig(
        name="prod",
        account=None,
        region="eu-west-3",
        domain_name="reassort.elections.example.gouv.fr",
        certificate_arn=None,
        election_opens_at="2026-12-01T10:00:00",
        election_closes_at="2026-12-08T17:00:00",
        fc_issuer=FC_PRODUCTION_ISSUER,
        alarm_paging_url="https://astreinte.example.gouv.fr/hooks/reassort",
        # About 75 000 SMS at the expected peak of reissues, at roughly 0.08 USD each.
        sms_monthly_spend_limit_usd=8000,
        log_retention_days=400,
        journal_retention_days=400,
    ),
}


def stage_config(name: str, overrides: dict[str, Any] | None = None) -> StageConfig:
    """The configuration of one stage, with context overrides converted to the field's type."""
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r}; expected one of {', '.join(STAGE_NAMES)}")
    config = STAGES[name]
    if not overrides:
        return config
    fields = {field.name: field for field in dataclasses.fields(StageConfig)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in fields or key == "name":
            continue
        current = getattr(config, key)
        if isinstance(current, tuple) and isinstance(value, str):
            changes[key] = tuple(part.strip() for part in value.split(",") if part.strip())
        elif isinstance(current, bool) and isinstance(value, str):
            changes[key] = value.strip().lower() in ("1", "true", "yes")
        elif isinstance(current, int) and not isinstance(value, int):
            changes[key] = int(value)
        else:
            changes[key] = value
    return dataclasses.replace(config, **changes)


def context_overrides(get_context: Any) -> dict[str, Any]:
    """Every StageConfig field present in the CDK context (`-c field=value`)."""
    values = {}
    for field in dataclasses.fields(StageConfig):
        value = get_context(field.name)
        if value is not None:
            values[field.name] = value
    return values
