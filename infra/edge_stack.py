"""Resources CloudFront requires in us-east-1: the WAF web ACL and the TLS certificate."""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

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


def _rate_rule(name: str, priority: int, limit: int, path_prefix: str | None) -> wafv2.CfnWebACL.RuleProperty:
    statement: dict[str, Any] = {
        "limit": limit,
        "aggregate_key_type": "IP",
        "evaluation_window_sec": RATE_WINDOW_SECONDS,
    }
    if path_prefix:
        statement["scope_down_statement"] = _path_starts_with(path_prefix)
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(**statement)
        ),
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(response_code=429)
            )
        ),
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


def web_acl_rules(config: StageConfig) -> list[wafv2.CfnWebACL.RuleProperty]:
    """Reputation list first, then per-IP rates on the routes that hash or send, then the rest."""
    return [
        _managed_rule(MANAGED_RULE_GROUPS[0], 0),
        _rate_rule("RateChallengePerIp", 10, config.waf_challenge_limit_per_ip, "/api/reassort/challenge"),
        _rate_rule("RateLinksPerIp", 11, config.waf_links_limit_per_ip, "/api/links/"),
        _rate_rule("RateAllPerIp", 12, config.waf_global_limit_per_ip, None),
        _managed_rule(MANAGED_RULE_GROUPS[1], 20),
        _managed_rule(MANAGED_RULE_GROUPS[2], 21),
    ]


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
            rules=web_acl_rules(config),
            visibility_config=_visibility(f"{config.resource_prefix}-edge"),
        )
        self.web_acl_arn = self.web_acl.attr_arn
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
