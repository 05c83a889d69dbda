"""CloudFront: the pages from a private bucket (OAC) and /api/* from the HTTP API, one origin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from aws_cdk import (
    Acknowledgment,
    Annotations,
    DefaultStackSynthesizer,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .stages import StageConfig

# The pages rendered from the `web/` templates by `make web-assets`.
WEB_DIR = Path(__file__).resolve().parent.parent / "build" / "site"
# Added by CloudFront to every request it forwards to the API (functions/reassort/origin.py).
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"

# Same mapping as the local stack: `/a/` and a directory `/a` → `a/index.html`, `/a/b` → `a/b.html`.
PAGE_PATH_FUNCTION = """\
var DIRECTORIES = %s;
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.endsWith('/')) {
    request.uri = uri + 'index.html';
  } else if (DIRECTORIES.indexOf(uri) >= 0) {
    request.uri = uri + '/index.html';
  } else if (uri.lastIndexOf('.') < uri.lastIndexOf('/')) {
    request.uri = uri + '.html';
  }
  return request;
}
"""


def page_path_function_code(web_dir: Path = WEB_DIR) -> str:
    """The CloudFront function, knowing the page directories that have an index.html."""
    directories = sorted(
        "/" + index.parent.relative_to(web_dir).as_posix()
        for index in web_dir.glob("**/index.html")
        if index.parent != web_dir and "vendor" not in index.parts
    )
    return PAGE_PATH_FUNCTION % json.dumps(directories)


def content_security_policy(config: StageConfig) -> str:
    """No inline script or style; forms may only lead to this origin or to FranceConnect."""
    issuer = urlsplit(config.fc_issuer)
    franceconnect_origin = f"{issuer.scheme}://{issuer.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"form-action 'self' {franceconnect_origin}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
            "upgrade-insecure-requests",
        ]
    )


def security_headers(config: StageConfig) -> cloudfront.ResponseSecurityHeadersBehavior:
    return cloudfront.ResponseSecurityHeadersBehavior(
        content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
            content_security_policy=content_security_policy(config), override=True
        ),
        strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
            access_control_max_age=Duration.days(730), include_subdomains=True, override=True
        ),
        referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
            referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
        ),
        content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
        frame_options=cloudfront.ResponseHeadersFrameOptions(
            frame_option=cloudfront.HeadersFrameOption.DENY, override=True
        ),
    )


EXTRA_HEADERS = {
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def custom_headers(no_store_by_default: bool) -> cloudfront.ResponseCustomHeadersBehavior:
    headers = [
        cloudfront.ResponseCustomHeader(header=name, value=value, override=True)
        for name, value in EXTRA_HEADERS.items()
    ]
    if no_store_by_default:
        # The function's own Cache-Control wins; any API answer without one is never stored.
        headers.append(
            cloudfront.ResponseCustomHeader(header="Cache-Control", value="no-store", override=False)
        )
    return cloudfront.ResponseCustomHeadersBehavior(custom_headers=headers)


class WebDistribution(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        api: apigwv2.HttpApi,
        origin_secret: secretsmanager.ISecret,
        web_acl_arn: str,
        certificate_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        removal = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if config.is_production else RemovalPolicy.DESTROY

        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # CloudFront standard logs are delivered with an ACL.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.log_retention_days))],
            removal_policy=removal,
        )
        Validations.of(self.log_bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the access-log bucket itself; logging its own accesses would loop.",
            )
        )
        self.web_bucket = s3.Bucket(
            self,
            "Pages",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3-pages/",
            removal_policy=removal,
        )

        pages_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "PageHeaders",
            comment="Security headers of the pages",
            security_headers_behavior=security_headers(config),
            custom_headers_behavior=custom_headers(no_store_by_default=False),
        )
        api_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "ApiHeaders",
            comment="Security headers of /api/*; no-store unless the function says otherwise",
            security_headers_behavior=security_headers(config),
            custom_headers_behavior=custom_headers(no_store_by_default=True),
        )
        page_paths = cloudfront.Function(
            self,
            "PagePaths",
            code=cloudfront.FunctionCode.from_inline(page_path_function_code()),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="Map page paths to the HTML objects",
        )
        api_domain = f"{api.api_id}.execute-api.{stack.region}.{stack.url_suffix}"
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"Vote-code reissue ({config.name})",
            domain_names=[config.domain_name],
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn),
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            # Electors work overseas and abroad too: every edge location.
            price_class=cloudfront.PriceClass.PRICE_CLASS_ALL,
            web_acl_id=web_acl_arn,
            default_root_object="index.html",
            # No standard logs: they always record the query string (FranceConnect `code` and
            # `state`). The WAF log (us-east-1, personal fields redacted) is the access log.
            enable_logging=False,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.web_bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=pages_policy,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=page_paths, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            additional_behaviors={
                "/api/*": cloudfront.BehaviorOptions(
                    origin=origins.HttpOrigin(
                        api_domain,
                        protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                        origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                        # Proof that the request went through this distribution and its WAF; it
                        # replaces any header of that name sent by the viewer.
                        custom_headers={ORIGIN_VERIFY_HEADER: origin_secret.secret_value.unsafe_unwrap()},
                    ),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=api_policy,
                ),
            },
        )
        Validations.of(self.distribution).acknowledge(
            Acknowledgment(
                id="AwsSolutions-CFR3",
                reason=(
                    "Standard logs always record query strings (FranceConnect code and state); every "
                    "request is logged by the WAF instead, with query string, cookie and authorization "
                    "redacted."
                ),
            )
        )
        Validations.of(self.distribution).acknowledge(
            Acknowledgment(
                id="AwsSolutions-CFR1",
                reason="No geo restriction: electors vote from overseas territories and from abroad.",
            )
        )
        self._deploy_pages()

    def _deploy_pages(self) -> None:
        if not WEB_DIR.is_dir() or not any(WEB_DIR.iterdir()):
            Annotations.of(self).add_warning_v2(
                "reassort:web-missing", f"{WEB_DIR} is empty: no pages deployed"
            )
            return
        deployment = s3deploy.BucketDeployment(
            self,
            "DeployPages",
            sources=[s3deploy.Source.asset(str(WEB_DIR))],
            destination_bucket=self.web_bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            memory_limit=512,
        )
        self.pages_deployment = deployment
        acknowledge_deployment_handler(self, self.web_bucket)


def acknowledge_deployment_handler(scope: Construct, bucket: s3.Bucket) -> None:
    """CDK's own Lambda that copies the pages from the asset bucket; it runs only at deployment.

    Each wildcard finding is acknowledged by its exact id (cdk-nag v3 has no prefix match).
    """
    stack = Stack.of(scope)
    handlers = [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    asset_bucket = f"arn:<AWS::Partition>:s3:::cdk-{qualifier}-assets-{account}-{stack.region}/*"
    bucket_logical_id = stack.get_logical_id(cast(s3.CfnBucket, bucket.node.default_child))
    wildcard_reason = (
        "Granted by BucketDeployment to copy the page assets into the pages bucket and clear stale "
        "objects; limited to the CDK asset bucket and the pages bucket."
    )
    for handler in handlers:
        Validations.of(handler).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                reason="CDK's page deployment function only writes its own logs with the basic role.",
            ),
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="The runtime of CDK's page deployment function is set by aws-cdk-lib.",
            ),
            *(
                Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=wildcard_reason)
                for finding in (
                    "Action::s3:GetObject*",
                    "Action::s3:GetBucket*",
                    "Action::s3:List*",
                    "Action::s3:DeleteObject*",
                    "Action::s3:Abort*",
                    f"Resource::{asset_bucket}",
                    f"Resource::<{bucket_logical_id}.Arn>/*",
                )
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="cloudfront:CreateInvalidation/GetInvalidation support no resource-level permission here.",
            ),
        )
