"""HTTP API routes and throttling; CloudFront, WAF and the response headers in front of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.stages import STAGES
from infra.web_distribution import page_path_function_code

from .conftest import SynthesizedStage, logical_id_of

pytestmark = pytest.mark.infra

ROUTES = {
    "GET /api/reassort/challenge": "request_reassort",
    "POST /api/reassort/challenge": "request_reassort",
    "POST /api/links/check": "redeem",
    "POST /api/links/redeem": "redeem",
    "GET /api/fc/login": "fc_callback",
    "GET /api/fc/callback": "fc_callback",
    "GET /api/fc/logout-return": "fc_callback",
    # Any other method reaches the same function, which answers 405 with Allow.
    "ANY /api/reassort/challenge": "request_reassort",
    "ANY /api/links/check": "redeem",
    "ANY /api/links/redeem": "redeem",
    "ANY /api/fc/login": "fc_callback",
    "ANY /api/fc/callback": "fc_callback",
    "ANY /api/fc/logout-return": "fc_callback",
}


def only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.values()))["Properties"]


def test_given_the_api_then_each_route_reaches_its_function(prod: SynthesizedStage) -> None:
    integrations = prod.resources("AWS::ApiGatewayV2::Integration")
    functions = prod.stage.service.functions
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in prod.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == set(ROUTES)
    for route_key, function_attr in ROUTES.items():
        integration_id = routes[route_key]["Target"]["Fn::Join"][1][1]["Ref"]
        integration = integrations[integration_id]["Properties"]
        assert integration["PayloadFormatVersion"] == "2.0"
        function_id = logical_id_of(prod, getattr(functions, function_attr))
        assert integration["IntegrationUri"] == {"Fn::GetAtt": [function_id, "Arn"]}


def test_given_the_api_stage_then_it_is_throttled_and_tighter_on_hashing_routes(
    prod: SynthesizedStage,
) -> None:
    stage = only(prod.resources("AWS::ApiGatewayV2::Stage"))
    config = STAGES["prod"]
    assert stage["StageName"] == "$default"
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == config.api_rate_limit
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == config.api_burst_limit
    for route_key in ("POST /api/reassort/challenge", "POST /api/links/redeem"):
        assert stage["RouteSettings"][route_key]["ThrottlingRateLimit"] == config.sensitive_route_rate_limit
    # Route keys only: the FranceConnect callback's query string never reaches the access log.
    log_format = stage["AccessLogSettings"]["Format"]
    assert "$context.routeKey" in log_format
    assert "$context.path" not in log_format


def test_given_cloudfront_then_pages_come_from_a_private_bucket_and_api_from_the_http_api(
    prod: SynthesizedStage,
) -> None:
    distribution = only(prod.resources("AWS::CloudFront::Distribution"))["DistributionConfig"]
    origins = {o["Id"]: o for o in distribution["Origins"]}
    default = distribution["DefaultCacheBehavior"]
    page_origin = origins[default["TargetOriginId"]]
    assert "OriginAccessControlId" in page_origin
    assert page_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    [api_behavior] = distribution["CacheBehaviors"]
    assert api_behavior["PathPattern"] == "/api/*"
    assert set(api_behavior["AllowedMethods"]) >= {"GET", "POST"}
    assert api_behavior["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    api_origin = origins[api_behavior["TargetOriginId"]]
    assert "execute-api" in str(api_origin["DomainName"])
    assert api_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert distribution["Aliases"] == ["reassort.elections.example.gouv.fr"]
    assert distribution["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert "WebACLId" in distribution
    assert distribution["Logging"]["IncludeCookies"] is False

    buckets = prod.resources("AWS::S3::Bucket")
    for bucket in buckets.values():
        block = bucket["Properties"]["PublicAccessBlockConfiguration"]
        assert all(block[key] is True for key in block)


def test_given_the_headers_policies_then_pages_get_a_strict_csp_and_security_headers(
    prod: SynthesizedStage,
) -> None:
    policies = prod.resources("AWS::CloudFront::ResponseHeadersPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
        directives = dict(d.split(" ", 1) for d in csp.split("; ") if " " in d)
        assert directives["script-src"] == "'self'"
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert directives["frame-ancestors"] == "'none'"
        assert "https://oidc.franceconnect.gouv.fr" in directives["form-action"]
        assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
        assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
        assert headers["ContentTypeOptions"]["Override"] is True
        assert headers["FrameOptions"]["FrameOption"] == "DENY"


def test_given_the_web_acl_then_challenge_and_links_are_rate_limited_per_ip_and_managed_rules_apply(
    prod: SynthesizedStage,
) -> None:
    acl = only(prod.edge.find_resources("AWS::WAFv2::WebACL"))
    assert acl["Scope"] == "CLOUDFRONT"
    assert prod.stage.edge.region == "us-east-1"
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    scoped = {}
    for rule in rules.values():
        rate = rule["Statement"].get("RateBasedStatement")
        if rate and "ScopeDownStatement" in rate:
            match = rate["ScopeDownStatement"]["ByteMatchStatement"]
            scoped[match["SearchString"]] = (rate["AggregateKeyType"], rate["Limit"])
    config = STAGES["prod"]
    assert scoped == {
        "/api/reassort/challenge": ("IP", config.waf_challenge_limit_per_ip),
        "/api/links/": ("IP", config.waf_links_limit_per_ip),
    }
    managed = {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for rule in rules.values()
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert managed >= {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}


def test_given_a_service_stack_then_web_acl_and_certificate_come_from_the_edge_stack(
    prod: SynthesizedStage,
) -> None:
    distribution = only(prod.resources("AWS::CloudFront::Distribution"))["DistributionConfig"]
    # Cross-region references (us-east-1 → the stage's region), read by CDK's exports reader.
    web_acl = distribution["WebACLId"]["Fn::GetAtt"]
    certificate = distribution["ViewerCertificate"]["AcmCertificateArn"]["Fn::GetAtt"]
    assert web_acl[0].startswith("ExportsReader") and "WebAclArn" in web_acl[1]
    assert certificate[0].startswith("ExportsReader") and "Certificate" in certificate[1]
    assert len(prod.edge.find_resources("AWS::CertificateManager::Certificate")) == 1


def test_given_page_paths_then_the_viewer_function_maps_them_like_the_local_stack(tmp_path: Path) -> None:
    (tmp_path / "reassort" / "franceconnect").mkdir(parents=True)
    (tmp_path / "reassort" / "index.html").write_text("")
    (tmp_path / "index.html").write_text("")
    code = page_path_function_code(tmp_path)
    assert 'var DIRECTORIES = ["/reassort"];' in code
    assert "uri + '.html'" in code
    assert "uri + 'index.html'" in code
