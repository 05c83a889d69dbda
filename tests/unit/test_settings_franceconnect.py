"""Settings refuse, at cold start, a FranceConnect provider or return address that is not public
https outside the local stage; the local stack's emulator on http://127.0.0.1 stays accepted."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reassort.config import Settings

FC_ISSUER = "https://fcp-low.integ01.dev-franceconnect.fr/api/v2"
BASE_URL = "https://reassort.dev.elections.example.gouv.fr"
FC_SETTINGS = {
    "fc_issuer": FC_ISSUER,
    "fc_redirect_uri": f"{BASE_URL}/api/fc/callback",
    "fc_post_logout_redirect_uri": f"{BASE_URL}/api/fc/logout-return",
}
WINDOW = {"election_opens_at": "2026-12-01T10:00:00", "election_closes_at": "2026-12-08T17:00:00"}
FC_NAMES = tuple(FC_SETTINGS)
NOT_PUBLIC_HTTPS = (
    "http://fcp-low.integ01.dev-franceconnect.fr/api/v2",
    "http://127.0.0.1:8100/api/v2",
    "https://127.0.0.1:8100/api/v2",
    "https://127.42.0.9/api/v2",
    "https://localhost/api/v2",
    "https://LOCALHOST./api/v2",
    "https://fc.localhost/api/v2",
    "https://[::1]:8443/api/v2",
    "https://[::ffff:127.0.0.1]/api/v2",
    "https://0.0.0.0/api/v2",
    "https://127.1/api/v2",
    "https://2130706433/api/v2",
    "https://0x7f.1/api/v2",
    "https://[::1/api/v2",
    "ftp://fcp-low.integ01.dev-franceconnect.fr/api/v2",
    "fcp-low.integ01.dev-franceconnect.fr/api/v2",
    "https:///api/v2",
)


def settings(stage: str, **values: Any) -> Settings:
    return Settings(stage=stage, **{**WINDOW, **FC_SETTINGS, **values})


@pytest.mark.parametrize("stage", ["dev", "recette", "prod"])
def test_given_public_https_franceconnect_urls_when_a_deployed_stage_starts_then_they_are_accepted(
    stage: str,
) -> None:
    assert settings(stage).fc_issuer == FC_ISSUER
    assert settings(stage, fc_issuer="https://fc.example.gouv.fr:8443/api/v2").stage == stage


@pytest.mark.parametrize("stage", ["dev", "recette", "prod"])
@pytest.mark.parametrize("name", FC_NAMES)
@pytest.mark.parametrize("url", NOT_PUBLIC_HTTPS)
def test_given_a_franceconnect_url_that_is_not_public_https_when_a_deployed_stage_starts_then_it_is_refused(
    stage: str, name: str, url: str
) -> None:
    with pytest.raises(ValidationError, match=name.upper()) as refused:
        settings(stage, **{name: url})

    assert repr(url) in str(refused.value)


@pytest.mark.parametrize("name", FC_NAMES)
@pytest.mark.parametrize("url", NOT_PUBLIC_HTTPS[:4])
def test_given_the_local_stage_then_any_franceconnect_url_is_accepted(name: str, url: str) -> None:
    assert getattr(settings("local", **{name: url}), name) == url


def test_given_the_local_stack_emulator_then_the_local_stage_accepts_its_http_loopback_urls() -> None:
    local = Settings(
        fc_issuer="http://127.0.0.1:8100/api/v2",
        fc_redirect_uri="http://127.0.0.1:8000/api/fc/callback",
        fc_post_logout_redirect_uri="http://localhost:8000/api/fc/logout-return",
    )

    assert local.stage == "local" and local.fc_issuer == "http://127.0.0.1:8100/api/v2"


@pytest.mark.parametrize("stage", ["dev", "recette", "prod"])
def test_given_franceconnect_not_configured_when_a_deployed_stage_starts_then_nothing_is_required(
    stage: str,
) -> None:
    unset = Settings(
        stage=stage, **WINDOW, fc_issuer=None, fc_redirect_uri="", fc_post_logout_redirect_uri=None
    )

    assert unset.fc_issuer is None


def test_given_a_misconfigured_stage_when_read_from_the_environment_then_the_message_names_the_variable() -> (
    None
):
    environ = {
        "STAGE": "prod",
        "FC_ISSUER": "http://localhost:8100/api/v2",
        **{k.upper(): v for k, v in WINDOW.items()},
    }

    with pytest.raises(ValidationError, match=r"FC_ISSUER must be an https URL outside the local stage"):
        Settings.from_env(environ)


@pytest.mark.parametrize(("stage", "loopback"), [("local", True), ("dev", False), ("prod", False)])
def test_given_a_stage_when_the_franceconnect_client_is_built_then_only_local_accepts_loopback_endpoints(
    stage: str, loopback: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from reassort import wiring

    monkeypatch.setattr(wiring, "get_settings", lambda: settings(stage, fc_client_id="client"))
    monkeypatch.setattr(wiring, "get_secrets", lambda: SimpleNamespace(fc_client_secret="secret"))

    client = wiring.get_fc_client.__wrapped__()

    assert client.config.allow_loopback is loopback
