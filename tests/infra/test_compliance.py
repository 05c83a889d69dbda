"""cdk-nag AwsSolutions and cfn-lint over every stage's synthesized templates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from infra.reassort_app import ReassortStage

from .conftest import SynthesizedStage

pytestmark = pytest.mark.infra

ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"
# CDK writes explicit DependsOn from a function to its role policy, which cfn-lint finds redundant.
CFN_LINT_IGNORED = ["W3005"]


def nag_findings(app: App) -> list[str]:
    report = AwsSolutionsChecks().validate_scope(app)
    return [
        f"{violation.rule_name} at {resource.construct_path}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]


def acknowledgements(app: App) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == ACKNOWLEDGED_RULES:
                found.setdefault(construct.node.path, {}).update(entry.data)
    return found


def test_given_every_stage_then_cdk_nag_aws_solutions_reports_nothing_unacknowledged(
    infra_app: tuple[App, dict[str, ReassortStage]],
) -> None:
    app, _ = infra_app
    findings = nag_findings(app)
    assert not findings, "unacknowledged cdk-nag findings:\n" + "\n".join(sorted(findings))


def test_given_the_acknowledgements_then_each_one_carries_a_reason(
    infra_app: tuple[App, dict[str, ReassortStage]],
) -> None:
    app, _ = infra_app
    acknowledged = acknowledgements(app)
    assert acknowledged
    for path, rules in acknowledged.items():
        for rule, reason in rules.items():
            assert len(reason.split()) >= 6, f"{path}: {rule} acknowledged without a real reason"


def test_given_an_unsafe_bucket_then_the_same_checks_report_it() -> None:
    """Guards against a check that silently stopped running."""
    app = App()
    s3.Bucket(Stack(app, "Unsafe"), "Bucket")
    findings = nag_findings(app)
    assert any("AwsSolutions-S10" in finding for finding in findings)


def lint_findings(template: dict[str, Any], region: str) -> list[str]:
    matches = lint(
        json.dumps(template),
        config=ManualArgs(regions=[region], ignore_checks=CFN_LINT_IGNORED),
    )
    return [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches]


@pytest.mark.parametrize("stage_name", ["dev", "recette", "prod"])
def test_given_a_stage_then_its_templates_are_cfn_lint_clean(
    synthesized: dict[str, SynthesizedStage], stage_name: str
) -> None:
    stage = synthesized[stage_name]
    assert lint_findings(stage.service.to_json(), stage.stage.service.region) == []
    assert lint_findings(stage.edge.to_json(), stage.stage.edge.region) == []
    assert stage.sms is not None and stage.cloudfront_alarms is not None
    assert lint_findings(stage.sms.to_json(), stage.stage.sms.region) == []
    assert lint_findings(stage.cloudfront_alarms.to_json(), stage.stage.cloudfront_alarms.region) == []
