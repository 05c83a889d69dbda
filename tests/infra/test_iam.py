"""Each function's role allows what it needs and nothing that would let it misbehave."""

from __future__ import annotations

from typing import Any

import pytest

from infra.access_policies import CHALLENGE_WRITABLE_ELECTOR_ATTRIBUTES, REDEEM_WRITABLE_ELECTOR_ATTRIBUTES

from .conftest import SynthesizedStage, logical_id_of
from .iam_model import Grant, granted_actions, is_allowed, role_grants

pytestmark = pytest.mark.infra

SMS_TO_A_PHONE = "sms-to-phone-number"  # Publish to a phone number has no ARN


def grants_of(stage: SynthesizedStage, function_attr: str) -> list[Grant]:
    function = getattr(stage.stage.service.functions, function_attr)
    return role_grants(stage.service_json, logical_id_of(stage, function.role))


def table_ref(stage: SynthesizedStage, name: str) -> dict[str, Any]:
    table = getattr(stage.stage.service.tables, name)
    return {"Fn::GetAtt": [logical_id_of(stage, table), "Arn"]}


@pytest.mark.parametrize("function", ["request_reassort", "fc_callback"])
def test_given_the_challenge_functions_when_writing_the_vote_code_then_iam_refuses(
    prod: SynthesizedStage, function: str
) -> None:
    grants = grants_of(prod, function)
    electors = table_ref(prod, "electors")
    assert not is_allowed(
        grants, "dynamodb:UpdateItem", electors, attributes={"elector_id", "vote_code_hash"}
    )
    assert not is_allowed(grants, "dynamodb:UpdateItem", electors, attributes={"link_generation"})
    assert is_allowed(
        grants, "dynamodb:UpdateItem", electors, attributes={"elector_id", "failed_attempts", "locked_until"}
    )
    assert is_allowed(
        grants,
        "dynamodb:UpdateItem",
        electors,
        attributes={"elector_id", *CHALLENGE_WRITABLE_ELECTOR_ATTRIBUTES},
    )


@pytest.mark.parametrize("function", ["request_reassort", "redeem", "fc_callback"])
def test_given_an_attribute_limited_role_when_asking_for_the_whole_item_back_then_iam_refuses(
    prod: SynthesizedStage, function: str
) -> None:
    grants = grants_of(prod, function)
    electors = table_ref(prod, "electors")
    for whole in ("ALL_NEW", "ALL_OLD"):
        assert not is_allowed(
            grants,
            "dynamodb:UpdateItem",
            electors,
            attributes={"elector_id", "updated_at"},
            return_values=whole,
        )
    assert is_allowed(
        grants,
        "dynamodb:UpdateItem",
        electors,
        attributes={"elector_id", "updated_at"},
        return_values="UPDATED_NEW",
    )


def test_given_redeem_when_writing_electors_then_only_the_code_and_generation_are_writable(
    prod: SynthesizedStage,
) -> None:
    grants = grants_of(prod, "redeem")
    electors = table_ref(prod, "electors")
    assert is_allowed(
        grants,
        "dynamodb:UpdateItem",
        electors,
        attributes={"elector_id", *REDEEM_WRITABLE_ELECTOR_ATTRIBUTES},
    )
    for attribute in ("failed_attempts", "locked_until", "answer_hash", "identity_digest", "pro_email"):
        assert not is_allowed(grants, "dynamodb:UpdateItem", electors, attributes={"elector_id", attribute})


@pytest.mark.parametrize("function", ["request_reassort", "redeem", "fc_callback"])
def test_given_any_function_then_it_can_neither_put_nor_delete_electors_nor_scan_any_table(
    prod: SynthesizedStage, function: str
) -> None:
    grants = grants_of(prod, function)
    electors = table_ref(prod, "electors")
    for action in ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
        assert not is_allowed(grants, action, electors)
    for table in ("electors", "links", "fc_state", "audit"):
        for action in (
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:DeleteTable",
            "dynamodb:ExportTableToPointInTime",
        ):
            assert not is_allowed(grants, action, table_ref(prod, table))


@pytest.mark.parametrize("function", ["request_reassort", "redeem", "fc_callback"])
def test_given_the_audit_trail_then_functions_only_append_to_it(
    prod: SynthesizedStage, function: str
) -> None:
    grants = grants_of(prod, function)
    audit = table_ref(prod, "audit")
    assert is_allowed(grants, "dynamodb:PutItem", audit)
    for action in ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
        assert not is_allowed(grants, action, audit, attributes={"event"})


def test_given_redeem_then_it_can_send_neither_sms_nor_email(prod: SynthesizedStage) -> None:
    actions = granted_actions(grants_of(prod, "redeem"))
    assert not [action for action in actions if action.lower().startswith(("ses:", "sns:", "sms-voice:"))]


def test_given_fc_callback_then_it_sends_email_but_no_sms(prod: SynthesizedStage) -> None:
    grants = grants_of(prod, "fc_callback")
    assert not is_allowed(grants, "sns:Publish", SMS_TO_A_PHONE)
    assert "ses:SendEmail" in granted_actions(grants)


def test_given_request_reassort_then_sms_go_to_phones_only_never_to_a_topic(prod: SynthesizedStage) -> None:
    grants = grants_of(prod, "request_reassort")
    alarm_topic = {"Ref": logical_id_of(prod, prod.stage.service.monitoring.topic)}
    assert is_allowed(grants, "sns:Publish", SMS_TO_A_PHONE)
    assert not is_allowed(grants, "sns:Publish", alarm_topic)
    assert not is_allowed(grants, "sns:SetSMSAttributes", SMS_TO_A_PHONE)


@pytest.mark.parametrize("function", ["request_reassort", "fc_callback"])
def test_given_email_senders_then_sending_is_limited_to_the_identity_and_configuration_set(
    prod: SynthesizedStage, function: str
) -> None:
    ses_grants = [g for g in grants_of(prod, function) if any(a.startswith("ses:") for a in g.actions)]
    assert [g.actions for g in ses_grants] == [("ses:SendEmail",)]
    rendered = str(ses_grants[0].resources)
    assert ":identity/elections.example.gouv.fr" in rendered
    assert ":configuration-set/reassort-prod-mail" in rendered
    assert "*" not in rendered


def test_given_fc_state_then_only_fc_callback_reaches_it(prod: SynthesizedStage) -> None:
    fc_state = table_ref(prod, "fc_state")
    assert is_allowed(grants_of(prod, "fc_callback"), "dynamodb:PutItem", fc_state)
    for function in ("request_reassort", "redeem"):
        assert not is_allowed(grants_of(prod, function), "dynamodb:GetItem", fc_state)


@pytest.mark.parametrize("function", ["request_reassort", "redeem", "fc_callback"])
def test_given_any_function_then_it_reads_only_the_service_secret_and_no_wildcard_but_xray(
    prod: SynthesizedStage, function: str
) -> None:
    grants = grants_of(prod, function)
    secret = {"Ref": logical_id_of(prod, prod.stage.service.secret)}
    assert is_allowed(grants, "secretsmanager:GetSecretValue", secret)
    assert not is_allowed(grants, "secretsmanager:PutSecretValue", secret)
    for grant in grants:
        if "*" in grant.resources:
            assert set(grant.actions) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
        assert not [action for action in grant.actions if action.endswith("*")]
