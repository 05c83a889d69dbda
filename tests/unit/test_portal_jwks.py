"""The portal's JWKS is fetched once per container, and again (rate-limited) for a new key id."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import ECKey

from reassort.adapters.portal_auth import REFETCH_INTERVAL_SECONDS, JwksCache, PortalSessionVerifier
from reassort.domain.errors import ServiceUnavailable, Unauthenticated
from tests.support.fakes import FakeClock
from tests.support.keys import PORTAL_AUDIENCE, PORTAL_ISSUER, PORTAL_KEY, portal_session

ROLLED_KEY = ECKey.generate_key("P-256", parameters={"kid": "portal-rolled"})


def _jwks(*keys: ECKey) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


class Portal:
    def __init__(self, *keys: ECKey) -> None:
        self.published = _jwks(*keys)
        self.fetches = 0
        self.down = False

    def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        if self.down:
            raise OSError("portal JWKS unavailable")
        return self.published


def _rolled_session(elector_id: str) -> str:
    import time

    from joserfc import jwt

    now = int(time.time())
    claims = {"iss": PORTAL_ISSUER, "aud": PORTAL_AUDIENCE, "sub": elector_id, "iat": now, "exp": now + 900}
    return jwt.encode({"alg": "ES256", "kid": "portal-rolled"}, claims, ROLLED_KEY)


def _verifier(portal: Portal, clock: FakeClock) -> PortalSessionVerifier:
    return PortalSessionVerifier(PORTAL_ISSUER, PORTAL_AUDIENCE, JwksCache(portal.fetch, clock=clock.now))


def test_given_known_keys_when_many_sessions_are_checked_then_the_jwks_is_fetched_once() -> None:
    portal, clock = Portal(PORTAL_KEY), FakeClock(0.0)
    verifier = _verifier(portal, clock)

    ids = [verifier.elector_id(portal_session(f"E-{n}")) for n in range(5)]

    assert ids == [f"E-{n}" for n in range(5)] and portal.fetches == 1


def test_given_the_portal_rolls_its_key_when_a_new_kid_arrives_then_the_jwks_is_fetched_again() -> None:
    portal, clock = Portal(PORTAL_KEY), FakeClock(0.0)
    verifier = _verifier(portal, clock)
    verifier.elector_id(portal_session("E-1"))
    portal.published = _jwks(PORTAL_KEY, ROLLED_KEY)
    clock.value += REFETCH_INTERVAL_SECONDS

    assert verifier.elector_id(_rolled_session("E-2")) == "E-2"
    assert portal.fetches == 2


def test_given_forged_key_ids_when_they_flood_then_the_portal_is_asked_at_most_once_a_minute() -> None:
    portal, clock = Portal(PORTAL_KEY), FakeClock(0.0)
    verifier = _verifier(portal, clock)
    verifier.elector_id(portal_session("E-1"))
    clock.value += REFETCH_INTERVAL_SECONDS

    for _ in range(20):
        with pytest.raises(Unauthenticated):
            verifier.elector_id(_rolled_session("E-2"))
        clock.value += 1

    assert portal.fetches == 2
    assert verifier.elector_id(portal_session("E-1")) == "E-1"  # known keys still work


def test_given_the_portal_down_at_first_use_then_the_service_is_unavailable_not_the_session() -> None:
    portal, clock = Portal(PORTAL_KEY), FakeClock(0.0)
    portal.down = True
    verifier = _verifier(portal, clock)

    with pytest.raises(ServiceUnavailable):
        verifier.elector_id(portal_session("E-1"))
    portal.down = False
    clock.value += REFETCH_INTERVAL_SECONDS
    assert verifier.elector_id(portal_session("E-1")) == "E-1"
