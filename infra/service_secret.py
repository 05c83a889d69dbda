"""The one Secrets Manager secret of docs/architecture.md (`SECRETS_ID`)."""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .stages import StageConfig

# Filled by operations after the first deployment (docs/operations.md): the identity key must be
# the one the roll import used, the client secret comes from the FranceConnect registration.
SECRET_TEMPLATE = {"identity_hmac_key": "", "fc_client_secret": ""}


class ServiceSecret(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=f"{config.resource_prefix}/keys",
            description="HMAC keys (links, identity digest) and the FranceConnect client secret",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(SECRET_TEMPLATE),
                generate_string_key="link_hmac_key",
                password_length=64,
                exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
            if config.is_production
            else RemovalPolicy.DESTROY,
        )
        Validations.of(self.secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason=(
                    "No automatic rotation: rotating the link key revokes every outstanding link and "
                    "the identity key must change together with the roll's identity digests; both are "
                    "rotated by the documented procedure between elections (docs/operations.md)."
                ),
            )
        )


class OriginVerifySecret(Construct):
    """The header value CloudFront adds to every request it forwards to the HTTP API; the
    functions refuse a request without it (it went around the WAF). Generated, never typed."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=f"{config.resource_prefix}/origin-verify",
            description="Value of the X-Origin-Verify header CloudFront sends to the API",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
            # Nothing to keep: a new value is generated and deployed to CloudFront and the functions.
            removal_policy=RemovalPolicy.DESTROY,
        )
        Validations.of(self.secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason=(
                    "Rotated by the documented procedure (docs/operations.md): CloudFront reads the "
                    "value at deployment, so a rotation is a redeployment, not a rotation Lambda."
                ),
            )
        )
