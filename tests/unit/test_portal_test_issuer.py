"""The load-test issuer of portal sessions: trusted only where configured, never in prod."""

from __future__ import annotations

import pytest

from reassort.adapters.portal_auth import PortalSessionVerifier, load_test_issuer_key
from reassort.config import Settings
from reassort.domain.errors import Unauthenticated
from tests.support.keys import PORTAL_AUDIENCE, PORTAL_ISSUER, PORTAL_JWKS, portal_session
from tools.load.plugins import SignedSessionLogin

TEST_ISSUER = "https://load-test.reassort.invalid"
KEY = b"k" * 40


def verifier(test_issuer: tuple[str, bytes] | None) -> PortalSessionVerifier:
    return PortalSessionVerifier.from_settings(PORTAL_ISSUER, PORTAL_AUDIENCE, PORTAL_JWKS, None, test_issuer)


def minted(elector_id: str = "E0001", **changes: object) -> str:
    values: dict = {"issuer": TEST_ISSUER, "audience": PORTAL_AUDIENCE, "key": KEY, "host": "x"}
    values.update(changes)
    return SignedSessionLogin(**values).token(elector_id)


def test_given_a_verifier_trusting_the_test_issuer_when_a_minted_session_comes_then_its_subject_is_read():
    assert verifier((TEST_ISSUER, KEY)).elector_id(minted("E0042")) == "E0042"
    # the portal's own sessions still pass
    assert verifier((TEST_ISSUER, KEY)).elector_id(portal_session("E7")) == "E7"


def test_given_a_verifier_without_the_test_issuer_when_a_minted_session_comes_then_unauthenticated():
    with pytest.raises(Unauthenticated):
        verifier(None).elector_id(minted())


@pytest.mark.parametrize(
    "changes",
    [
        {"key": b"o" * 40},  # another key
        {"issuer": PORTAL_ISSUER},  # HS256 under the portal's name
        {"audience": "another-service"},
        {"session_seconds": -120},  # expired beyond the leeway
    ],
)
def test_given_a_forged_or_stale_test_session_when_verified_then_unauthenticated(changes):
    with pytest.raises(Unauthenticated):
        verifier((TEST_ISSUER, KEY)).elector_id(minted(**changes))


def test_given_a_short_key_or_the_portal_name_when_configured_then_refused():
    with pytest.raises(ValueError):
        verifier((TEST_ISSUER, b"short"))
    with pytest.raises(ValueError):
        verifier((PORTAL_ISSUER, KEY))


def test_given_prod_when_a_test_issuer_is_configured_then_the_settings_are_refused():
    base = {
        "stage": "prod",
        "election_opens_at": "2026-12-01T10:00:00",
        "election_closes_at": "2026-12-08T17:00:00",
    }
    Settings.model_validate(base)
    for name in ("portal_test_issuer", "portal_test_issuer_secret_id", "portal_test_issuer_key"):
        with pytest.raises(ValueError, match="load-test issuer"):
            Settings.model_validate({**base, name: "x"})
    Settings.model_validate({**base, "stage": "recette", "portal_test_issuer": TEST_ISSUER})


def test_given_a_secret_id_when_the_key_is_loaded_then_it_comes_from_secrets_manager():
    class Secrets:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            assert SecretId == "arn:test-issuer"
            return {"SecretString": "generated-by-secrets-manager-0123456789"}

    assert (
        load_test_issuer_key("arn:test-issuer", None, Secrets()) == b"generated-by-secrets-manager-0123456789"
    )
    assert load_test_issuer_key(None, "given", None) == b"given"
    assert load_test_issuer_key(None, None, None) is None
