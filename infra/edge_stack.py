"""Resources CloudFront requires in us-east-1: the WAF web ACL and the TLS certificate."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from .monitoring import add_paging, alarm_topic, notifying_alarm
from .service_functions import retention_days
from .stages import StageConfig

CLOUDFRONT_REGION = "us-east-1"
RATE_WINDOW_SECONDS = 300
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


def _path_starts_with(prefix: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string=prefix,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")],
        )
    )


# What an elector's page shows when a rate rule blocks (web/assets/js/api.js reads `message`).
RATE_LIMITED_BODY_KEY = "rate_limited"
RATE_LIMITED_BODY = {
    "code": "RATE_LIMITED",
    "message": (
        "Le service reçoit actuellement beaucoup de demandes depuis votre réseau. "
        "Patientez quelques minutes puis réessayez."
    ),
}
# The portal session cookie: one elector's journey, whatever address their school shares.
SESSION_COOKIE = "portal_session"
# Redacted from the WAF logs: the query string (FranceConnect `code` and `state`), the session
# cookie, any bearer token and the Referer (a previous page's query string). Link tokens travel
# in a fragment or a body, which WAF never logs.
REDACTED_HEADERS = ("cookie", "authorization", "referer")
# Blocked requests per 5 minutes worth a look: a school blocked by mistake or an attack under way.
WAF_BLOCKS_ALARM_THRESHOLD = 100


def _rate_action(count_only: bool) -> wafv2.CfnWebACL.RuleActionProperty:
    if count_only:
        return wafv2.CfnWebACL.RuleActionProperty(count={})
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=429,
                custom_response_body_key=RATE_LIMITED_BODY_KEY,
                response_headers=[
                    wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                        name="Retry-After", value=str(RATE_WINDOW_SECONDS)
                    )
                ],
            )
        )
    )


def _rate_rule(
    name: str,
    priority: int,
    limit: int,
    path_prefix: str | None,
    *,
    count_only: bool,
    per_session: bool = False,
    also: wafv2.CfnWebACL.StatementProperty | None = None,
) -> wafv2.CfnWebACL.RuleProperty:
    statement: dict[str, Any] = {"limit": limit, "evaluation_window_sec": RATE_WINDOW_SECONDS}
    if per_session:
        # Address and portal session together: teachers behind one academy NAT each get their own
        # budget. A request without the cookie is not counted here (the per-IP rule still is).
        statement["aggregate_key_type"] = "CUSTOM_KEYS"
        statement["custom_keys"] = [
            wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(ip={}),
            wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                cookie=wafv2.CfnWebACL.RateLimitCookieProperty(
                    name=SESSION_COOKIE,
                    text_transformations=[
                        wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                    ],
                )
            ),
        ]
    else:
        statement["aggregate_key_type"] = "IP"
    if path_prefix:
        scope = _path_starts_with(path_prefix)
        if also is not None:  # narrowed further, e.g. to or away from the academy ranges
            scope = wafv2.CfnWebACL.StatementProperty(
                and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=[scope, also])
            )
        statement["scope_down_statement"] = scope
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(**statement)
        ),
        action=_rate_action(count_only),
        visibility_config=_visibility(name),
    )


def _managed_rule(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name
            )
        ),
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        visibility_config=_visibility(name),
    )


def _ip_set_match(ip_set_arn: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        ip_set_reference_statement=wafv2.CfnWebACL.IPSetReferenceStatementProperty(arn=ip_set_arn)
    )


PER_IP_RULES = (
    ("RateChallengePerIp", 10, "waf_challenge_limit_per_ip", "/api/reassort/challenge"),
    ("RateLinksPerIp", 11, "waf_links_limit_per_ip", "/api/links/"),
    ("RateApiPerIp", 12, "waf_global_limit_per_ip", "/api/"),
)


def web_acl_rules(
    config: StageConfig, academy_ip_set_arn: str | None = None
) -> list[wafv2.CfnWebACL.RuleProperty]:
    """Reputation list first, then rates on the routes that hash or send (per journey, and per
    address sized for a school's shared NAT), then the API as a whole; pages and assets are
    outside every per-IP budget. Declared academy ranges get the per-IP limits times
    `waf_academy_limit_factor`. `waf_count_only` (rehearsal) counts instead of blocking."""
    count = config.waf_count_only
    rules = [
        _managed_rule(MANAGED_RULE_GROUPS[0], 0),
        _rate_rule(
            "RateChallengePerSession",
            9,
            config.waf_challenge_limit_per_session,
            "/api/reassort/challenge",
            count_only=count,
            per_session=True,
        ),
    ]
    for name, priority, limit_field, prefix in PER_IP_RULES:
        limit = getattr(config, limit_field)
        if academy_ip_set_arn is None:
            rules.append(_rate_rule(name, priority, limit, prefix, count_only=count))
            continue
        academy = _ip_set_match(academy_ip_set_arn)
        not_academy = wafv2.CfnWebACL.StatementProperty(
            not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=academy)
        )
        rules.append(_rate_rule(name, priority, limit, prefix, count_only=count, also=not_academy))
        rules.append(
            _rate_rule(
                name.replace("PerIp", "PerAcademyIp"),
                priority + 3,
                limit * config.waf_academy_limit_factor,
                prefix,
                count_only=count,
                also=academy,
            )
        )
    rules += [_managed_rule(MANAGED_RULE_GROUPS[1], 20), _managed_rule(MANAGED_RULE_GROUPS[2], 21)]
    return rules


class EdgeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=CLOUDFRONT_REGION),
            cross_region_references=True,
            description=f"Vote-code reissue ({config.name}): CloudFront WAF and certificate",
            **kwargs,
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{config.resource_prefix}-edge",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=web_acl_rules(config, self._academy_ip_set(config)),
            custom_response_bodies={
                RATE_LIMITED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content=json.dumps(RATE_LIMITED_BODY, ensure_ascii=False), content_type="APPLICATION_JSON"
                )
            },
            visibility_config=_visibility(f"{config.resource_prefix}-edge"),
        )
        self.web_acl_arn = self.web_acl.attr_arn
        self._log_requests(config)
        self._alarm_on_blocks(config)
        if config.certificate_arn:
            self.certificate_arn = config.certificate_arn
        else:
            # DNS validation: the stack waits until the CNAME shown in the ACM console is published.
            certificate = acm.Certificate(
                self,
                "Certificate",
                domain_name=config.domain_name,
                validation=acm.CertificateValidation.from_dns(),
            )
            self.certificate_arn = certificate.certificate_arn

    def _academy_ip_set(self, config: StageConfig) -> str | None:
        if not config.waf_academy_cidrs:
            return None
        return wafv2.CfnIPSet(
            self,
            "AcademyRanges",
            name=f"{config.resource_prefix}-academies",
            description="Declared egress ranges of the academies (higher per-IP limits)",
            scope="CLOUDFRONT",
            ip_address_version="IPV4",
            addresses=list(config.waf_academy_cidrs),
        ).attr_arn

    def _alarm_on_blocks(self, config: StageConfig) -> None:
        """WAF metrics of a CloudFront web ACL live in us-east-1: their alarm and topic too."""
        topic = alarm_topic(self, config, "EdgeAlarmTopic", "edge-alarms")
        add_paging(topic, config)
        blocked = cloudwatch.Metric(
            namespace="AWS/WAFV2",
            metric_name="BlockedRequests",
            dimensions_map={"WebACL": f"{config.resource_prefix}-edge", "Rule": "ALL"},
            statistic="Sum",
            period=Duration.minutes(5),
        )
        notifying_alarm(
            self,
            "WafBlocks",
            config,
            topic,
            blocked,
            WAF_BLOCKS_ALARM_THRESHOLD,
            "Many requests blocked by the WAF: an attack, or a school's address rate-limited",
        )

    def _log_requests(self, config: StageConfig) -> None:
        """Every request the WAF sees (the access log of the service), personal fields redacted.

        CloudFront's standard logs always record the query string, so they are off; this log
        replaces them. The group name must start with `aws-waf-logs-`.
        """
        group = logs.LogGroup(
            self,
            "WafLogs",
            log_group_name=f"aws-waf-logs-{config.resource_prefix}",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
            if config.is_production
            else RemovalPolicy.DESTROY,
        )
        redacted = [wafv2.CfnLoggingConfiguration.FieldToMatchProperty(query_string={})]
        redacted += [
            wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": name})
            for name in REDACTED_HEADERS
        ]
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=f"aws-waf-logs-{config.resource_prefix}",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=redacted,
        ).node.add_dependency(group)
