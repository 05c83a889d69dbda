"""HTTP API (payload v2) with the routes of docs/architecture.md; CloudFront sends /api/* here."""

from __future__ import annotations

import jsii
from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .stages import StageConfig

GET = apigwv2.HttpMethod.GET
POST = apigwv2.HttpMethod.POST
ANY = apigwv2.HttpMethod.ANY

# Routes that hash secrets or send messages get a tighter throttle than the rest of the API.
SENSITIVE_ROUTE_KEYS = ("POST /api/reassort/challenge", "POST /api/links/redeem", "POST /api/links/check")

# Route keys only: paths and query strings (FranceConnect code and state) stay out of the logs.
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","routeKey":"$context.routeKey",'
    '"status":"$context.status","responseLength":"$context.responseLength",'
    '"latency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",'
    '"integrationError":"$context.integrationErrorMessage"}'
)


@jsii.implements(apigwv2.IAccessLogSettings)
class AccessLogSettings:
    def __init__(self, destination: apigwv2.IAccessLogDestination, log_format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


class ServiceHttpApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        request_reassort: lambda_.IFunction,
        redeem: lambda_.IFunction,
        fc_callback: lambda_.IFunction,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=f"{config.resource_prefix}-api",
            description="Vote-code reissue API, reached through CloudFront",
            create_default_stage=False,
        )
        routes: list[apigwv2.HttpRoute] = []
        for function, path, methods in (
            (request_reassort, "/api/reassort/challenge", [GET, POST]),
            (redeem, "/api/links/check", [POST]),
            (redeem, "/api/links/redeem", [POST]),
            (fc_callback, "/api/fc/login", [GET]),
            (fc_callback, "/api/fc/callback", [GET]),
            (fc_callback, "/api/fc/logout-return", [GET]),
        ):
            integration = integrations.HttpLambdaIntegration(
                f"{function.node.id}-{path}-integration", function
            )
            # ANY beside the real methods: a wrong method reaches the function, which answers
            # 405 METHOD_NOT_ALLOWED with Allow (docs/errors.md), not API Gateway's bare 404.
            routes += self.api.add_routes(path=path, methods=[*methods, ANY], integration=integration)
        self.routes = routes

        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
            if config.is_production
            else RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.api_rate_limit, burst_limit=config.api_burst_limit
            ),
            access_log_settings=AccessLogSettings(
                apigwv2.LogGroupLogDestination(access_logs), apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT)
            ),
        )
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.route_settings = {
            route_key: {
                "ThrottlingRateLimit": config.sensitive_route_rate_limit,
                "ThrottlingBurstLimit": config.sensitive_route_burst_limit,
            }
            for route_key in SENSITIVE_ROUTE_KEYS
        }
        # Route settings name routes that must exist before the stage is updated.
        for route in routes:
            self.stage.node.add_dependency(route)

        for route in routes:
            Validations.of(route).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-APIG4",
                    reason=(
                        "Authorisation is in the functions: the portal session JWT may arrive as a "
                        "cookie (an HTTP API JWT authoriser reads headers only), the link routes are "
                        "authorised by the single-use token in the body, FranceConnect routes by state."
                    ),
                )
            )
