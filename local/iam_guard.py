"""IAM as AWS would apply it, for the emulators that do not: each AWS call a handler makes is
checked against its function's policy as the CDK app synthesizes it (`infra/policy_export.py`).

moto and dynoxide accept any call. Installed on a boto3 session, this check evaluates the call
at the SDK boundary (a botocore `before-call` hook): the action (one per item of a transaction,
as IAM does), the resource ARN, and the condition keys the policies use
(`dynamodb:Attributes`, `dynamodb:ReturnValues`). A denied call answers `AccessDeniedException`
like AWS and is remembered, so a test suite can fail on it naming the call and what is missing.
Calls made outside any function (test set-up, the local stack's own provisioning) are not checked.
"""

from __future__ import annotations

import contextvars
import fnmatch
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
_current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("iam_function", default=None)

_NAME = re.compile(r"(?<![.:#\w])(#?[A-Za-z_]\w*)(\s*\()?")
_KEYWORDS = {"set", "remove", "add", "delete", "and", "or", "not", "between", "in"}
# A call needs every (action, resource, context) listed; attributes None means "all of them".
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@dataclass(frozen=True)
class Need:
    action: str
    resource: str | None  # None: the resource is not modelled, only the action is checked
    attributes: frozenset[str] | None = None
    return_values: str | None = None

    def describe(self) -> str:
        text = f"{self.action} on {self.resource or '(any resource)'}"
        if self.attributes is not None:
            text += f" naming attributes {sorted(self.attributes)}"
        if self.return_values:
            text += f" with ReturnValues={self.return_values}"
        return text


def expression_names(expression: str | None, names: dict[str, str] | None) -> set[str]:
    """Top-level attribute names of a DynamoDB expression (placeholders resolved)."""
    if not expression:
        return set()
    found = set()
    for match in _NAME.finditer(expression):
        token, call = match.group(1), match.group(2)
        if call or token.lower() in _KEYWORDS:
            continue
        found.add((names or {}).get(token, token) if token.startswith("#") else token)
    return found


def _item_attributes(operation: str, params: dict[str, Any]) -> frozenset[str] | None:
    names = params.get("ExpressionAttributeNames")
    found = set(params.get("Key", {})) | set(params.get("Item", {}))
    for expression in ("UpdateExpression", "ConditionExpression", "ProjectionExpression"):
        found |= expression_names(params.get(expression), names)
    if operation == "GetItem" and not params.get("ProjectionExpression"):
        return None  # the whole item is read
    return frozenset(found)


def _table_arn(region: str, table: str) -> str:
    return table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}"


def needs_of(service: str, operation: str, params: dict[str, Any], region: str) -> list[Need]:
    """What IAM checks for one API call."""
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            out = []
            for entry in params.get("TransactItems", []):
                ((kind, body),) = entry.items()
                out.append(
                    Need(
                        f"dynamodb:{_TRANSACT_ACTIONS[kind]}",
                        _table_arn(region, body["TableName"]),
                        _item_attributes(_TRANSACT_ACTIONS[kind], body),
                    )
                )
            return out
        if operation == "TransactGetItems":
            return [
                Need(
                    "dynamodb:GetItem",
                    _table_arn(region, e["Get"]["TableName"]),
                    _item_attributes("GetItem", e["Get"]),
                )
                for e in params.get("TransactItems", [])
            ]
        if operation in ("BatchWriteItem", "BatchGetItem"):
            return [
                Need(f"dynamodb:{operation}", _table_arn(region, t)) for t in params.get("RequestItems", {})
            ]
        table = params.get("TableName")
        if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
            return [
                Need(
                    f"dynamodb:{operation}",
                    _table_arn(region, table or ""),
                    _item_attributes(operation, params),
                    params.get("ReturnValues"),
                )
            ]
        return [Need(f"dynamodb:{operation}", _table_arn(region, table) if table else None)]
    if service == "sesv2" and operation == "SendEmail":
        sender = parseaddr(params.get("FromEmailAddress", ""))[1]
        out = [Need("ses:SendEmail", f"arn:aws:ses:{region}:{ACCOUNT}:identity/{sender.rpartition('@')[2]}")]
        if params.get("ConfigurationSetName"):
            out.append(
                Need(
                    "ses:SendEmail",
                    f"arn:aws:ses:{region}:{ACCOUNT}:configuration-set/{params['ConfigurationSetName']}",
                )
            )
        return out
    if service == "sns" and operation == "Publish":
        # A phone number has no ARN (and must not appear in a message).
        return [Need("sns:Publish", params.get("TopicArn") or params.get("TargetArn") or "sms-phone-number")]
    if service == "secretsmanager":
        return [Need(f"secretsmanager:{operation}", params.get("SecretId"))]
    prefix = {"sesv2": "ses"}.get(service, service)
    return [Need(f"{prefix}:{operation}", None)]


@dataclass(frozen=True)
class Statement:
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    conditions: dict[str, Any]

    def matches(self, need: Need, fill: Any) -> bool:
        if not any(fnmatch.fnmatchcase(need.action.lower(), a.lower()) for a in self.actions):
            return False
        if need.resource is not None:
            if self.not_resources:
                if any(fnmatch.fnmatchcase(need.resource, fill(r)) for r in self.not_resources):
                    return False
            elif not any(fnmatch.fnmatchcase(need.resource, fill(r)) for r in self.resources):
                return False
        return self._conditions_hold(need)

    def _conditions_hold(self, need: Need) -> bool:
        for operator, keys in self.conditions.items():
            for key, allowed in keys.items():
                allowed_set = set(allowed if isinstance(allowed, list) else [allowed])
                if operator == "ForAllValues:StringEquals" and key == "dynamodb:Attributes":
                    if need.attributes is None or not need.attributes <= allowed_set:
                        return False
                elif operator == "StringEqualsIfExists" and key == "dynamodb:ReturnValues":
                    if need.return_values is not None and need.return_values not in allowed_set:
                        return False
                else:
                    return False  # a condition this check does not model never grants
        return True


@dataclass
class FunctionPolicy:
    statements: list[Statement]

    @classmethod
    def from_export(cls, data: dict[str, Any]) -> FunctionPolicy:
        statements = []
        for s in data["statements"]:
            assert s["effect"] == "Allow", "the functions' policies only allow"
            statements.append(
                Statement(
                    tuple(s["actions"]), tuple(s["resources"]), tuple(s["not_resources"]), s["conditions"]
                )
            )
        return cls(statements)

    def allows(self, need: Need, region: str) -> bool:
        return any(statement.matches(need, lambda text: _fill(text, region)) for statement in self.statements)


def _setting(variable: str) -> str:
    """The function's environment variable, or the service's default when it is not set."""
    if variable in os.environ:
        return os.environ[variable]
    from reassort.config import Settings

    field = Settings.model_fields.get(variable.lower())
    default = field.default if field is not None else None
    return str(default) if isinstance(default, str) else f"<unset {variable}>"


def _fill(text: str, region: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "ACCOUNT":
            return ACCOUNT
        if name == "REGION":
            return region
        if name == "MAIL_DOMAIN":
            return parseaddr(_setting("MAIL_FROM"))[1].rpartition("@")[2] or "<no MAIL_FROM>"
        if name.startswith("ENV:"):
            return _setting(name[4:])
        return match.group(0)

    return re.sub(r"\$\{([A-Z_:]+)\}", value, text)


@dataclass
class IamGuard:
    policies: dict[str, FunctionPolicy]
    # When set, every call is made as that function (a worker process of the local stack).
    fixed_function: str | None = None
    denials: list[str] = field(default_factory=list)
    checked: int = 0
    on_denial: Any = None  # called with each denial's message
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_file(cls, path: Path, fixed_function: str | None = None) -> IamGuard:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls({m: FunctionPolicy.from_export(p) for m, p in data["functions"].items()}, fixed_function)

    @contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        token = _current_function.set(function)
        try:
            yield
        finally:
            _current_function.reset(token)

    def install(self, session: Any) -> None:
        """Check every client later created from this boto3 (or botocore) session."""
        events = session.events
        events.register("before-parameter-build", self._keep_params, unique_id="iam-guard-params")
        events.register("before-call", self._check, unique_id="iam-guard-check")

    def _keep_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["iam_guard_params"] = params

    def _check(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        function = self.fixed_function or _current_function.get()
        if function is None:
            return None
        service = model.service_model.service_name
        region = context.get("client_region") or os.environ.get("AWS_REGION") or "eu-west-3"
        params = context.get("iam_guard_params", {})
        policy = self.policies.get(function)
        missing = [
            need
            for need in needs_of(service, model.name, params, region)
            if policy is None or not policy.allows(need, region)
        ]
        with self._lock:
            self.checked += 1
            if not missing:
                return None
            message = f"{function}: {service}.{model.name} denied — " + "; ".join(
                n.describe() for n in missing
            )
            self.denials.append(message)
        if self.on_denial is not None:
            self.on_denial(message)
        return _access_denied(message)


def _access_denied(message: str) -> tuple[Any, dict[str, Any]]:
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    response = AWSResponse("https://iam-guard.local", 400, HTTPHeaders(), None)
    return response, {
        "Error": {"Code": "AccessDeniedException", "Message": f"User is not authorized: {message}"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
