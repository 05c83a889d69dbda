"""E-mail (SES configuration set) and SMS (account-level SNS settings)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Environment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ses as ses
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from .stages import StageConfig

# Events published as CloudWatch metrics (dimension = configuration set) for the dashboard.
TRACKED_EMAIL_EVENTS = [
    ses.EmailSendingEvent.SEND,
    ses.EmailSendingEvent.DELIVERY,
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.REJECT,
    ses.EmailSendingEvent.DELIVERY_DELAY,
    ses.EmailSendingEvent.RENDERING_FAILURE,
]
CONFIGURATION_SET_DIMENSION = "ses:configuration-set"
# Construct id of the singleton Lambda that CDK creates for every AwsCustomResource of a stack.
CUSTOM_RESOURCE_PROVIDER_ID = "AWS679f53fac002430cb0da5b7982bd2287"


class EmailSending(Construct):
    """Configuration set: TLS required, bounces and complaints suppressed and counted."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.configuration_set_name = f"{config.resource_prefix}-mail"
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=self.configuration_set_name,
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
        )
        # CloudWatch only: SNS or EventBridge notifications would carry recipients' addresses.
        self.configuration_set.add_event_destination(
            "Metrics",
            destination=ses.EventDestination.cloud_watch_dimensions(
                [
                    ses.CloudWatchDimension(
                        name=CONFIGURATION_SET_DIMENSION,
                        source=ses.CloudWatchDimensionSource.MESSAGE_TAG,
                        default_value=self.configuration_set_name,
                    )
                ]
            ),
            events=TRACKED_EMAIL_EVENTS,
        )


class SmsSettings(Construct):
    """SNS SMS account attributes, which have no CloudFormation resource: set by an SDK call.

    They apply to the whole account and region, hence one stage per account.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        attributes = {
            "DefaultSMSType": "Transactional",
            "DefaultSenderID": config.sms_sender_id,
            "MonthlySpendLimit": str(config.sms_monthly_spend_limit_usd),
        }
        call = cr.AwsSdkCall(
            service="SNS",
            action="SetSMSAttributes",
            parameters={"attributes": attributes},
            physical_resource_id=cr.PhysicalResourceId.of(f"{config.resource_prefix}-sms-settings"),
        )
        self.resource = cr.AwsCustomResource(
            self,
            "Attributes",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["sns:SetSMSAttributes"], resources=["*"])]
            ),
            # The SDK bundled with the Lambda runtime suffices; installing one needs npm at deploy time.
            install_latest_aws_sdk=False,
        )
        Validations.of(self.resource).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="sns:SetSMSAttributes is an account-level action without resource-level permission.",
            )
        )
        provider = Stack.of(self).node.try_find_child(CUSTOM_RESOURCE_PROVIDER_ID)
        if provider is not None:
            acknowledge_sdk_call_provider(provider)


def acknowledge_sdk_call_provider(provider: IConstruct) -> None:
    """The CDK-managed Lambda behind AwsCustomResource, run only during deployments."""
    Validations.of(provider).acknowledge(
        Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            reason="CDK's SDK-call provider function only needs to write its own logs during deployment.",
        ),
        Acknowledgment(
            id="AwsSolutions-L1",
            reason="The runtime of CDK's SDK-call provider function is chosen by aws-cdk-lib.",
        ),
    )


class SmsSettingsStack(Stack):
    """The SMS account settings in a stack of their own, deployed after the service.

    SetSMSAttributes fails while the account is in the SMS sandbox or its spend quota is below
    the requested limit (common on a first deployment): here that failure rolls back nothing but
    the settings, and the step is retried once the quota is granted (docs/operations.md).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            description=f"Vote-code reissue ({config.name}): SNS SMS account settings",
            **kwargs,
        )
        self.settings = SmsSettings(self, "Sms", config=config)
