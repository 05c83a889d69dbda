"""The three Lambda functions: one code asset (`functions/`), one dependency layer, one role each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from . import access_policies as policies
from .layer_bundling import DependencyLayer, function_code
from .stages import StageConfig
from .tables import ServiceTables

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
POWERTOOLS_SERVICE_NAME = "reassort"
METRICS_NAMESPACE = "Reassort"
LIVE_ALIAS = "live"
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/.pytest_cache"]


@dataclass(frozen=True)
class FunctionSpec:
    key: str  # construct id and name suffix
    module: str  # package under functions/
    description: str
    timeout_seconds: int


REQUEST_REASSORT = FunctionSpec(
    "request-reassort", "request_reassort", "Challenge: check the answer and send a link", 25
)
REDEEM = FunctionSpec("redeem", "redeem", "Check and redeem a single-use link", 10)
FC_CALLBACK = FunctionSpec("fc-callback", "fc_callback", "FranceConnect login, callback and logout", 25)


def function_environment(
    config: StageConfig,
    tables: ServiceTables,
    secret: secretsmanager.ISecret,
    configuration_set_name: str,
    origin_secret: secretsmanager.ISecret | None = None,
) -> dict[str, str]:
    """Environment of docs/architecture.md; identical for the three functions."""
    base_url = config.public_base_url
    environment = {
        "STAGE": config.name,
        "ELECTORS_TABLE": tables.electors.table_name,
        "LINKS_TABLE": tables.links.table_name,
        "FC_STATE_TABLE": tables.fc_state.table_name,
        "AUDIT_TABLE": tables.audit.table_name,
        "SECRETS_ID": secret.secret_arn,
        "ELECTION_OPENS_AT": config.election_opens_at,
        "ELECTION_CLOSES_AT": config.election_closes_at,
        "LINK_TTL_SECONDS": str(config.link_ttl_seconds),
        "CODE_DISPLAY_SECONDS": str(config.code_display_seconds),
        "MAX_FAILED_ATTEMPTS": str(config.max_failed_attempts),
        "LOCK_SECONDS": str(config.lock_seconds),
        "LINK_QUOTA": str(config.link_quota),
        "LINK_QUOTA_WINDOW_SECONDS": str(config.link_quota_window_seconds),
        "ARGON2_MEMORY_KIB": str(config.argon2_memory_kib),
        "ARGON2_TIME_COST": str(config.argon2_time_cost),
        "ARGON2_PARALLELISM": str(config.argon2_parallelism),
        "PROFESSIONAL_DOMAINS": config.professional_domains,
        "PUBLIC_BASE_URL": base_url,
        "MAIL_FROM": config.mail_from,
        "SES_CONFIGURATION_SET": configuration_set_name,
        "SMS_SENDER_ID": config.sms_sender_id,
        "AUDIT_RETENTION_DAYS": str(config.audit_retention_days),
        "PORTAL_ISSUER": config.portal_issuer,
        "PORTAL_AUDIENCE": config.portal_audience,
        "PORTAL_JWKS_URL": config.portal_jwks_url,
        "FC_ISSUER": config.fc_issuer,
        "FC_REDIRECT_URI": f"{base_url}/api/fc/callback",
        "FC_POST_LOGOUT_REDIRECT_URI": f"{base_url}/api/fc/logout-return",
        "FC_ID_TOKEN_ALG": config.fc_id_token_alg,
        "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        # Responses carry the new vote code and errors may quote inputs: keep both out of traces.
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
    }
    if config.fc_client_id:
        environment["FC_CLIENT_ID"] = config.fc_client_id
    if origin_secret is not None:
        # Requests without CloudFront's origin header went around the WAF: refused.
        environment["ORIGIN_VERIFY_SECRET_ID"] = origin_secret.secret_arn
    return environment


class ServiceFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        tables: ServiceTables,
        secret: secretsmanager.ISecret,
        configuration_set_name: str,
        origin_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.aliases: dict[str, lambda_.Alias] = {}
        stack = Stack.of(self)
        self.layer = DependencyLayer(self, "Dependencies").layer
        self.code = function_code(FUNCTIONS_DIR, CODE_EXCLUDES)
        self.environment = function_environment(config, tables, secret, configuration_set_name, origin_secret)

        electors, links, fc_state, audit = tables.electors, tables.links, tables.fc_state, tables.audit
        email = policies.send_email(stack, config.ses_identity, configuration_set_name)
        self.request_reassort = self._function(
            REQUEST_REASSORT,
            [
                policies.table_actions(electors, ["GetItem"]),
                policies.elector_updates(electors, policies.CHALLENGE_WRITABLE_ELECTOR_ATTRIBUTES),
                policies.table_actions(links, ["GetItem", "PutItem", "UpdateItem", "DeleteItem"]),
                policies.table_actions(audit, ["PutItem"]),
                policies.read_secret(secret),
                policies.read_secret(origin_secret),
                email,
                policies.send_sms(),
            ],
        )
        self.redeem = self._function(
            REDEEM,
            [
                policies.table_actions(electors, ["GetItem", "ConditionCheckItem"]),
                policies.elector_updates(electors, policies.REDEEM_WRITABLE_ELECTOR_ATTRIBUTES),
                policies.table_actions(links, ["GetItem", "UpdateItem", "ConditionCheckItem"]),
                policies.table_actions(audit, ["PutItem"]),
                policies.read_secret(secret),
                policies.read_secret(origin_secret),
            ],
        )
        self.fc_callback = self._function(
            FC_CALLBACK,
            [
                policies.table_actions(electors, ["GetItem"]),
                policies.elector_updates(electors, policies.CHALLENGE_WRITABLE_ELECTOR_ATTRIBUTES),
                policies.table_actions(links, ["GetItem", "PutItem", "UpdateItem", "DeleteItem"]),
                policies.table_actions(fc_state, ["GetItem", "PutItem", "UpdateItem", "DeleteItem"]),
                policies.table_actions(audit, ["PutItem"]),
                policies.read_secret(secret),
                policies.read_secret(origin_secret),
                email,
            ],
        )

    @property
    def all(self) -> list[lambda_.Function]:
        return [self.request_reassort, self.redeem, self.fc_callback]

    def _function(self, spec: FunctionSpec, statements: list[iam.PolicyStatement]) -> lambda_.Function:
        config = self._config
        function_name = f"{config.resource_prefix}-{spec.key}"
        log_group = logs.LogGroup(
            self,
            f"{spec.module}-logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
            if config.is_production
            else RemovalPolicy.DESTROY,
        )
        # An explicit role without AWSLambdaBasicExecutionRole: logs only to its own log group.
        role = iam.Role(
            self,
            f"{spec.module}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{function_name}: only its tables, secret and sending rights",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        for statement in statements:
            role.add_to_policy(statement)
        function = lambda_.Function(
            self,
            spec.module,
            function_name=function_name,
            description=spec.description,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            code=self.code,
            handler=f"{spec.module}.handler.lambda_handler",
            layers=[self.layer],
            memory_size=config.function_memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            environment=self.environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            # Cold starts restore a snapshot taken after the imports (reassort/snapstart.py);
            # only published versions have one, so API Gateway calls the `live` alias.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS,
        )
        self.aliases[spec.key] = lambda_.Alias(
            self, f"{spec.module}-live", alias_name=LIVE_ALIAS, version=function.current_version
        )
        default_policy = role.node.find_child("DefaultPolicy")
        Validations.of(default_policy).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permission.",
            ),
        )
        Validations.of(function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason=(
                    "Python 3.13 on purpose: the dependency layer is built for cp313 wheels; moving to a "
                    "newer runtime means rebuilding and retesting the layer."
                ),
            )
        )
        return function


RETENTION_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
}


def retention_days(days: int) -> logs.RetentionDays:
    """The nearest CloudWatch Logs retention at or above the configured number of days."""
    for limit, retention in sorted(RETENTION_BY_DAYS.items()):
        if limit >= days:
            return retention
    return logs.RetentionDays.TWO_YEARS
