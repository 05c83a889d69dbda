"""Template of the Distributed Map roll import."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.infra

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _synth(tmp_path_factory, {"ARGON2_MEMORY_KIB": "19456"})


def _synth(tmp_path_factory: pytest.TempPathFactory, environment: dict[str, str]) -> Any:
    from aws_cdk import App, Stack
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_secretsmanager as secretsmanager
    from aws_cdk.assertions import Template

    from infra.roll_import import RollImportConstruct as RollImportConstruct

    app = App(context={"aws:cdk:bundling-stacks": []})
    stack = Stack(app, "RollImportTest")
    table = dynamodb.TableV2(
        stack,
        "Electors",
        partition_key=dynamodb.Attribute(name="elector_id", type=dynamodb.AttributeType.STRING),
    )
    layer_dir = tmp_path_factory.mktemp("layer")
    (layer_dir / "python").mkdir()
    layer = lambda_.LayerVersion(stack, "Dependencies", code=lambda_.Code.from_asset(str(layer_dir)))
    secret = secretsmanager.Secret(stack, "Secret")
    construct = RollImportConstruct(
        stack,
        "RollImport",
        electors_table=table,
        code=lambda_.Code.from_asset(str(FUNCTIONS_DIR)),
        layer=layer,
        secret=secret,
        environment=environment,
        rows_per_batch=40,
        max_concurrency=150,
    )
    assert construct.bucket and construct.state_machine
    return Template.from_stack(stack)


def definition(template: Any) -> dict[str, Any]:
    machines = template.find_resources("AWS::StepFunctions::StateMachine")
    (machine,) = machines.values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "ARN" for p in parts)
    return json.loads(text)


def test_given_the_construct_when_synthesised_then_a_distributed_map_reads_the_csv_in_batches(template):
    states = definition(template)["States"]
    (map_state,) = states.values()
    assert map_state["Type"] == "Map"
    assert map_state["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "EXPRESS",
    }
    reader = map_state["ItemReader"]
    assert reader["Resource"].endswith(":s3:getObject")
    assert reader["ReaderConfig"] == {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}
    assert reader["Parameters"]["Key.$"] == "$.key"
    assert map_state["ItemBatcher"] == {"MaxItemsPerBatch": 40}
    assert map_state["MaxConcurrency"] == 150
    assert map_state["ItemSelector"] == {"row.$": "$$.Map.Item.Index", "fields.$": "$$.Map.Item.Value"}
    # one failed batch does not abort a long run; the report lists it for an idempotent rerun
    assert map_state["ToleratedFailurePercentage"] == 1
    assert map_state["ResultWriter"]["Parameters"]["Prefix"] == "reports/"


def test_given_express_child_workflows_then_the_worker_and_its_task_end_before_their_five_minutes(template):
    (map_state,) = definition(template)["States"].values()
    (task,) = map_state["ItemProcessor"]["States"].values()
    assert task["TimeoutSeconds"] < 300
    (worker,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "roll_import_worker.handler.lambda_handler"}}
    ).values()
    assert worker["Properties"]["Timeout"] < task["TimeoutSeconds"]


def test_given_a_worker_timeout_past_the_express_limit_then_the_construct_refuses_it() -> None:
    from aws_cdk import App, Duration, Stack
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_secretsmanager as secretsmanager

    from infra.roll_import import RollImportConstruct as RollImport

    stack = Stack(App(), "Probe")
    table = dynamodb.Table(
        stack, "T", partition_key=dynamodb.Attribute(name="elector_id", type=dynamodb.AttributeType.STRING)
    )
    code = lambda_.Code.from_inline("def lambda_handler(event, context): pass")
    layer = lambda_.LayerVersion.from_layer_version_arn(
        stack, "L", "arn:aws:lambda:eu-west-3:123456789012:layer:deps:1"
    )
    secret = secretsmanager.Secret(stack, "S")
    with pytest.raises(ValueError, match="5 minutes"):
        RollImport(
            stack,
            "Import",
            electors_table=table,
            code=code,
            layer=layer,
            secret=secret,
            worker_timeout=Duration.minutes(10),
        )


def test_given_the_worker_when_synthesised_then_it_runs_the_shared_code_with_the_dependency_layer(template):
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "roll_import_worker.handler.lambda_handler"}}
    )
    (worker,) = functions.values()
    props = worker["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 1769
    # the per-chunk code is in the shared code asset: no layer of its own
    assert len(props["Layers"]) == 1
    env = props["Environment"]["Variables"]
    assert {"ELECTORS_TABLE", "SECRETS_ID", "ARGON2_MEMORY_KIB"} <= set(env)
    assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"


def test_given_the_worker_package_when_read_then_it_imports_no_tools_and_no_local():
    import ast

    for path in [
        *(FUNCTIONS_DIR / "reassort" / "roll").glob("*.py"),
        FUNCTIONS_DIR / "roll_import_worker" / "handler.py",
    ]:
        tree = ast.parse(path.read_text())
        imported = [
            name
            for node in ast.walk(tree)
            for name in (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
        ]
        assert not [name for name in imported if name.split(".")[0] in ("tools", "local")], path


def test_given_a_stage_environment_when_synthesised_then_bucket_and_machine_are_named_and_output(
    tmp_path_factory: pytest.TempPathFactory,
):
    template = _synth(tmp_path_factory, {"STAGE": "recette"})
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    assert machine["Properties"]["StateMachineName"] == "reassort-recette-roll-import"
    (bucket,) = template.find_resources("AWS::S3::Bucket").values()
    name = json.dumps(bucket["Properties"]["BucketName"])
    assert "reassort-recette-roll-import-" in name and "AWS::AccountId" in name
    outputs = template.to_json()["Outputs"]
    assert {"RollImportBucketName", "RollImportStateMachineArn"} <= set(outputs)


def test_given_the_roll_bucket_when_synthesised_then_private_encrypted_tls_only_and_expiring(template):
    (bucket,) = template.find_resources("AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 7
    assert bucket["DeletionPolicy"] == "Retain"
    (policy,) = template.find_resources("AWS::S3::BucketPolicy").values()
    denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_given_the_worker_role_when_synthesised_then_it_cannot_write_elector_state(template):
    statements = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    writes = [s for s in statements if "dynamodb:UpdateItem" in json.dumps(s["Action"])]
    assert writes, "the worker needs UpdateItem"
    for statement in writes:
        allowed = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
        for state in (
            "failed_attempts",
            "locked_until",
            "link_generation",
            "recent_links",
            "code_changed_at",
        ):
            assert state not in allowed
        assert {"roll_digest", "vote_code_hash", "answer_hash"} <= set(allowed)
    # Step Functions logs errors only, never execution data (rows may hold plaintext secrets)
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    logging = machine["Properties"]["LoggingConfiguration"]
    assert logging["IncludeExecutionData"] is False and logging["Level"] == "ERROR"


DOCS = Path(__file__).resolve().parents[2] / "docs"


def rendered(value: Any) -> str:
    """A template string with its account and region references as the docs write them."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(rendered(part) for part in parts)
    references = {"AWS::AccountId": "<account>", "AWS::Region": "<region>"}
    return references.get(value.get("Ref", ""), "<?>")


def test_given_the_operations_docs_when_compared_to_the_prod_template_then_every_name_exists(prod):
    template = prod.service_json
    resources = template["Resources"].values()
    names = set()
    for resource in resources:
        props = resource.get("Properties", {})
        for key in ("TableName", "StateMachineName", "Name", "BucketName"):
            if key in props:
                names.add(rendered(props[key]))
    text = (DOCS / "roll-import.md").read_text(encoding="utf-8")
    found = re.findall(r"reassort-prod[-/][A-Za-z0-9<>/-]*[A-Za-z0-9>]", text)
    # a bucket name may be followed by an object key
    mentioned = {name if name.startswith("reassort-prod/") else name.split("/")[0] for name in found}
    # the table, the secret, the bucket and the state machine are all named in the docs
    assert {
        "reassort-prod-electors",
        "reassort-prod/keys",
        "reassort-prod-roll-import",
        "reassort-prod-roll-import-<account>-<region>",
    } <= mentioned
    assert mentioned <= names, mentioned - names
    outputs = set(template["Outputs"])
    documented_outputs = set(re.findall(r"`([A-Z][A-Za-z]+(?:Name|Arn))`", text))
    assert {"ElectorsTableName", "RollImportBucketName", "RollImportStateMachineArn"} <= documented_outputs
    assert documented_outputs <= outputs, documented_outputs - outputs
