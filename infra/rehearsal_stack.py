"""The election-day rehearsal: Locust master and workers on ECS Fargate, deployed only for it.

One host cannot make the modelled peak; Locust's own distributed mode can. This stack runs the
public Locust image (no image build): an init container copies the load kit (locustfile,
plug-ins and their Python dependencies) and the roll slices from the rehearsal bucket into the
task, the master runs headless and writes its reports back to the bucket. The load generators
log in with the stage's load-test issuer (infra/load_test_issuer.py) and read the links from
the mails that SES receiving stores for the test sub-domain (``RehearsalInboxStack``, in a
region where SES receiving exists). Synthesized only with ``-c rehearsal=1`` (infra/app.py);
``tools/load/README.md`` says how to size, upload, start and read a run.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import (
    Acknowledgment,
    Aws,
    CfnOutput,
    Duration,
    Environment,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from constructs import Construct

from .load_test_issuer import test_issuer_name
from .stages import StageConfig

# The locust package of pyproject.toml's dev dependencies; the kit is tested with it.
LOCUST_IMAGE = "locustio/locust:2.47.0"
AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.27.50"
# SES receiving exists in a few regions only (not eu-west-3).
INBOX_REGION = "eu-west-1"
MASTER_PORT = 5557
KIT_DIR = "/kit"
REPORTS_DIR = "/reports"


def inbox_domain(config: StageConfig) -> str:
    """The test sub-domain whose mail SES receives: personal addresses of the synthetic roll."""
    return f"load.{config.domain_name}"


def rehearsal_names(config: StageConfig) -> dict[str, str]:
    prefix = f"{config.resource_prefix}-rehearsal"
    return {
        "stack": prefix,
        "inbox_stack": f"{prefix}-inbox",
        # same account in both stacks: the name is known on both sides without a cross-region export
        "inbox_bucket": f"{prefix}-inbox-{Aws.ACCOUNT_ID}",
        "cluster": prefix,
        "namespace": f"rehearsal.{config.name}.reassort.internal",
        "master_service": f"{prefix}-master",
        "worker_service": f"{prefix}-workers",
    }


class RehearsalInboxStack(Stack):
    """SES receiving for the test sub-domain into a private bucket the load generators poll."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        if config.is_production:
            raise ValueError("rehearsals target a non-production stage")
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=INBOX_REGION),
            description=f"Vote-code reissue rehearsal inbox ({config.name})",
            **kwargs,
        )
        domain = inbox_domain(config)
        self.bucket = s3.Bucket(
            self,
            "Inbox",
            bucket_name=rehearsal_names(config)["inbox_bucket"],
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # links are valid one hour; nothing here outlives the rehearsal by long
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(2))],
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=False,
        )
        self.identity = ses.EmailIdentity(self, "Domain", identity=ses.Identity.domain(domain))
        self.rule_set = ses.ReceiptRuleSet(
            self,
            "RuleSet",
            receipt_rule_set_name=f"{config.resource_prefix}-rehearsal",
            rules=[
                ses.ReceiptRuleOptions(
                    recipients=[domain],
                    scan_enabled=True,
                    tls_policy=ses.TlsPolicy.REQUIRE,
                    actions=[ses_actions.S3(bucket=self.bucket, object_key_prefix="inbox/")],
                )
            ],
        )
        CfnOutput(self, "InboxBucketName", value=self.bucket.bucket_name)
        CfnOutput(self, "InboxDomain", value=domain)
        CfnOutput(self, "InboxRuleSetName", value=f"{config.resource_prefix}-rehearsal")
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="Synthetic mails of a rehearsal, kept two days: no access-log bucket.",
            )
        )


class RehearsalStack(Stack):
    """Locust master (a service of 0 or 1 task) and workers (a service of N tasks)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        workers: int = 0,
        worker_cpu: int = 1024,
        **kwargs: Any,
    ) -> None:
        if config.is_production or not config.load_test_issuer:
            raise ValueError("rehearsals target a non-production stage that trusts the load-test issuer")
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            description=f"Vote-code reissue rehearsal load generators ({config.name})",
            **kwargs,
        )
        names = rehearsal_names(config)
        self._prefix = config.resource_prefix
        inbox_bucket_name = names["inbox_bucket"]
        self.bucket = s3.Bucket(
            self,
            "Kit",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # the roll slices hold the synthetic electors' secrets: gone a month after
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(30))],
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Public subnets only: the generators reach the stage's public URL, S3 and Docker Hub
        # without a NAT gateway; nothing listens on them but the master, inside the VPC.
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
            ],
        )
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=logs.RetentionDays.ONE_WEEK, removal_policy=RemovalPolicy.DESTROY
        )
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=names["cluster"],
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        namespace = servicediscovery.PrivateDnsNamespace(
            self, "Namespace", name=names["namespace"], vpc=self.vpc
        )
        self.security_group = ec2.SecurityGroup(
            self, "Generators", vpc=self.vpc, description="Locust master and workers", allow_all_outbound=True
        )
        self.security_group.add_ingress_rule(
            self.security_group, ec2.Port.tcp_range(MASTER_PORT, MASTER_PORT + 1), "workers to master"
        )
        log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        environment = {
            "LOAD_LOGIN": "test-issuer",
            "LOAD_TEST_ISSUER": test_issuer_name(config),
            "LOAD_PORTAL_AUDIENCE": config.portal_audience,
            "LOAD_TEST_ISSUER_SECRET_ID": f"{config.resource_prefix}/load-test-issuer",
            "LOAD_LINKS": "s3",
            "LOAD_INBOX_BUCKET": inbox_bucket_name,
            "LOAD_INBOX_PREFIX": "inbox/",
            "LOAD_SECRETS": f"{KIT_DIR}/roll/secrets.csv",
            "LOAD_WORKER_COUNT": str(max(1, workers)),
            "PYTHONPATH": f"{KIT_DIR}/site:{KIT_DIR}",
            "AWS_REGION": config.region,
        }
        master_host = f"master.{names['namespace']}"
        self.master_task = self._task(
            "Master",
            cpu=1024,
            memory=2048,
            log_group=log_group,
            environment=environment,
            command=[
                "-f",
                f"{KIT_DIR}/tools/load/locustfile.py,{KIT_DIR}/tools/load/shape.py",
                "--master",
                "--headless",
                "--host",
                config.public_base_url,
                "--expect-workers",
                str(max(1, workers)),
                "--html",
                f"{REPORTS_DIR}/report.html",
                "--csv",
                f"{REPORTS_DIR}/load",
                "--csv-full-history",
                "--only-summary",
                "--stop-timeout",
                "30",
            ],
            reports=True,
        )
        self.worker_task = self._task(
            "Worker",
            cpu=worker_cpu,
            memory=2 * worker_cpu,
            log_group=log_group,
            environment=environment,
            command=[
                "-f",
                f"{KIT_DIR}/tools/load/locustfile.py",
                "--worker",
                "--master-host",
                master_host,
                "--master-port",
                str(MASTER_PORT),
            ],
            reports=False,
        )
        self.master = ecs.FargateService(
            self,
            "MasterService",
            service_name=names["master_service"],
            cluster=self.cluster,
            task_definition=self.master_task,
            desired_count=0,
            assign_public_ip=True,
            security_groups=[self.security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            cloud_map_options=ecs.CloudMapOptions(
                name="master", cloud_map_namespace=namespace, dns_record_type=servicediscovery.DnsRecordType.A
            ),
            min_healthy_percent=0,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=False),
        )
        self.workers = ecs.FargateService(
            self,
            "WorkerService",
            service_name=names["worker_service"],
            cluster=self.cluster,
            task_definition=self.worker_task,
            desired_count=0,
            assign_public_ip=True,
            security_groups=[self.security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            min_healthy_percent=0,
        )
        # the load-test issuer's key of the target stage, and the inbox the links arrive in
        secret_arn = self.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{config.resource_prefix}/load-test-issuer-*",
            arn_format=self._colon_arn(),
        )
        inbox_arn = f"arn:{self.partition}:s3:::{inbox_bucket_name}"
        for task in (self.master_task, self.worker_task):
            self.bucket.grant_read(task.task_role, "kit/*")
            task.add_to_task_role_policy(
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret_arn])
            )
            task.add_to_task_role_policy(
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[inbox_arn])
            )
            task.add_to_task_role_policy(
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"{inbox_arn}/inbox/*"])
            )
        self.bucket.grant_put(self.master_task.task_role, "reports/*")
        CfnOutput(self, "KitBucketName", value=self.bucket.bucket_name)
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        CfnOutput(self, "MasterServiceName", value=self.master.service_name)
        CfnOutput(self, "WorkerServiceName", value=self.workers.service_name)
        self._acknowledge()

    @staticmethod
    def _colon_arn() -> Any:
        from aws_cdk import ArnFormat

        return ArnFormat.COLON_RESOURCE_NAME

    def _task(
        self,
        name: str,
        *,
        cpu: int,
        memory: int,
        log_group: logs.ILogGroup,
        environment: dict[str, str],
        command: list[str],
        reports: bool,
    ) -> ecs.FargateTaskDefinition:
        """Fetch the kit (init container), run Locust; the master then uploads its reports."""
        task = ecs.FargateTaskDefinition(
            self,
            f"{name}Task",
            cpu=cpu,
            memory_limit_mib=memory,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        task.add_volume(name="kit")
        task.add_volume(name="reports")
        logging = ecs.LogDriver.aws_logs(stream_prefix=name.lower(), log_group=log_group)
        fetch = task.add_container(
            "FetchKit",
            image=ecs.ContainerImage.from_registry(AWS_CLI_IMAGE),
            essential=False,
            command=["s3", "sync", f"s3://{self.bucket.bucket_name}/kit/", KIT_DIR, "--only-show-errors"],
            environment={"AWS_REGION": self.region},
            logging=logging,
        )
        fetch.add_mount_points(ecs.MountPoint(container_path=KIT_DIR, source_volume="kit", read_only=False))
        locust = task.add_container(
            "Locust",
            image=ecs.ContainerImage.from_registry(LOCUST_IMAGE),
            essential=not reports,
            command=command,
            environment=environment,
            logging=logging,
            port_mappings=[ecs.PortMapping(container_port=MASTER_PORT)] if reports else None,
        )
        locust.add_mount_points(ecs.MountPoint(container_path=KIT_DIR, source_volume="kit", read_only=True))
        locust.add_container_dependencies(
            ecs.ContainerDependency(container=fetch, condition=ecs.ContainerDependencyCondition.SUCCESS)
        )
        if reports:
            locust.add_mount_points(
                ecs.MountPoint(container_path=REPORTS_DIR, source_volume="reports", read_only=False)
            )
            upload = task.add_container(
                "UploadReports",
                image=ecs.ContainerImage.from_registry(AWS_CLI_IMAGE),
                essential=True,
                entry_point=["sh", "-c"],
                command=[
                    f"aws s3 sync {REPORTS_DIR} "
                    f"s3://{self.bucket.bucket_name}/reports/$(date -u +%Y%m%dT%H%M%SZ)/ --only-show-errors"
                ],
                environment={"AWS_REGION": self.region},
                logging=logging,
            )
            upload.add_mount_points(
                ecs.MountPoint(container_path=REPORTS_DIR, source_volume="reports", read_only=True)
            )
            upload.add_container_dependencies(
                ecs.ContainerDependency(container=locust, condition=ecs.ContainerDependencyCondition.COMPLETE)
            )
        return task

    def _acknowledge(self) -> None:
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="Kit, synthetic roll slices and reports of a rehearsal: no access-log bucket.",
            )
        )
        kit = self.get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        inbox = f"arn:<AWS::Partition>:s3:::{self._prefix}-rehearsal-inbox-<AWS::AccountId>/inbox/*"
        secret = (
            f"arn:<AWS::Partition>:secretsmanager:{self.region}:<AWS::AccountId>:secret:"
            f"{self._prefix}/load-test-issuer-*"
        )
        grants = "Scoped by CDK grants and by name to the kit prefix, the inbox prefix and the test key."
        findings = [
            "Action::s3:GetBucket*",
            "Action::s3:GetObject*",
            "Action::s3:List*",
            f"Resource::<{kit}.Arn>/kit/*",
            f"Resource::{inbox}",
            f"Resource::{secret}",
        ]
        for task, extra in (
            (self.master_task, ["Action::s3:Abort*", f"Resource::<{kit}.Arn>/reports/*"]),
            (self.worker_task, []),
        ):
            Validations.of(task).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-ECS2",
                    reason="The environment holds names (issuer, bucket, secret id), no secret value.",
                ),
                *[Acknowledgment(id=f"AwsSolutions-IAM5[{f}]", reason=grants) for f in [*findings, *extra]],
            )
        for service in (self.master, self.workers):
            Validations.of(service).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-ECS4", reason="Container Insights v2 is enabled on the cluster."
                )
            )


def truthy(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def add_rehearsal(
    scope: Construct, config: StageConfig, workers: int = 0
) -> tuple[RehearsalStack, RehearsalInboxStack]:
    """The two rehearsal stacks of a stage (infra/app.py adds them with ``-c rehearsal=1``)."""
    names = rehearsal_names(config)
    inbox = RehearsalInboxStack(scope, "rehearsal-inbox", config=config, stack_name=names["inbox_stack"])
    generators = RehearsalStack(scope, "rehearsal", config=config, workers=workers, stack_name=names["stack"])
    generators.add_dependency(inbox)
    return generators, inbox
