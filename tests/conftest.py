"""Shared fixtures: the service against moto with cheap argon2 parameters."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.keys import PORTAL_AUDIENCE, PORTAL_ISSUER, PORTAL_JWKS, local_secrets

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
    "STAGE": "test",
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


@pytest.fixture
def stack(service_env: dict[str, str]) -> Iterator[object]:
    from moto import mock_aws

    from tests.support.stack import Stack

    with mock_aws():
        yield Stack()
