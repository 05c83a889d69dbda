"""Builds the adapters and the use cases once per container, from the settings."""

from __future__ import annotations

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
from .adapters.system import SecretHasher, SystemClock, SystemRandom
from .config import get_settings
from .domain.errors import ServiceUnavailable
from .domain.ports import Clock, IdentityProvider
from .http import logger, metrics, session_token

if TYPE_CHECKING:
    from .adapters.franceconnect import FranceConnectClient
    from .adapters.portal_auth import PortalSessionVerifier
    from .domain.challenge import ChallengeRequests
    from .domain.franceconnect import FranceConnectFlow
    from .domain.issuing import LinkIssuer
    from .domain.redemption import LinkRedemption


_clock: Clock = SystemClock()


def use_clock(clock: Clock) -> None:
    """Give the use cases another clock (the local stack's shiftable one, a test's fake)."""
    global _clock
    _clock = clock
    for cached in _USE_CASES:
        cached.cache_clear()


def get_clock() -> Clock:
    """The clock every use case reads."""
    return _clock


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
def get_electors() -> DynamoElectorStore:
    settings = get_settings()
    return DynamoElectorStore(settings.electors_table, get_dynamodb())


@lru_cache(maxsize=1)
def get_links() -> DynamoLinkStore:
    settings = get_settings()
    return DynamoLinkStore(settings.links_table, settings.electors_table, get_audit_store(), get_dynamodb())


@lru_cache(maxsize=1)
def get_notifier() -> Notifier:
    settings = get_settings()
    return Notifier(settings.mail_from, settings.ses_configuration_set, settings.sms_sender_id)


@lru_cache(maxsize=1)
def get_audit_store() -> DynamoAuditLog:
    settings = get_settings()
    return DynamoAuditLog(settings.audit_table, settings.audit_retention_days, get_dynamodb())


@lru_cache(maxsize=1)
def get_audit() -> ObservedAuditLog:
    """One audit log for every use case: a request's records go out in one write."""
    return ObservedAuditLog(get_audit_store(), logger, metrics)


@lru_cache(maxsize=1)
def get_hasher() -> SecretHasher:
    return SecretHasher(get_settings().argon2_profile())


@lru_cache(maxsize=1)
def get_random() -> SystemRandom:
    return SystemRandom()


@lru_cache(maxsize=1)
def get_link_issuer() -> LinkIssuer:
    """Sends the links of both the challenge and the FranceConnect paths."""
    # Each use case is imported only by the functions that use it (cold start: the redemption
    # never loads the challenge, the challenge never loads the code sealing).
    from .domain.issuing import LinkIssuer

    return LinkIssuer(
        electors=get_electors(),
        links=get_links(),
        notifier=get_notifier(),
        audit=get_audit(),
        clock=_clock,
        random=get_random(),
        link_key=get_secrets().link_hmac_key,
        rules=get_settings().rules(),
    )


@lru_cache(maxsize=1)
def get_challenge_requests() -> ChallengeRequests:
    from .domain.challenge import ChallengeRequests

    return ChallengeRequests(
        electors=get_electors(),
        notifier=get_notifier(),
        audit=get_audit(),
        clock=_clock,
        hasher=get_hasher(),
        issuer=get_link_issuer(),
        rules=get_settings().rules(),
    )


@lru_cache(maxsize=1)
def get_link_redemption() -> LinkRedemption:
    from .domain.redemption import LinkRedemption

    return LinkRedemption(
        electors=get_electors(),
        links=get_links(),
        audit=get_audit(),
        clock=_clock,
        random=get_random(),
        hasher=get_hasher(),
        link_key=get_secrets().link_hmac_key,
        rules=get_settings().rules(),
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
            allow_loopback=settings.stage == "local",
        )
    )


def _fc_provider() -> IdentityProvider:
    """The FranceConnect client; settings it refuses make FranceConnect unavailable."""
    from .adapters.franceconnect import FranceConnectUnavailable

    try:
        return get_fc_client()
    except ValueError as error:
        raise FranceConnectUnavailable(type(error).__name__) from error


@lru_cache(maxsize=1)
def get_fc_flow() -> FranceConnectFlow:
    """The FranceConnect use cases; the client is built on first use (never for the logout return)."""
    from .adapters.logout_state import JwtLogoutStates
    from .domain.franceconnect import FranceConnectFlow

    secrets = get_secrets()
    return FranceConnectFlow(
        electors=get_electors(),
        issuer=get_link_issuer(),
        audit=get_audit(),
        clock=_clock,
        random=get_random(),
        rules=get_settings().rules(),
        states=get_fc_state_store(),
        provider=_fc_provider,
        link_key=secrets.link_hmac_key,
        identity_key=secrets.identity_hmac_key,
        logout_states=JwtLogoutStates(secrets.link_hmac_key),
    )


# Built with the clock: use_clock() builds them again.
_USE_CASES = (get_link_issuer, get_challenge_requests, get_link_redemption, get_fc_flow)


def reset() -> None:
    """Forget everything built from the environment (tests and the local stack change it)."""
    global _clock
    _clock = SystemClock()
    for cached in (
        get_settings,
        get_secrets,
        get_dynamodb,
        get_electors,
        get_links,
        get_notifier,
        get_audit_store,
        get_audit,
        get_hasher,
        get_random,
        get_fc_state_store,
        get_portal_verifier,
        get_fc_client,
        *_USE_CASES,
    ):
        cached.cache_clear()


def authenticated_elector(app: APIGatewayHttpResolver) -> str:
    """The elector id of the portal session, or Unauthenticated."""
    elector_id = get_portal_verifier().elector_id(session_token(app))
    logger.append_keys(elector_id=elector_id)
    return elector_id
