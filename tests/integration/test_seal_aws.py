"""`reassort-seal` against a stage in AWS (moto): what the read-only role reads, and each change seen."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest

from tools.seal import build_manifest, differences, manifest_digest
from tools.supervision_target import aws_target

REGION = "eu-west-3"


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", text)
    return buffer.getvalue()


@pytest.fixture
def deployed(stack: object) -> dict[str, str]:
    """A minimal deployed `dev` stage: a function with its layer and environment, a table, pages."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName="fn",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            }
        ),
    )["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    layer = lam.publish_layer_version(LayerName="deps", Content={"ZipFile": _zip("deps = 1")})[
        "LayerVersionArn"
    ]
    lam.create_function(
        FunctionName="reassort-dev-request-reassort",
        Runtime="python3.13",
        Role=role,
        Handler="request_reassort.handler.lambda_handler",
        Code={"ZipFile": _zip("x = 1")},
        Layers=[layer],
        Environment={
            "Variables": {"STAGE": "dev", "LINK_TTL_SECONDS": "3600", "SECRETS_ID": "reassort-dev/keys"}
        },
    )
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="reassort-dev-links",
        KeySchema=[{"AttributeName": "link_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "link_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName="reassort-dev-links", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="reassort-dev-pages", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="reassort-dev-pages", Key="reassort/code-vote.html", Body=b"<html>code</html>")
    api = boto3.client("apigatewayv2", region_name=REGION)
    api_id = api.create_api(Name="reassort-dev-api", ProtocolType="HTTP")["ApiId"]
    api.create_stage(
        ApiId=api_id,
        StageName="$default",
        DefaultRouteSettings={"ThrottlingBurstLimit": 40, "ThrottlingRateLimit": 20.0},
    )
    return {"pages": "reassort-dev-pages", "api": api_id}


def _seal(pages: str) -> dict:
    return build_manifest(aws_target("dev", bucket="-"), pages_bucket=pages)


def test_given_a_deployed_stage_when_sealed_then_code_layer_settings_tables_and_pages_are_in_the_manifest(
    deployed: dict[str, str],
) -> None:
    manifest = _seal(deployed["pages"])
    entries = manifest["entries"]
    function = entries["functions/reassort-dev-request-reassort"]
    assert function["code_sha256"] and function["layers_sha256"] == {
        "deps": function["layers_sha256"]["deps"]
    }
    assert entries["settings"]["settings"]["link_ttl_seconds"] == 3600
    assert entries["settings"]["rules"]["link_ttl_seconds"] == 3600
    assert entries["tables/reassort-dev-links"]["ttl_attribute"] == "ttl"
    assert entries["throttles"]["$default"]["default"]["ThrottlingRateLimit"] == 20.0
    assert "pages/reassort/code-vote.html" in entries
    assert manifest["digest"] == manifest_digest("dev", entries)
    assert differences(manifest, _seal(deployed["pages"])) == []


def test_given_a_sealed_stage_when_a_setting_a_page_or_the_code_changes_then_each_is_listed(
    deployed: dict[str, str],
) -> None:
    sealed = _seal(deployed["pages"])
    lam = boto3.client("lambda", region_name=REGION)
    lam.update_function_configuration(
        FunctionName="reassort-dev-request-reassort",
        Environment={
            "Variables": {"STAGE": "dev", "LINK_TTL_SECONDS": "7200", "SECRETS_ID": "reassort-dev/keys"}
        },
    )
    found = differences(sealed, _seal(deployed["pages"]))
    assert any(f.startswith("modifié : settings") and "link_ttl_seconds: 3600 → 7200" in f for f in found)
    assert any(
        f.startswith("modifié : functions/reassort-dev-request-reassort") and "LINK_TTL_SECONDS" in f
        for f in found
    )

    boto3.client("s3", region_name=REGION).put_object(
        Bucket=deployed["pages"], Key="reassort/code-vote.html", Body=b"<html>autre</html>"
    )
    lam.update_function_code(FunctionName="reassort-dev-request-reassort", ZipFile=_zip("x = 2"))
    found = differences(sealed, _seal(deployed["pages"]))
    assert "modifié : pages/reassort/code-vote.html" in found
    assert any("code_sha256" in f for f in found)

    api = boto3.client("apigatewayv2", region_name=REGION)
    api.delete_stage(ApiId=deployed["api"], StageName="$default")  # moto has no update_stage
    api.create_stage(
        ApiId=deployed["api"],
        StageName="$default",
        DefaultRouteSettings={"ThrottlingBurstLimit": 4000, "ThrottlingRateLimit": 2000.0},
    )
    found = differences(sealed, _seal(deployed["pages"]))
    assert any(f.startswith("modifié : throttles") and "ThrottlingRateLimit" in f for f in found), found
