"""The functions' IAM policies as the CDK app synthesizes them, in a form a test can enforce.

`python -m infra.policy_export --out build/iam-policies.json` synthesizes the production stage
(no asset bundling) and writes, per function module, its role's statements with every
CloudFormation reference replaced by a placeholder the local IAM check fills at call time:
`${ENV:NAME}` (the function's environment variable holding that resource's name or ARN),
`${ACCOUNT}`, `${REGION}`. The local check (`local/iam_guard.py`) then evaluates each AWS call
the handlers make against exactly what AWS would be given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from email.utils import parseaddr
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "iam-policies.json"
FUNCTIONS = ("request_reassort", "redeem", "fc_callback")
# What the policies are built from: a change to any of these synthesizes again.
SOURCES = (ROOT / "infra", ROOT / "functions" / "reassort" / "adapters" / "elector_attributes.py")


class UnresolvedReference(ValueError):
    pass


def sources_digest() -> str:
    digest = hashlib.sha256()
    for source in SOURCES:
        files = sorted(source.rglob("*.py")) if source.is_dir() else [source]
        for file in files:
            if "cdk.out" in file.parts:
                continue
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _resolver(template: dict[str, Any], environment: dict[str, Any]) -> Any:
    resources = template["Resources"]
    by_reference = {json.dumps(value, sort_keys=True): name for name, value in environment.items()}
    mail_domain = parseaddr(str(environment.get("MAIL_FROM", "")))[1].rpartition("@")[2]
    configuration_set = environment.get("SES_CONFIGURATION_SET")

    def env_holding(logical_id: str) -> str | None:
        return by_reference.get(json.dumps({"Ref": logical_id}, sort_keys=True))

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return literal(value)
        if not isinstance(value, dict) or len(value) != 1:
            raise UnresolvedReference(f"unsupported value {value!r}")
        ((function, argument),) = value.items()
        if function == "Ref":
            pseudo = {"AWS::Partition": "aws", "AWS::AccountId": "${ACCOUNT}", "AWS::Region": "${REGION}"}
            if argument in pseudo:
                return pseudo[argument]
            name = env_holding(argument)
            if name is None:
                raise UnresolvedReference(f"no environment variable holds {argument}")
            return f"${{ENV:{name}}}"
        if function == "Fn::GetAtt" and argument[1] == "Arn":
            logical_id = argument[0]
            kind = resources[logical_id]["Type"]
            name = env_holding(logical_id)
            if kind == "AWS::DynamoDB::Table" and name:
                return f"arn:aws:dynamodb:${{REGION}}:${{ACCOUNT}}:table/${{ENV:{name}}}"
            if kind == "AWS::Logs::LogGroup":
                # The runtime writes its logs itself; no handler code calls CloudWatch Logs.
                return f"arn:aws:logs:${{REGION}}:${{ACCOUNT}}:log-group:{logical_id}"
            raise UnresolvedReference(f"no environment variable holds the {kind} {logical_id}")
        if function == "Fn::Join":
            separator, parts = argument
            return literal(separator.join(resolve(part) for part in parts))
        raise UnresolvedReference(f"unsupported function {function}")

    def literal(text: str) -> str:
        # The sending identity must be the sender's domain, as SES checks it.
        if ":ses:" in text and ":identity/" in text:
            head, _, identity = text.rpartition(":identity/")
            if identity != mail_domain:
                raise UnresolvedReference(
                    f"the policy grants the identity {identity} but MAIL_FROM sends from {mail_domain}"
                )
            return f"{head}:identity/${{MAIL_DOMAIN}}"
        if configuration_set and text.endswith(f":configuration-set/{configuration_set}"):
            return text.removesuffix(configuration_set) + "${ENV:SES_CONFIGURATION_SET}"
        return text.replace(":eu-west-3:", ":${REGION}:")

    return resolve


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def function_policies(template: dict[str, Any], functions: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """`functions`: module → (function logical id, role logical id)."""
    resources = template["Resources"]
    out: dict[str, Any] = {}
    for module, (function_id, role_id) in functions.items():
        environment = resources[function_id]["Properties"]["Environment"]["Variables"]
        resolve = _resolver(template, environment)
        statements = []
        for resource in resources.values():
            if (
                resource["Type"] != "AWS::IAM::Policy"
                or {"Ref": role_id} not in resource["Properties"]["Roles"]
            ):
                continue
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                statements.append(
                    {
                        "effect": statement["Effect"],
                        "actions": _as_list(statement["Action"]),
                        "resources": [resolve(r) for r in _as_list(statement.get("Resource"))],
                        "not_resources": [resolve(r) for r in _as_list(statement.get("NotResource"))],
                        "conditions": statement.get("Condition", {}),
                    }
                )
        out[module] = {"statements": statements}
    return out


def synthesize(stage_name: str = "prod") -> dict[str, Any]:
    os.environ.setdefault("CDK_VALIDATION", "false")
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra.reassort_app import add_stages

    app = App(context={"aws:cdk:bundling-stacks": []})
    stage = add_stages(app, [stage_name])[stage_name]
    service = stage.service
    template = dict(Template.from_stack(service).to_json())
    functions = {}
    for module in FUNCTIONS:
        function = getattr(service.functions, module)
        functions[module] = (
            service.get_logical_id(function.node.default_child),
            service.get_logical_id(function.role.node.default_child),
        )
    return {
        "stage": stage_name,
        "sources": sources_digest(),
        "functions": function_policies(template, functions),
    }


def load_or_synthesize(path: Path = DEFAULT_OUT, stage_name: str = "prod") -> dict[str, Any]:
    """The exported policies, synthesized again only when the infrastructure code changed."""
    if path.is_file():
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("sources") == sources_digest() and cached.get("stage") == stage_name:
            return dict(cached)
    policies = synthesize(stage_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(policies, indent=1, sort_keys=True), encoding="utf-8")
    return policies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export the functions' synthesized IAM policies")
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    load_or_synthesize(args.out, args.stage)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
