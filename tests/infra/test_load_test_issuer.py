"""Template of the load-test issuer: a generated key on recette, nothing at all in prod."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import SynthesizedStage

pytestmark = pytest.mark.infra


def functions_by_name(stage: SynthesizedStage) -> dict[str, dict[str, Any]]:
    return {
        fn["Properties"]["FunctionName"]: fn["Properties"]
        for fn in stage.resources("AWS::Lambda::Function").values()
        if isinstance(fn["Properties"].get("FunctionName"), str)
    }


def test_given_recette_then_a_generated_key_is_trusted_by_the_session_verifiers_only(
    synthesized: dict[str, SynthesizedStage],
):
    recette = synthesized["recette"]
    secrets = {s["Properties"]["Name"]: s for s in recette.resources("AWS::SecretsManager::Secret").values()}
    key = secrets["reassort-recette/load-test-issuer"]
    assert key["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    functions = functions_by_name(recette)
    for name in ("reassort-recette-request-reassort", "reassort-recette-fc-callback"):
        env = functions[name]["Environment"]["Variables"]
        assert env["PORTAL_TEST_ISSUER"] == "https://load-test.reassort.recette.elections.example.gouv.fr"
        assert "PORTAL_TEST_ISSUER_SECRET_ID" in env
    redeem = functions["reassort-recette-redeem"]["Environment"]["Variables"]
    assert "PORTAL_TEST_ISSUER" not in redeem
    outputs = recette.service_json["Outputs"]
    assert {"LoadTestIssuerName", "LoadTestIssuerSecretArn"} <= set(outputs)


def test_given_prod_then_no_load_test_key_variable_or_grant_exists(prod: SynthesizedStage):
    text = json.dumps(prod.service_json)
    assert "load-test-issuer" not in text
    assert "PORTAL_TEST_ISSUER" not in text


def test_given_prod_with_the_flag_forced_when_synthesised_then_refused():
    from aws_cdk import App

    from infra.load_test_issuer import LoadTestIssuer
    from infra.stages import stage_config

    config = stage_config("prod", {"load_test_issuer": "1"})
    assert config.load_test_issuer
    with pytest.raises(ValueError, match="never deployed in production"):
        LoadTestIssuer(App(), "Issuer", config=config, verifiers=[])
