"""Builds the adapters and the service once per container, from the settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from .adapters.audit import ObservedAuditLog
from .adapters.dynamodb import (
    DynamoAuditLog,
    DynamoElectorStore,
    DynamoFcStateStore,
    DynamoLinkStore,
    audit_batch,
    dynamodb_client,
)
from .adapters.secrets import Secrets, load_secrets
from .adapters.sending import Notifier
from .config import get_settings
from .domain.codes import SystemRandom
from .domain.errors import ServiceUnavailable
from .domain.hashing import SecretHasher
from .domain.ports import Clock
from .domain.service import ReassortService
from .http import logger, metrics, session_token

if TYPE_CHECKING:
    from .adapters.franceconnect import FranceConnectClient
    from .adapters.portal_auth import PortalSessionVerifier
    from .domain.franceconnect import FranceConnectFlow


class SystemClock:
    def now(self) -> float:
        return time.time()


_clock: Clock = SystemClock()


def use_clock(clock: Clock) -> None:
    """Give the service another clock (the local stack's shiftable one, a test's fake)."""
    global _clock
    _clock = clock
    get_service.cache_clear()
    get_fc_flow.cache_clear()


def audit_in_one_write(handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> Callable[..., Any]:
    """The request's audit records are written together when it ends (one call, not one each)."""

    @wraps(handler)
    def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with audit_batch():
            return handler(event, context)

    return run


@lru_cache(maxsize=1)
def get_secrets() -> Secrets:
    return load_secrets(get_settings())


@lru_cache(maxsize=1)
def get_dynamodb() -> Any:
    """One DynamoDB client per container, shared by every store (a client costs ~50 ms to build)."""
    return dynamodb_client()


@lru_cache(maxsize=1)
def get_service() -> ReassortService:
    settings = get_settings()
    client = get_dynamodb()
    electors = DynamoElectorStore(settings.electors_table, client)
    return ReassortService(
        electors=electors,
        links=DynamoLinkStore(settings.links_table, settings.electors_table, client),
        notifier=Notifier(settings.mail_from, settings.ses_configuration_set, settings.sms_sender_id),
        audit=ObservedAuditLog(
            DynamoAuditLog(settings.audit_table, settings.audit_retention_days, client), logger, metrics
        ),
        clock=_clock,
        random=SystemRandom(),
        hasher=SecretHasher(settings.argon2_profile()),
        link_key=get_secrets().link_hmac_key,
        rules=settings.rules(),
    )


@lru_cache(maxsize=1)
def get_fc_state_store() -> DynamoFcStateStore:
    return DynamoFcStateStore(get_settings().fc_state_table, get_dynamodb())


@lru_cache(maxsize=1)
def get_portal_verifier() -> PortalSessionVerifier:
    # Imported here: the redeem function never verifies a portal session (joserfc costs ~0.1 s).
    from .adapters.portal_auth import PortalSessionVerifier, load_test_issuer_key

    settings = get_settings()
    test_issuer = None
    if settings.portal_test_issuer:
        key = load_test_issuer_key(settings.portal_test_issuer_secret_id, settings.portal_test_issuer_key)
        test_issuer = (settings.portal_test_issuer, key) if key else None
    return PortalSessionVerifier.from_settings(
        settings.portal_issuer,
        settings.portal_audience,
        settings.portal_jwks,
        settings.portal_jwks_url,
        test_issuer,
    )


@lru_cache(maxsize=1)
def get_fc_client() -> FranceConnectClient:
    """The FranceConnect v2 client (discovery and JWKS cached per container)."""
    from .adapters.franceconnect import FranceConnectClient, FranceConnectConfig

    settings = get_settings()
    secret = get_secrets().fc_client_secret
    if not (
        settings.fc_issuer
        and settings.fc_client_id
        and settings.fc_redirect_uri
        and settings.fc_post_logout_redirect_uri
        and secret
    ):
        raise ServiceUnavailable()
    return FranceConnectClient(
        FranceConnectConfig(
            issuer=settings.fc_issuer,
            client_id=settings.fc_client_id,
            client_secret=secret,
            redirect_uri=settings.fc_redirect_uri,
            post_logout_redirect_uri=settings.fc_post_logout_redirect_uri,
            id_token_alg=settings.fc_id_token_alg,
        )
    )


@lru_cache(maxsize=1)
def get_fc_flow() -> FranceConnectFlow:
    """The FranceConnect use cases; the client is built on first use (never for the logout return)."""
    from .adapters.logout_state import JwtLogoutStates
    from .domain.franceconnect import FranceConnectFlow

    secrets = get_secrets()
    return FranceConnectFlow(
        service=get_service(),
        states=get_fc_state_store(),
        provider=get_fc_client,
        link_key=secrets.link_hmac_key,
        identity_key=secrets.identity_hmac_key,
        logout_states=JwtLogoutStates(secrets.link_hmac_key),
    )


def reset() -> None:
    """Forget everything built from the environment (tests and the local stack change it)."""
    global _clock
    _clock = SystemClock()
    for cached in (
        get_settings,
        get_secrets,
        get_dynamodb,
        get_service,
        get_fc_state_store,
        get_portal_verifier,
        get_fc_client,
        get_fc_flow,
    ):
        cached.cache_clear()


def authenticated_elector(app: APIGatewayHttpResolver) -> str:
    """The elector id of the portal session, or Unauthenticated."""
    elector_id = get_portal_verifier().elector_id(session_token(app))
    logger.append_keys(elector_id=elector_id)
    return elector_id
