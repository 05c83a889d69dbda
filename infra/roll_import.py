"""Roll import at scale: Step Functions Distributed Map over the roll CSV in S3.

Hashing a million electors' secrets costs tens of core-hours: the map fans the CSV out to
Lambda workers running the per-chunk code of ``functions/reassort/roll/worker.py``, which the
CLI runs too, so both paths validate, hash and upsert identically.

Packaging: the handler (``functions/roll_import_worker/handler.py``) and the per-chunk code are
in the shared code asset like the three service functions, with the shared dependency layer.

Start an execution with ``{"key": "incoming/<file>.csv"}`` after uploading the file to the
bucket. Results (counters and problems, never a value) land under ``reports/``.

Privacy: the CSV may hold plaintext secrets, so the bucket is private, encrypted, TLS-only and
expires its objects after a few days; child executions are EXPRESS (no stored history of their
input) and the state machine logs errors without execution data.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Acknowledgment, Aws, CfnOutput, Duration, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from reassort.adapters.elector_attributes import ELECTORS_KEY, ROLL_FIELDS

WORKER_HANDLER = "roll_import_worker.handler.lambda_handler"
# An express child workflow of a Distributed Map stops at 5 minutes: the worker and its task
# must end well before, or a batch that is still writing is cut without a clean failure.
WORKER_TIMEOUT = Duration.minutes(4)
TASK_TIMEOUT = Duration.seconds(270)
# Attributes the import may write (functions/reassort/roll/worker.py); state attributes are not among them.
IMPORT_WRITABLE_ATTRIBUTES = (
    ELECTORS_KEY,
    *ROLL_FIELDS,
    "roll_digest",
    "roll_vote_code_digest",
    "updated_at",
)


def roll_import_names(stage: str) -> dict[str, str]:
    """Names of the roll bucket (unique per account and region) and of the state machine."""
    return {
        "bucket": f"reassort-{stage}-roll-import-{Aws.ACCOUNT_ID}-{Aws.REGION}",
        "state_machine": f"reassort-{stage}-roll-import",
    }


class RollImportConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        electors_table: dynamodb.ITable,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        secret: secretsmanager.ISecret,
        environment: dict[str, str] | None = None,
        rows_per_batch: int = 50,
        max_concurrency: int = 200,
        memory_size: int = 1769,
        worker_timeout: Duration | None = None,
        # Failed batches the run tolerates before it stops (their rows are in the failure report
        # and an import run again is idempotent): one bad batch must not abort a million rows.
        tolerated_failure_percentage: float = 1.0,
        object_expiry_days: int = 7,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        timeout = worker_timeout or WORKER_TIMEOUT
        if timeout.to_seconds() >= TASK_TIMEOUT.to_seconds():
            raise ValueError("the worker must time out before its task and the express child's 5 minutes")
        stack = Stack.of(self)
        stage = (environment or {}).get("STAGE")
        # Named after the stage, so the operations documents can say where to upload and what to start.
        names = roll_import_names(stage) if stage else {}

        self.bucket = s3.Bucket(
            self,
            "RollBucket",
            bucket_name=names.get("bucket"),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=False,
            lifecycle_rules=[
                # the roll may carry plaintext secrets: it does not outlive the import by long
                s3.LifecycleRule(expiration=Duration.days(object_expiry_days)),
            ],
            removal_policy=removal_policy,
            auto_delete_objects=False,
        )

        worker_logs = logs.LogGroup(
            self, "WorkerLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.worker = lambda_.Function(
            self,
            "Worker",
            description="Roll import: validate, hash and upsert one batch of rows",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=WORKER_HANDLER,
            code=code,
            layers=[layer],
            # one full vCPU: argon2 is CPU-bound, GB-s are the same and batches finish sooner
            memory_size=memory_size,
            timeout=timeout,
            log_group=worker_logs,
            environment={
                **(environment or {}),
                "ELECTORS_TABLE": electors_table.table_name,
                "SECRETS_ID": secret.secret_arn,
                "POWERTOOLS_SERVICE_NAME": "reassort-roll-import",
                "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            },
        )
        secret.grant_read(self.worker)
        self.worker.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:BatchGetItem"], resources=[electors_table.table_arn])
        )
        self.worker.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:UpdateItem", "dynamodb:BatchWriteItem"],
                resources=[electors_table.table_arn],
                conditions={
                    "ForAllValues:StringEquals": {"dynamodb:Attributes": list(IMPORT_WRITABLE_ATTRIBUTES)}
                },
            )
        )

        invoke = tasks.LambdaInvoke(
            self,
            "ImportBatch",
            lambda_function=self.worker,
            payload_response_only=True,
            retry_on_service_exceptions=False,
            task_timeout=sfn.Timeout.duration(TASK_TIMEOUT),
        )
        invoke.add_retry(
            errors=[
                "Lambda.TooManyRequestsException",
                "Lambda.ServiceException",
                "Lambda.AWSLambdaException",
                "Lambda.SdkClientException",
            ],
            interval=Duration.seconds(2),
            backoff_rate=2,
            max_attempts=6,
            jitter_strategy=sfn.JitterType.FULL,
        )
        # a batch is idempotent (conditional upserts): running it again after a timeout is safe
        invoke.add_retry(errors=["States.Timeout"], max_attempts=2, interval=Duration.seconds(5))

        self.map = sfn.DistributedMap(
            self,
            "ImportRows",
            item_reader=sfn.S3CsvItemReader(
                bucket=self.bucket,
                key=sfn.JsonPath.string_at("$.key"),
                csv_headers=sfn.CsvHeaders.use_first_row(),
            ),
            item_batcher=sfn.ItemBatcher(max_items_per_batch=rows_per_batch),
            item_selector={
                "row": sfn.JsonPath.string_at("$$.Map.Item.Index"),
                "fields": sfn.JsonPath.string_at("$$.Map.Item.Value"),
            },
            max_concurrency=max_concurrency,
            map_execution_type=sfn.StateMachineType.EXPRESS,
            # reports/<run>/FAILED_*.json lists each failed batch with its rows (index and fields
            # without secrets' plaintext: rows are read from the bucket by index).
            result_writer=sfn.ResultWriter(bucket=self.bucket, prefix="reports/"),
            tolerated_failure_percentage=tolerated_failure_percentage,
        )
        self.map.item_processor(invoke)

        machine_logs = logs.LogGroup(
            self, "StateMachineLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=names.get("state_machine"),
            definition_body=sfn.DefinitionBody.from_chainable(self.map),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.hours(24),
            logs=sfn.LogOptions(
                destination=machine_logs, level=sfn.LogLevel.ERROR, include_execution_data=False
            ),
            tracing_enabled=True,
        )
        self.bucket.grant_read(self.state_machine)
        self.bucket.grant_put(self.state_machine, "reports/*")
        self.worker.grant_invoke(self.state_machine)
        CfnOutput(stack, "RollImportBucketName", value=self.bucket.bucket_name)
        CfnOutput(stack, "RollImportStateMachineArn", value=self.state_machine.state_machine_arn)
        self._acknowledge(stack)

    def _acknowledge(self, stack: Stack) -> None:
        """cdk-nag findings that are deliberate here, each by its exact id (v3 has no prefix match)."""

        def logical_id(construct: Construct) -> str:
            return stack.get_logical_id(cast(lambda_.CfnFunction, construct.node.default_child))

        bucket = logical_id(self.bucket)
        worker = logical_id(self.worker)
        machine = logical_id(self.state_machine)
        region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
        execution = (
            f"arn:<AWS::Partition>:states:{region}:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine}"}}]}}]}}'
        )
        grants = "Generated by CDK grants, scoped to the roll bucket, its worker and its own executions."
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="The bucket holds a roll for a few days; S3 data events in CloudTrail audit access "
                "without a second copy of object keys in an access-log bucket.",
            )
        )
        Validations.of(self.worker).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                reason="The worker only writes its own logs with the basic execution role.",
            ),
            Acknowledgment(
                id="AwsSolutions-L1", reason="Python 3.13 on purpose: the layer is built for cp313."
            ),
        )
        Validations.of(self.state_machine).acknowledge(
            *[
                Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=grants)
                for finding in (
                    "Action::s3:Abort*",
                    "Action::s3:GetBucket*",
                    "Action::s3:GetObject*",
                    "Action::s3:List*",
                    "Resource::*",
                    f"Resource::<{bucket}.Arn>/*",
                    f"Resource::<{bucket}.Arn>/reports/*",
                    f"Resource::<{worker}.Arn>:*",
                    f"Resource::arn:<AWS::Partition>:s3:::<{bucket}>/*",
                    f"Resource::{execution}/*:*",
                    f"Resource::{execution}:*",
                )
            ],
            Acknowledgment(
                id="AwsSolutions-SF1",
                reason="Logging ALL events would copy row batches into the logs; errors are logged "
                "without execution data.",
            ),
        )
