"""Shared fixtures: the service against moto with cheap argon2 parameters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from local.dynamodb_engine import DynamoEngine
from local.iam_guard import IamGuard
from tests.support.keys import PORTAL_AUDIENCE, PORTAL_ISSUER, PORTAL_JWKS, local_secrets

# Property tests judge results, not speed: a per-example deadline only measures how busy the
# machine is (a CI runner with both cores taken made one example of test_identity exceed 200 ms).
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")

# Nothing in the tests may reach AWS: dummy credentials everywhere.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-3",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Reassort",
    "POWERTOOLS_SERVICE_NAME": "reassort",
}.items():
    os.environ.setdefault(_name, _value)

SERVICE_ENV = {
    "STAGE": "local",
    "AWS_REGION": "eu-west-3",
    "LOCAL_SECRETS": local_secrets(),
    "ARGON2_MEMORY_KIB": "1024",
    "ARGON2_TIME_COST": "1",
    "PROFESSIONAL_DOMAINS": "education.gouv.fr,ac-paris.fr",
    "PUBLIC_BASE_URL": "https://reassort.test.gouv.fr",
    "MAIL_FROM": "Élections professionnelles <no-reply@elections.test.gouv.fr>",
    "PORTAL_ISSUER": PORTAL_ISSUER,
    "PORTAL_AUDIENCE": PORTAL_AUDIENCE,
    "PORTAL_JWKS": PORTAL_JWKS,
}


@pytest.fixture
def service_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The service's environment; tests may add to it before the first call."""
    from reassort import wiring

    for name, value in SERVICE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    wiring.reset()
    yield SERVICE_ENV
    wiring.reset()


@pytest.fixture(scope="session")
def iam_policies() -> Path:
    """The functions' policies as the CDK app synthesizes them (cached in build/ until infra/ changes)."""
    from infra.policy_export import DEFAULT_OUT, load_or_synthesize

    load_or_synthesize(DEFAULT_OUT)
    return DEFAULT_OUT


@pytest.fixture
def iam_guard(iam_policies: Path) -> Iterator[IamGuard]:
    """Every AWS call a handler makes is checked against its function's synthesized policy; a
    denied call fails the test, naming the call and the missing permission."""
    guard = IamGuard.from_file(iam_policies)
    yield guard
    assert not guard.denials, "AWS would refuse:\n" + "\n".join(guard.denials)


@pytest.fixture
def dynamodb_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoEngine]:
    """A fresh dynoxide for the test; boto3's DynamoDB clients follow AWS_ENDPOINT_URL_DYNAMODB."""
    with DynamoEngine() as engine:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", engine.url)
        yield engine


@pytest.fixture
def stack(
    service_env: dict[str, str], dynamodb_engine: DynamoEngine, iam_guard: IamGuard
) -> Iterator[object]:
    """The handlers against dynoxide (DynamoDB) and moto (SES, SNS, Secrets Manager), IAM enforced."""
    import boto3
    from moto import mock_aws

    from tests.support.stack import Stack

    with mock_aws():
        # mock_aws replaces boto3's default session: the check goes on the one in use.
        boto3.setup_default_session()
        iam_guard.install(boto3.DEFAULT_SESSION)
        yield Stack(guard=iam_guard)
