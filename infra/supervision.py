"""Supervision by the electoral office: the signed journal and the seal of what runs.

- an asymmetric KMS key (ECC P-256, sign/verify) that signs the journal's digests;
- a bucket with Object Lock in compliance mode: no one, root included, can change or delete a
  digest before the stage's retention ends;
- the digester function, run every few minutes by a schedule rule (docs/supervision.md);
- a read-only role for the seal, the export and the figures (`reassort-seal`, `reassort-journal`);
- the bureau's section of the dashboard: counts per hour and per day from the audit log lines.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Acknowledgment, Aws, CfnOutput, Duration, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from .service_functions import ServiceFunctions
from .stages import StageConfig
from .tables import ServiceTables

DIGESTER_HANDLER = "journal_digest.handler.lambda_handler"
SETTLE_SECONDS = 120  # longer than any function's timeout (25 s): see reassort/journal/digests.py
SERVICE_FUNCTION_KEYS = ("request-reassort", "redeem", "fc-callback")
FIGURES_QUERY = (
    "fields @timestamp | filter message = 'audit' "
    "| stats count(*) as nombre by bin({bin}) as periode, audit_event, outcome, channel, method "
    "| sort periode desc"
)


class Supervision(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        tables: ServiceTables,
        functions: ServiceFunctions,
        pages_bucket: s3.IBucket,
        access_log_bucket: s3.IBucket,
        dashboard: cloudwatch.Dashboard,
        alarm_topic: sns.ITopic | None = None,
        close_grace_seconds: int = 1800,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        prefix = config.resource_prefix
        removal = RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY

        self.key = kms.Key(
            self,
            "JournalKey",
            alias=f"{prefix}-journal",
            description=f"{prefix}: signs the audit journal digests",
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "JournalBucket",
            bucket_name=f"{prefix}-journal-{Aws.ACCOUNT_ID}-{Aws.REGION}",
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(
                Duration.days(config.journal_retention_days)
            ),
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="s3-journal/",
            # Locked objects cannot be deleted anyway: the bucket outlives the stack.
            removal_policy=RemovalPolicy.RETAIN,
        )

        log_group = logs.LogGroup(
            self,
            "DigesterLogs",
            retention=logs.RetentionDays.ONE_YEAR if config.is_production else logs.RetentionDays.ONE_MONTH,
            removal_policy=removal,
        )
        role = iam.Role(
            self,
            "DigesterRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{prefix} journal digester: reads the audit table, signs, writes digests",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:Scan"], resources=[tables.audit.table_arn]))
        role.add_to_policy(iam.PolicyStatement(actions=["kms:Sign"], resources=[self.key.key_arn]))
        role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"journal/{config.name}/digests/*")],
            )
        )
        self.digester = lambda_.Function(
            self,
            "Digester",
            description="Signs a digest of the audit records every few minutes (journal)",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            code=functions.code,
            handler=DIGESTER_HANDLER,
            layers=[functions.layer],
            memory_size=512,
            timeout=Duration.minutes(5),
            # One run at a time keeps the chain linear (the conditional write is the backstop).
            reserved_concurrent_executions=1,
            environment={
                "STAGE": config.name,
                "AUDIT_TABLE": tables.audit.table_name,
                "JOURNAL_BUCKET": self.bucket.bucket_name,
                "JOURNAL_KEY_ID": self.key.key_arn,
                "ELECTION_OPENS_AT": config.election_opens_at,
                "ELECTION_CLOSES_AT": config.election_closes_at,
                "CLOSE_GRACE_SECONDS": str(close_grace_seconds),
                "JOURNAL_SETTLE_SECONDS": str(SETTLE_SECONDS),
                "JOURNAL_SCAN_SEGMENTS": "4",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            log_group=log_group,
            role=role,
        )
        Validations.of(self.digester).acknowledge(
            Acknowledgment(id="AwsSolutions-L1", reason="Python 3.13 is the runtime of every function here.")
        )
        events.Rule(
            self,
            "DigestSchedule",
            description="Journal digest of the elapsed period",
            schedule=events.Schedule.rate(Duration.minutes(config.journal_interval_minutes)),
            targets=[targets.LambdaFunction(self.digester, retry_attempts=2)],
        )

        self.seal_role = iam.Role(
            self,
            "SealRole",
            role_name=f"{prefix}-seal",
            assumed_by=iam.AccountRootPrincipal(),
            max_session_duration=Duration.hours(1),
            description="Read-only: reassort-seal, reassort-journal export/verify, reassort-figures",
        )
        region, account = stack.region, stack.account
        for actions, resources in (
            (
                ["lambda:ListFunctions", "dynamodb:ListTables", "wafv2:ListWebACLs", "apigateway:GET"],
                ["*"],
            ),
            (
                ["lambda:GetFunctionConfiguration"],
                [f"arn:{Aws.PARTITION}:lambda:{region}:{account}:function:{prefix}-*"],
            ),
            (["lambda:GetLayerVersion"], [f"arn:{Aws.PARTITION}:lambda:{region}:{account}:layer:*"]),
            (
                [
                    "dynamodb:DescribeTable",
                    "dynamodb:DescribeTimeToLive",
                    "dynamodb:DescribeContinuousBackups",
                ],
                [t.table_arn for t in tables.all],
            ),
            (["dynamodb:Scan"], [tables.audit.table_arn]),
            (["s3:ListBucket"], [pages_bucket.bucket_arn, self.bucket.bucket_arn]),
            (["s3:GetObject"], [pages_bucket.arn_for_objects("*"), self.bucket.arn_for_objects("*")]),
            (["kms:GetPublicKey", "kms:DescribeKey"], [self.key.key_arn]),
            (["cloudformation:DescribeStacks"], [stack.stack_id]),
            (
                ["wafv2:GetWebACL"],
                [f"arn:{Aws.PARTITION}:wafv2:us-east-1:{account}:global/webacl/{prefix}-edge/*"],
            ),
        ):
            self.seal_role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources))
        self._acknowledge_wildcards(stack, role, pages_bucket, config)

        self._dashboard(dashboard, config)
        if alarm_topic is not None:
            alarm = cloudwatch.Alarm(
                self,
                "DigesterErrors",
                alarm_name=f"{prefix}-JournalDigesterErrors",
                alarm_description="The journal digester failed: records wait longer for their digest",
                metric=self.digester.metric_errors(period=Duration.minutes(15), statistic="Sum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))
        CfnOutput(self, "PagesBucketName", key="PagesBucketName", value=pages_bucket.bucket_name)
        CfnOutput(self, "JournalBucketName", key="JournalBucketName", value=self.bucket.bucket_name)
        CfnOutput(self, "JournalKeyArn", key="JournalKeyArn", value=self.key.key_arn)
        CfnOutput(self, "SealRoleArn", key="SealRoleArn", value=self.seal_role.role_arn)

    def _acknowledge_wildcards(
        self, stack: Stack, digester_role: iam.Role, pages_bucket: s3.IBucket, config: StageConfig
    ) -> None:
        def logical_id(construct: IConstruct) -> str:
            return stack.get_logical_id(cast(s3.CfnBucket, construct.node.default_child))

        journal, pages = logical_id(self.bucket), logical_id(pages_bucket)
        region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
        prefix = config.resource_prefix
        reason = (
            "List calls have no resource-level permission; the other wildcards stay inside this "
            "stage's names, the journal's digest prefix and the pages' objects (read only)."
        )
        Validations.of(digester_role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{journal}.Arn>/journal/{config.name}/digests/*]",
                reason=reason,
            )
        )
        Validations.of(self.seal_role).acknowledge(
            *[
                Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
                for finding in (
                    "Resource::*",
                    f"Resource::<{journal}.Arn>/*",
                    f"Resource::<{pages}.Arn>/*",
                    f"Resource::arn:<AWS::Partition>:lambda:{region}:<AWS::AccountId>:function:{prefix}-*",
                    f"Resource::arn:<AWS::Partition>:lambda:{region}:<AWS::AccountId>:layer:*",
                    f"Resource::arn:<AWS::Partition>:wafv2:us-east-1:<AWS::AccountId>:global/webacl/{prefix}-edge/*",
                )
            ]
        )

    def _dashboard(self, dashboard: cloudwatch.Dashboard, config: StageConfig) -> None:
        log_groups = [f"/aws/lambda/{config.resource_prefix}-{key}" for key in SERVICE_FUNCTION_KEYS]
        dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown="## Chiffres du bureau de vote\nComptages seuls, tirés des enregistrements "
                "d'audit (réponses, blocages, liens par canal et méthode, codes régénérés, envois "
                "échoués, refus FranceConnect par motif). Même calcul : `reassort-figures`.",
                width=24,
                height=2,
            )
        )
        dashboard.add_widgets(
            cloudwatch.LogQueryWidget(
                title="Par heure (heure UTC)",
                log_group_names=log_groups,
                query_string=FIGURES_QUERY.format(bin="1h"),
                view=cloudwatch.LogQueryVisualizationType.TABLE,
                width=12,
                height=8,
            ),
            cloudwatch.LogQueryWidget(
                title="Par jour",
                log_group_names=log_groups,
                query_string=FIGURES_QUERY.format(bin="1d"),
                view=cloudwatch.LogQueryVisualizationType.TABLE,
                width=12,
                height=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Journal : erreurs du condenseur",
                left=[self.digester.metric_errors(period=Duration.minutes(5))],
                width=24,
            )
        )
