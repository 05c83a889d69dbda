"""Builds the stacks of one or several stages in a CDK app (used by app.py and the tests)."""

from __future__ import annotations

from aws_cdk import App, Stage, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from .edge_stack import EdgeStack
from .monitoring import CloudFrontAlarmsStack
from .sending import SmsSettingsStack
from .service_stack import ServiceStack
from .stages import StageConfig, context_overrides, stage_config

# Set before any construct exists, so the tests and the CLI synthesize the same templates.
FEATURE_FLAGS = {
    # Server access logs through a bucket policy rather than the legacy LogDeliveryWrite ACL.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


CROSS_STACK_REFERENCES = "@aws-cdk/core:defaultCrossStackReferences"


class ReassortStage(Stage):
    """One deployable stage: `<name>-edge` (us-east-1) then `<name>-service` (the stage's region)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        # The edge stack (us-east-1) hands the WAF and certificate ARNs over by Fn::GetStackOutput:
        # a strong cross-region reference (ExportWriter/ExportReader custom resources) fails with
        # "Exports cannot be updated" as soon as the certificate, the domain or the web ACL changes.
        self.node.set_context(CROSS_STACK_REFERENCES, "weak")
        self.config = config
        self.edge = EdgeStack(self, "edge", config=config, stack_name=f"{config.resource_prefix}-edge")
        self.service = ServiceStack(
            self,
            "service",
            config=config,
            web_acl_arn=self.edge.web_acl_arn,
            certificate_arn=self.edge.certificate_arn,
            stack_name=f"{config.resource_prefix}-service",
        )
        # Its own step: a refused SMS setting (sandbox, spend quota) never rolls the service back.
        self.sms = SmsSettingsStack(self, "sms", config=config, stack_name=f"{config.resource_prefix}-sms")
        self.sms.add_stack_dependency(self.service)
        self.cloudfront_alarms = CloudFrontAlarmsStack(
            self,
            "cloudfront-alarms",
            config=config,
            distribution_id=self.service.web.distribution.distribution_id,
            stack_name=f"{config.resource_prefix}-cloudfront-alarms",
        )


def add_stages(app: App, stage_names: list[str]) -> dict[str, ReassortStage]:
    """Context overrides (`-c field=value`) apply only when a single stage is synthesized."""
    overrides = context_overrides(app.node.try_get_context) if len(stage_names) == 1 else {}
    for flag, value in FEATURE_FLAGS.items():
        if app.node.try_get_context(flag) is None:
            app.node.set_context(flag, value)
    return {
        name: ReassortStage(app, f"reassort-{name}", config=stage_config(name, overrides))
        for name in stage_names
    }


def add_nag_checks(app: App) -> None:
    """AwsSolutions rules run at synthesis; an unacknowledged finding fails it."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
