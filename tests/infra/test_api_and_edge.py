"""HTTP API routes and throttling; CloudFront, WAF and the response headers in front of it."""

from __future__ import annotations

import json
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
        # The `live` alias of a published version: SnapStart snapshots exist for versions only.
        alias_id = integration["IntegrationUri"]["Ref"]
        alias = prod.resources("AWS::Lambda::Alias")[alias_id]["Properties"]
        assert alias["Name"] == "live" and alias["FunctionName"] == {"Ref": function_id}
        version = prod.resources("AWS::Lambda::Version")[alias["FunctionVersion"]["Fn::GetAtt"][0]]
        assert version["Properties"]["FunctionName"] == {"Ref": function_id}
        function = prod.resources("AWS::Lambda::Function")[function_id]["Properties"]
        assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}


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
    assert "Logging" not in distribution  # no query strings in logs: the WAF log replaces them

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


def test_given_the_web_acl_then_sensitive_routes_are_rate_limited_per_session_and_per_school_address(
    prod: SynthesizedStage,
) -> None:
    acl = only(prod.edge.find_resources("AWS::WAFv2::WebACL"))
    assert acl["Scope"] == "CLOUDFRONT"
    assert prod.stage.edge.region == "us-east-1"
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    scoped = {}
    for name, rule in rules.items():
        rate = rule["Statement"].get("RateBasedStatement")
        if rate:
            # Pages and assets are outside every per-IP budget: each rate rule is scoped to the API.
            match = rate["ScopeDownStatement"]["ByteMatchStatement"]
            scoped[name] = (match["SearchString"], rate["AggregateKeyType"], rate["Limit"])
            block = rule["Action"]["Block"]["CustomResponse"]
            assert block["ResponseCode"] == 429 and block["CustomResponseBodyKey"] == "rate_limited"
    config = STAGES["prod"]
    assert scoped == {
        "RateChallengePerSession": (
            "/api/reassort/challenge",
            "CUSTOM_KEYS",
            config.waf_challenge_limit_per_session,
        ),
        "RateChallengePerIp": ("/api/reassort/challenge", "IP", config.waf_challenge_limit_per_ip),
        "RateLinksPerIp": ("/api/links/", "IP", config.waf_links_limit_per_ip),
        "RateApiPerIp": ("/api/", "IP", config.waf_global_limit_per_ip),
    }
    keys = rules["RateChallengePerSession"]["Statement"]["RateBasedStatement"]["CustomKeys"]
    assert keys == [
        {"IP": {}},
        {"Cookie": {"Name": "portal_session", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}},
    ]
    # A school NAT carries hundreds of teachers (~2 challenge calls per journey).
    assert config.waf_challenge_limit_per_ip >= 200 * 2
    body = json.loads(acl["CustomResponseBodies"]["rate_limited"]["Content"])
    assert body["code"] == "RATE_LIMITED" and "réessayez" in body["message"]
    managed = {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for rule in rules.values()
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert managed >= {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}


def test_given_rehearsal_count_mode_then_rate_rules_count_instead_of_blocking() -> None:
    from infra.edge_stack import web_acl_rules
    from infra.stages import stage_config

    rehearsal = stage_config("recette", {"waf_count_only": "true"})
    rate_rules = [rule for rule in web_acl_rules(rehearsal) if rule.statement.rate_based_statement]

    assert rate_rules and all(
        rule.action.count is not None and rule.action.block is None for rule in rate_rules
    )


def test_given_a_service_stack_then_web_acl_and_certificate_come_from_the_edge_stack_by_weak_reference(
    prod: SynthesizedStage,
) -> None:
    distribution = only(prod.resources("AWS::CloudFront::Distribution"))["DistributionConfig"]
    # Fn::GetStackOutput: replacing the certificate or the web ACL never meets a locked export.
    web_acl = distribution["WebACLId"]["Fn::GetStackOutput"]
    certificate = distribution["ViewerCertificate"]["AcmCertificateArn"]["Fn::GetStackOutput"]
    assert web_acl["StackName"] == certificate["StackName"] == "reassort-prod-edge"
    assert web_acl["Region"] == "us-east-1" and "WebAclArn" in web_acl["OutputName"]
    assert "Certificate" in certificate["OutputName"]
    custom_types = {r["Type"] for r in prod.service_json["Resources"].values()}
    custom_types |= {r["Type"] for r in prod.edge.to_json()["Resources"].values()}
    assert not [t for t in custom_types if "CrossRegion" in t or "Export" in t]
    assert len(prod.edge.find_resources("AWS::CertificateManager::Certificate")) == 1


def test_given_the_api_origin_then_cloudfront_proves_itself_to_every_function(prod: SynthesizedStage) -> None:
    distribution = only(prod.resources("AWS::CloudFront::Distribution"))["DistributionConfig"]
    [api_origin] = [o for o in distribution["Origins"] if "CustomOriginConfig" in o]
    [header] = api_origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Origin-Verify"
    reference = json.dumps(header["HeaderValue"])
    [(secret_id, _)] = [
        (logical_id, secret)
        for logical_id, secret in prod.resources("AWS::SecretsManager::Secret").items()
        if "origin-verify" in secret["Properties"]["Name"]
    ]
    assert "resolve:secretsmanager" in reference and secret_id in reference
    for function in prod.resources("AWS::Lambda::Function").values():
        environment = function["Properties"].get("Environment", {}).get("Variables", {})
        if "SECRETS_ID" in environment:
            assert environment["ORIGIN_VERIFY_SECRET_ID"] == {"Ref": secret_id}


def test_given_logs_then_no_query_string_session_or_token_is_recorded(prod: SynthesizedStage) -> None:
    distribution = only(prod.resources("AWS::CloudFront::Distribution"))["DistributionConfig"]
    assert "Logging" not in distribution  # standard logs always record the query string
    logging = only(prod.edge.find_resources("AWS::WAFv2::LoggingConfiguration"))
    redacted = logging["RedactedFields"]
    assert {"QueryString": {}} in redacted
    assert {"SingleHeader": {"Name": "cookie"}} in redacted
    assert {"SingleHeader": {"Name": "authorization"}} in redacted
    assert {"SingleHeader": {"Name": "referer"}} in redacted
    [group] = prod.edge.find_resources("AWS::Logs::LogGroup").values()
    assert group["Properties"]["LogGroupName"].startswith("aws-waf-logs-")


def test_given_page_paths_then_the_viewer_function_maps_them_like_the_local_stack(tmp_path: Path) -> None:
    (tmp_path / "reassort" / "franceconnect").mkdir(parents=True)
    (tmp_path / "reassort" / "index.html").write_text("")
    (tmp_path / "index.html").write_text("")
    code = page_path_function_code(tmp_path)
    assert 'var DIRECTORIES = ["/reassort"];' in code
    assert "uri + '.html'" in code
    assert "uri + 'index.html'" in code


def test_given_declared_academy_ranges_then_they_get_higher_per_ip_limits_and_others_do_not() -> None:
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra.edge_stack import EdgeStack
    from infra.stages import stage_config

    config = stage_config("recette", {"waf_academy_cidrs": "192.0.2.0/24, 198.51.100.0/24"})
    stack = EdgeStack(App(), "edge", config=config)
    template = Template.from_stack(stack)

    [ip_set] = template.find_resources("AWS::WAFv2::IPSet").values()
    assert ip_set["Properties"]["Addresses"] == ["192.0.2.0/24", "198.51.100.0/24"]
    [acl] = template.find_resources("AWS::WAFv2::WebACL").values()
    rules = {
        rule["Name"]: rule["Statement"]["RateBasedStatement"]
        for rule in acl["Properties"]["Rules"]
        if "RateBasedStatement" in rule["Statement"]
    }
    factor = config.waf_academy_limit_factor
    assert rules["RateChallengePerAcademyIp"]["Limit"] == factor * config.waf_challenge_limit_per_ip
    assert rules["RateChallengePerIp"]["Limit"] == config.waf_challenge_limit_per_ip
    outside = rules["RateChallengePerIp"]["ScopeDownStatement"]["AndStatement"]["Statements"][1]
    inside = rules["RateChallengePerAcademyIp"]["ScopeDownStatement"]["AndStatement"]["Statements"][1]
    assert "IPSetReferenceStatement" in outside["NotStatement"]["Statement"]
    assert "IPSetReferenceStatement" in inside
    priorities = [rule["Priority"] for rule in acl["Properties"]["Rules"]]
    assert len(priorities) == len(set(priorities))
