"""Templates of the rehearsal stacks: Locust on Fargate from the public image, SES inbox in S3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rehearsal() -> dict[str, Any]:
    from aws_cdk import App, Stage
    from aws_cdk.assertions import Template

    from infra.reassort_app import add_nag_checks
    from infra.rehearsal_stack import add_rehearsal
    from infra.stages import stage_config

    app = App(context={"aws:cdk:bundling-stacks": []})
    stage = Stage(app, "reassort-recette")
    generators, inbox = add_rehearsal(stage, stage_config("recette"), workers=6)
    add_nag_checks(app)
    app.synth()  # an unacknowledged cdk-nag finding fails here
    return {"generators": Template.from_stack(generators), "inbox": Template.from_stack(inbox)}


def containers(template: Any, family_part: str) -> dict[str, dict[str, Any]]:
    tasks = template.find_resources("AWS::ECS::TaskDefinition")
    (task,) = [t for name, t in tasks.items() if family_part in name]
    return {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}


def test_given_the_rehearsal_when_synthesised_then_master_and_workers_run_the_public_locust_image(rehearsal):
    template = rehearsal["generators"]
    master, worker = containers(template, "MasterTask"), containers(template, "WorkerTask")
    from infra.rehearsal_stack import LOCUST_IMAGE

    assert master["Locust"]["Image"] == worker["Locust"]["Image"] == LOCUST_IMAGE
    from importlib.metadata import version

    # the image runs the Locust the kit is tested with (importing locust would monkey-patch)
    assert LOCUST_IMAGE.rsplit(":", 1)[1] == version("locust")
    assert "--master" in master["Locust"]["Command"] and "--headless" in master["Locust"]["Command"]
    command = master["Locust"]["Command"]
    assert command[command.index("--expect-workers") + 1] == "6"
    assert command[command.index("--host") + 1] == "https://reassort.recette.elections.example.gouv.fr"
    worker_command = worker["Locust"]["Command"]
    assert worker_command[worker_command.index("--master-host") + 1] == (
        "master.rehearsal.recette.reassort.internal"
    )
    # no image is built: only registry images
    assert not template.find_resources("AWS::ECR::Repository")


def test_given_a_task_when_it_starts_then_the_kit_comes_from_s3_first_and_reports_go_back(rehearsal):
    master = containers(rehearsal["generators"], "MasterTask")
    fetch = master["FetchKit"]
    assert fetch["Command"][:2] == ["s3", "sync"] and fetch["Essential"] is False
    assert {"Condition": "SUCCESS", "ContainerName": "FetchKit"} in master["Locust"]["DependsOn"]
    upload = master["UploadReports"]
    assert "s3://" in json.dumps(upload["Command"]) and "/reports/" in json.dumps(upload["Command"])
    assert {"Condition": "COMPLETE", "ContainerName": "Locust"} in upload["DependsOn"]
    env = {e["Name"]: e["Value"] for e in master["Locust"]["Environment"]}
    assert env["LOAD_LOGIN"] == "test-issuer" and env["LOAD_LINKS"] == "s3"
    assert env["LOAD_TEST_ISSUER"] == "https://load-test.reassort.recette.elections.example.gouv.fr"
    assert env["LOAD_TEST_ISSUER_SECRET_ID"] == "reassort-recette/load-test-issuer"


def test_given_the_services_when_synthesised_then_they_start_at_zero_tasks(rehearsal):
    services = rehearsal["generators"].find_resources("AWS::ECS::Service")
    assert len(services) == 2
    assert all(s["Properties"]["DesiredCount"] == 0 for s in services.values())
    outputs = rehearsal["generators"].to_json()["Outputs"]
    assert {"KitBucketName", "ClusterName", "MasterServiceName", "WorkerServiceName"} <= set(outputs)


def test_given_the_task_roles_when_synthesised_then_they_read_only_the_test_issuer_key(rehearsal):
    policies = rehearsal["generators"].find_resources("AWS::IAM::Policy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    secret_reads = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
    assert secret_reads
    for statement in secret_reads:
        assert "reassort-recette/load-test-issuer-*" in json.dumps(statement["Resource"])
        assert "/keys" not in json.dumps(statement["Resource"])


def test_given_the_inbox_when_synthesised_then_ses_receives_the_test_domain_into_s3_in_ireland(rehearsal):
    template = rehearsal["inbox"]
    (rule,) = template.find_resources("AWS::SES::ReceiptRule").values()
    props = rule["Properties"]["Rule"]
    assert props["Recipients"] == ["load.reassort.recette.elections.example.gouv.fr"]
    (action,) = props["Actions"]
    assert action["S3Action"]["ObjectKeyPrefix"] == "inbox/"
    (bucket,) = template.find_resources("AWS::S3::Bucket").values()
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 2


def test_given_prod_or_a_stage_without_the_test_issuer_when_a_rehearsal_is_built_then_refused():
    from aws_cdk import App

    from infra.rehearsal_stack import RehearsalInboxStack, RehearsalStack
    from infra.stages import stage_config

    with pytest.raises(ValueError):
        RehearsalStack(App(), "r", config=stage_config("prod"))
    with pytest.raises(ValueError):
        RehearsalStack(App(), "r", config=stage_config("dev"))
    with pytest.raises(ValueError):
        RehearsalInboxStack(App(), "i", config=stage_config("prod"))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_given_the_app_when_synthesised_with_and_without_the_flag_then_rehearsal_stacks_only_with_it(
    tmp_path,
):
    def stacks(*context: str) -> set[str]:
        out = tmp_path / "-".join(context or ("plain",))
        env = {"CDK_OUTDIR": str(out), "CDK_VALIDATION": "false", "PATH": "/usr/bin:/bin"}
        command = [sys.executable, "app.py"]
        context_json = {"stage": "recette", "aws:cdk:bundling-stacks": []}
        for item in context:
            key, _, value = item.partition("=")
            context_json[key] = value
        env["CDK_CONTEXT_JSON"] = json.dumps(context_json)
        subprocess.run(command, cwd=ROOT / "infra", env=env, check=True, capture_output=True, timeout=500)
        manifest = json.loads((out / "manifest.json").read_text())
        names = set()
        for artifact in manifest["artifacts"].values():
            if artifact["type"] != "cdk:cloud-assembly":
                continue
            nested = json.loads((out / artifact["properties"]["directoryName"] / "manifest.json").read_text())
            names |= {
                a["properties"]["stackName"]
                for a in nested["artifacts"].values()
                if a["type"] == "aws:cloudformation:stack"
            }
        return names

    plain = stacks()
    assert plain == {
        "reassort-recette-edge",
        "reassort-recette-service",
        "reassort-recette-sms",
        "reassort-recette-cloudfront-alarms",
    }
    assert stacks("rehearsal=1") - plain == {"reassort-recette-rehearsal", "reassort-recette-rehearsal-inbox"}


def test_given_the_deploy_tooling_then_the_cdk_cli_is_pinned_and_used_by_make():
    package = json.loads((ROOT / "package.json").read_text())
    version = package["devDependencies"]["aws-cdk"]
    assert version[0].isdigit()  # exact version, no range
    makefile = (ROOT / "Makefile").read_text()
    assert "CDK := $(CURDIR)/node_modules/.bin/cdk" in makefile
    for target in ("deploy", "diff"):
        assert f"\n{target}: install node" in makefile
        assert f"$(CDK) {target} --all -c stage=$(STAGE)" in makefile
