"""The three functions: runtime, architecture, one code asset, one layer, environment, tracing."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import SynthesizedStage, logical_id_of

pytestmark = pytest.mark.infra

HANDLERS = {
    "reassort-{stage}-request-reassort": "request_reassort.handler.lambda_handler",
    "reassort-{stage}-redeem": "redeem.handler.lambda_handler",
    "reassort-{stage}-fc-callback": "fc_callback.handler.lambda_handler",
}
# docs/architecture.md, "Environment".
REQUIRED_ENVIRONMENT = {
    "STAGE",
    "ELECTORS_TABLE",
    "LINKS_TABLE",
    "FC_STATE_TABLE",
    "AUDIT_TABLE",
    "SECRETS_ID",
    "ELECTION_OPENS_AT",
    "ELECTION_CLOSES_AT",
    "LINK_TTL_SECONDS",
    "CODE_DISPLAY_SECONDS",
    "MAX_FAILED_ATTEMPTS",
    "LOCK_SECONDS",
    "LINK_QUOTA",
    "LINK_QUOTA_WINDOW_SECONDS",
    "ARGON2_MEMORY_KIB",
    "ARGON2_TIME_COST",
    "ARGON2_PARALLELISM",
    "PROFESSIONAL_DOMAINS",
    "PUBLIC_BASE_URL",
    "MAIL_FROM",
    "SES_CONFIGURATION_SET",
    "SMS_SENDER_ID",
    "AUDIT_RETENTION_DAYS",
    "PORTAL_ISSUER",
    "PORTAL_AUDIENCE",
    "PORTAL_JWKS_URL",
    "FC_ISSUER",
    "FC_REDIRECT_URI",
    "FC_POST_LOGOUT_REDIRECT_URI",
    "FC_ID_TOKEN_ALG",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}
FORBIDDEN_ENVIRONMENT = {"POWERTOOLS_LOGGER_LOG_EVENT", "POWERTOOLS_DEV", "LOCAL_SECRETS", "AWS_ENDPOINT_URL"}


def service_functions(stage: SynthesizedStage) -> dict[str, dict[str, Any]]:
    functions = stage.resources("AWS::Lambda::Function").values()
    return {
        f["Properties"]["FunctionName"]: f["Properties"]
        for f in functions
        if "FunctionName" in f["Properties"]
    }


@pytest.mark.parametrize("stage_name", ["dev", "recette", "prod"])
def test_given_a_stage_then_three_python_313_arm64_functions_share_one_code_asset_and_one_layer(
    synthesized: dict[str, SynthesizedStage], stage_name: str
) -> None:
    stage = synthesized[stage_name]
    functions = service_functions(stage)
    expected = {name.format(stage=stage_name): handler for name, handler in HANDLERS.items()}
    assert {name: props["Handler"] for name, props in functions.items()} == expected
    for props in functions.values():
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
    assert len({str(props["Code"]) for props in functions.values()}) == 1
    layer = {"Ref": logical_id_of(stage, stage.stage.service.functions.layer)}
    assert all(props["Layers"] == [layer] for props in functions.values())
    layers = stage.resources("AWS::Lambda::LayerVersion")
    ours = layers[layer["Ref"]]["Properties"]
    assert ours["CompatibleRuntimes"] == ["python3.13"]
    assert ours["CompatibleArchitectures"] == ["arm64"]


def test_given_prod_then_every_function_has_the_contract_environment_and_no_debug_switch(
    prod: SynthesizedStage,
) -> None:
    tables = prod.stage.service.tables
    for props in service_functions(prod).values():
        env = props["Environment"]["Variables"]
        assert set(env) >= REQUIRED_ENVIRONMENT
        assert not set(env) & FORBIDDEN_ENVIRONMENT
        assert env["STAGE"] == "prod"
        assert env["ELECTORS_TABLE"] == {"Ref": logical_id_of(prod, tables.electors)}
        assert env["AUDIT_TABLE"] == {"Ref": logical_id_of(prod, tables.audit)}
        assert env["SECRETS_ID"] == {"Ref": logical_id_of(prod, prod.stage.service.secret)}
        assert env["PUBLIC_BASE_URL"] == "https://reassort.elections.example.gouv.fr"
        assert env["FC_REDIRECT_URI"] == "https://reassort.elections.example.gouv.fr/api/fc/callback"
        assert env["FC_ISSUER"] == "https://oidc.franceconnect.gouv.fr/api/v2"
        assert env["SES_CONFIGURATION_SET"] == "reassort-prod-mail"
        assert env["POWERTOOLS_SERVICE_NAME"] == "reassort"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Reassort"
        assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
        assert env["LINK_TTL_SECONDS"] == "3600"
        assert "education.gouv.fr" in env["PROFESSIONAL_DOMAINS"].split(",")


def test_given_dev_then_franceconnect_is_the_integration_platform(dev: SynthesizedStage) -> None:
    for props in service_functions(dev).values():
        assert "dev-franceconnect.fr" in props["Environment"]["Variables"]["FC_ISSUER"]


def test_given_each_function_then_it_logs_to_its_own_group_with_a_retention(prod: SynthesizedStage) -> None:
    groups = prod.resources("AWS::Logs::LogGroup")
    for name, props in service_functions(prod).items():
        group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group_id]["Properties"]["LogGroupName"] == f"/aws/lambda/{name}"
        assert groups[group_id]["Properties"]["RetentionInDays"] == 400


def test_given_each_stage_then_every_function_environment_passes_the_settings_checks(
    synthesized: dict[str, SynthesizedStage],
) -> None:
    from reassort.config import Settings

    for name, stage in synthesized.items():
        for props in service_functions(stage).values():
            env = props["Environment"]["Variables"]
            # References (tables, secret) resolve to names at deploy time.
            settings = Settings.from_env({k: v if isinstance(v, str) else "resolved" for k, v in env.items()})
            assert settings.stage == name
            assert settings.fc_issuer and settings.fc_issuer.startswith("https://")
            assert settings.fc_redirect_uri == f"{stage.stage.config.public_base_url}/api/fc/callback"
