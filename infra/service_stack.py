"""The service of one stage: data, secret, sending, functions, API, CDN and monitoring."""

from __future__ import annotations

import importlib.util
from typing import Any

from aws_cdk import CfnOutput, Environment, RemovalPolicy, Stack, Tags
from constructs import Construct

from .http_api import ServiceHttpApi
from .monitoring import Monitoring
from .sending import EmailSending
from .service_functions import FC_CALLBACK, REDEEM, REQUEST_REASSORT, ServiceFunctions, retention_days
from .service_secret import OriginVerifySecret, ServiceSecret
from .stages import StageConfig
from .supervision import Supervision
from .tables import ServiceTables
from .web_distribution import WebDistribution

ROLL_IMPORT_MODULE = "infra.roll_import"


class ServiceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        web_acl_arn: str,
        certificate_arn: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            cross_region_references=True,
            termination_protection=config.is_production,
            description=f"Vote-code reissue ({config.name})",
            **kwargs,
        )
        Tags.of(self).add("service", "reassort-code-vote")
        Tags.of(self).add("stage", config.name)
        self.config = config
        self.tables = ServiceTables(self, "Tables", config=config)
        self.secret = ServiceSecret(self, "Secret", config=config).secret
        self.origin_secret = OriginVerifySecret(self, "OriginVerify", config=config).secret
        self.email = EmailSending(self, "Email", config=config)
        self.functions = ServiceFunctions(
            self,
            "Functions",
            config=config,
            tables=self.tables,
            secret=self.secret,
            configuration_set_name=self.email.configuration_set_name,
            origin_secret=self.origin_secret,
        )
        self.http_api = ServiceHttpApi(
            self,
            "Http",
            config=config,
            # The aliases: SnapStart snapshots exist for published versions only.
            request_reassort=self.functions.aliases[REQUEST_REASSORT.key],
            redeem=self.functions.aliases[REDEEM.key],
            fc_callback=self.functions.aliases[FC_CALLBACK.key],
            log_retention=retention_days(config.log_retention_days),
        )
        self.web = WebDistribution(
            self,
            "Web",
            config=config,
            api=self.http_api.api,
            origin_secret=self.origin_secret,
            web_acl_arn=web_acl_arn,
            certificate_arn=certificate_arn,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            api=self.http_api.api,
            functions=self.functions.all,
            tables=self.tables.all,
            configuration_set_name=self.email.configuration_set_name,
        )
        self._add_roll_import()
        self.supervision = Supervision(
            self,
            "Supervision",
            config=config,
            tables=self.tables,
            functions=self.functions,
            pages_bucket=self.web.web_bucket,
            access_log_bucket=self.web.log_bucket,
            dashboard=self.monitoring.dashboard,
            alarm_topic=self.monitoring.topic,
        )
        if config.load_test_issuer:
            from .load_test_issuer import LoadTestIssuer

            self.load_test_issuer = LoadTestIssuer(
                self,
                "LoadTestIssuer",
                config=config,
                verifiers=[self.functions.request_reassort, self.functions.fc_callback],
            )

        CfnOutput(self, "DistributionDomainName", value=self.web.distribution.distribution_domain_name)
        CfnOutput(self, "PublicBaseUrl", value=config.public_base_url)
        CfnOutput(self, "SecretArn", value=self.secret.secret_arn)
        CfnOutput(self, "ElectorsTableName", value=self.tables.electors.table_name)

    def _add_roll_import(self) -> None:
        """The roll import (Step Functions Distributed Map), defined in `infra/roll_import.py`.

        It reuses the functions' code asset, dependency layer and environment, and writes the
        electors table under its own attribute-limited policy.
        """
        if importlib.util.find_spec(ROLL_IMPORT_MODULE) is None:
            return
        module = importlib.import_module(ROLL_IMPORT_MODULE)
        construct_class = getattr(module, "RollImportConstruct", None)
        if construct_class is None:
            return
        self.roll_import = construct_class(
            self,
            "RollImport",
            electors_table=self.tables.electors,
            code=self.functions.code,
            layer=self.functions.layer,
            secret=self.secret,
            environment=self.functions.environment,
            log_retention=retention_days(self.config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
            if self.config.is_production
            else RemovalPolicy.DESTROY,
        )
