"""The journal's key, its Object Lock bucket, the digester, the seal role and the bureau's dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import SynthesizedStage


def _one(stage: SynthesizedStage, resource_type: str, **match: Any) -> dict[str, Any]:
    found = [
        r["Properties"]
        for r in stage.resources(resource_type).values()
        if all(r["Properties"].get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, found
    return found[0]


def _statements(stage: SynthesizedStage, role_fragment: str) -> list[dict[str, Any]]:
    out = []
    for policy in stage.resources("AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"]["Roles"])
        if role_fragment in roles:
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for s in statements:
        actions |= set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    return actions


def test_given_a_stage_then_the_journal_key_is_asymmetric_and_signs_only(prod: SynthesizedStage) -> None:
    key = _one(prod, "AWS::KMS::Key", KeySpec="ECC_NIST_P256")
    assert key["KeyUsage"] == "SIGN_VERIFY"


@pytest.mark.parametrize(("stage_name", "days"), [("dev", 7), ("recette", 7), ("prod", 400)])
def test_given_a_stage_then_digests_are_locked_in_compliance_mode_for_its_retention(
    synthesized: dict[str, SynthesizedStage], stage_name: str, days: int
) -> None:
    buckets = [
        r
        for r in synthesized[stage_name].resources("AWS::S3::Bucket").values()
        if "ObjectLockEnabled" in r["Properties"]
    ]
    assert len(buckets) == 1
    props = buckets[0]["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE",
        "Days": days,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert buckets[0]["DeletionPolicy"] == "Retain"


def test_given_the_digester_then_it_runs_alone_on_a_schedule_with_only_scan_sign_and_put(
    prod: SynthesizedStage,
) -> None:
    digester = _one(prod, "AWS::Lambda::Function", Handler="journal_digest.handler.lambda_handler")
    assert digester["ReservedConcurrentExecutions"] == 1
    env = digester["Environment"]["Variables"]
    from reassort.config import Settings

    settings = Settings.from_env({k: v for k, v in env.items() if isinstance(v, str)})
    assert settings.stage == "prod" and settings.close_grace_seconds == 1800
    assert env["ELECTION_CLOSES_AT"] == "2026-12-08T17:00:00" and env["CLOSE_GRACE_SECONDS"] == "1800"
    rules = [r["Properties"] for r in prod.resources("AWS::Events::Rule").values()]
    assert any(r.get("ScheduleExpression") == "rate(5 minutes)" for r in rules)
    role = json.dumps(digester["Role"])
    actions = _actions(_statements(prod, json.loads(role)["Fn::GetAtt"][0]))
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:Scan",
        "kms:Sign",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
    }


def test_given_the_seal_role_then_it_can_read_but_never_write_sign_or_delete(prod: SynthesizedStage) -> None:
    role = _one(prod, "AWS::IAM::Role", RoleName="reassort-prod-seal")
    assert role["MaxSessionDuration"] == 3600
    logical = next(
        k
        for k, r in prod.resources("AWS::IAM::Role").items()
        if r["Properties"].get("RoleName") == "reassort-prod-seal"
    )
    actions = _actions(_statements(prod, logical))
    assert "kms:GetPublicKey" in actions and "lambda:GetFunctionConfiguration" in actions
    readonly = ("List", "Get", "Describe", "Scan", "GET")
    assert all(a.split(":", 1)[1].startswith(readonly) for a in actions), actions


def test_given_the_dashboard_then_it_has_the_bureau_figures_per_hour_and_per_day(
    prod: SynthesizedStage,
) -> None:
    dashboard = next(iter(prod.resources("AWS::CloudWatch::Dashboard").values()))
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "Chiffres du bureau de vote" in body
    assert "bin(1h)" in body and "bin(1d)" in body


def test_given_the_digester_failing_then_an_alarm_goes_to_the_alarm_topic(prod: SynthesizedStage) -> None:
    alarm = _one(prod, "AWS::CloudWatch::Alarm", AlarmName="reassort-prod-JournalDigesterErrors")
    assert alarm["Threshold"] == 1 and alarm["AlarmActions"]
