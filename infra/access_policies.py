"""Least-privilege IAM statements of each function (docs/architecture.md lists what each writes)."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Aws, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager

ELECTORS_KEY = "elector_id"
# Attributes of an elector each function may write; the vote code is redeem's alone.
CHALLENGE_WRITABLE_ELECTOR_ATTRIBUTES = (
    "failed_attempts",
    "locked_until",
    "recent_links",
    "quota_version",
    "lock_alerts",
    "answer_hash",
    "numen_hash",
    "nir_hash",
    "updated_at",
)
REDEEM_WRITABLE_ELECTOR_ATTRIBUTES = ("vote_code_hash", "link_generation", "code_changed_at", "updated_at")


def table_actions(table: dynamodb.ITable, actions: Iterable[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=[f"dynamodb:{action}" for action in actions],
        resources=[table.table_arn],
    )


def elector_updates(table: dynamodb.ITable, writable: Iterable[str]) -> iam.PolicyStatement:
    """UpdateItem (also inside TransactWriteItems) limited to the named top-level attributes.

    `dynamodb:Attributes` lists every attribute the request touches, the key included.
    """
    return iam.PolicyStatement(
        actions=["dynamodb:UpdateItem"],
        resources=[table.table_arn],
        conditions={"ForAllValues:StringEquals": {"dynamodb:Attributes": [ELECTORS_KEY, *writable]}},
    )


def read_secret(secret: secretsmanager.ISecret) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret.secret_arn])


def send_email(stack: Stack, identity: str, configuration_set_name: str) -> iam.PolicyStatement:
    """SES v2 SendEmail checks both the sending identity and the configuration set."""
    return iam.PolicyStatement(
        actions=["ses:SendEmail"],
        resources=[
            stack.format_arn(service="ses", resource="identity", resource_name=identity),
            stack.format_arn(
                service="ses", resource="configuration-set", resource_name=configuration_set_name
            ),
        ],
    )


def send_sms() -> iam.PolicyStatement:
    """SMS to a phone number has no resource ARN; excluding every topic ARN keeps it to SMS only."""
    return iam.PolicyStatement(actions=["sns:Publish"], not_resources=[f"arn:{Aws.PARTITION}:sns:*:*:*"])
