"""The load-test issuer of portal sessions, for rehearsals outside production.

A rehearsal cannot log synthetic electors in through the real portal. On a non-production
stage with ``load_test_issuer`` set, Secrets Manager generates an HS256 key; the functions that
verify portal sessions trust sessions signed with it under the issuer name below, and the load
generator (tools/load/plugins.py, ``LOAD_LOGIN=test-issuer``) reads the same secret to sign
them. Production never gets the secret, the variables or the grant: the construct refuses to
be built there, and ``Settings`` refuses the variables in prod.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, CfnOutput, RemovalPolicy, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .stages import StageConfig


def test_issuer_name(config: StageConfig) -> str:
    """The issuer name of the stage's load-test sessions (never the portal's)."""
    return f"https://load-test.{config.domain_name}"


class LoadTestIssuer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        verifiers: Sequence[lambda_.Function],
    ) -> None:
        if config.is_production:
            raise ValueError("the load-test issuer is never deployed in production")
        super().__init__(scope, construct_id)
        self.issuer = test_issuer_name(config)
        self.secret = secretsmanager.Secret(
            self,
            "Key",
            secret_name=f"{config.resource_prefix}/load-test-issuer",
            description="HS256 key of the load-test issuer of portal sessions (rehearsals only)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        for function in verifiers:
            self.secret.grant_read(function)
            function.add_environment("PORTAL_TEST_ISSUER", self.issuer)
            function.add_environment("PORTAL_TEST_ISSUER_SECRET_ID", self.secret.secret_arn)
        stack = Stack.of(self)
        CfnOutput(stack, "LoadTestIssuerName", value=self.issuer)
        CfnOutput(stack, "LoadTestIssuerSecretArn", value=self.secret.secret_arn)
        Validations.of(self.secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="A rehearsal key on a non-production stage: delete the stage's secret (or "
                "redeploy with load_test_issuer=0) after the rehearsal instead of rotating it.",
            )
        )
