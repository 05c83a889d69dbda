"""A small model of IAM evaluation over a synthesized template, enough to reason about grants.

It follows Allow statements of the policies attached to a role (no Deny is used in the stack):
action wildcards, Resource/NotResource and the `ForAllValues:StringEquals` attribute condition.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    resources: tuple[Any, ...]
    not_resources: tuple[Any, ...]
    conditions: dict[str, Any]


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def role_grants(template: dict[str, Any], role_logical_id: str) -> list[Grant]:
    grants: list[Grant] = []
    resources = template["Resources"]
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        roles = resource["Properties"].get("Roles", [])
        if {"Ref": role_logical_id} not in roles:
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow", "the model only handles Allow statements"
            grants.append(
                Grant(
                    actions=_as_tuple(statement["Action"]),
                    resources=_as_tuple(statement.get("Resource")),
                    not_resources=_as_tuple(statement.get("NotResource")),
                    conditions=statement.get("Condition", {}),
                )
            )
    role = resources[role_logical_id]["Properties"]
    assert not role.get("ManagedPolicyArns"), "function roles carry no managed policy"
    assert not role.get("Policies"), "function roles carry no inline policy outside the model"
    return grants


def _action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _resource_matches(resource: Any, target: Any) -> bool:
    """Targets are either a literal ARN-like string or a CloudFormation reference to a resource."""
    if resource == "*":
        return True
    if isinstance(resource, dict) and isinstance(target, dict):
        return resource == target
    if isinstance(resource, str) and isinstance(target, str):
        return fnmatch.fnmatchcase(target, resource)
    return False


def _excludes(not_resource: Any, target: Any) -> bool:
    """The stack's only NotResource is every SNS ARN; targets given as references are topics."""
    assert ":sns:*:*:*" in json.dumps(not_resource), f"NotResource {not_resource} not modelled"
    return isinstance(target, dict) or (isinstance(target, str) and ":sns:" in target)


def _conditions_allow(
    conditions: dict[str, Any], attributes: set[str] | None, return_values: str | None
) -> bool:
    for operator, keys in conditions.items():
        for key, allowed in keys.items():
            if operator == "ForAllValues:StringEquals" and key == "dynamodb:Attributes":
                if attributes is None or not attributes <= set(_as_tuple(allowed)):
                    return False
            elif operator == "StringEqualsIfExists" and key == "dynamodb:ReturnValues":
                if return_values is not None and return_values not in _as_tuple(allowed):
                    return False
            else:
                raise AssertionError(f"condition {operator} {key} not modelled")
    return True


def is_allowed(
    grants: list[Grant],
    action: str,
    target: Any,
    *,
    attributes: set[str] | None = None,
    return_values: str | None = None,
) -> bool:
    """Whether some grant allows `action` on `target` (touching `attributes`, for DynamoDB)."""
    for grant in grants:
        if not any(_action_matches(pattern, action) for pattern in grant.actions):
            continue
        if grant.not_resources:
            if any(_excludes(not_resource, target) for not_resource in grant.not_resources):
                continue
        elif not any(_resource_matches(resource, target) for resource in grant.resources):
            continue
        if _conditions_allow(grant.conditions, attributes, return_values):
            return True
    return False


def granted_actions(grants: list[Grant]) -> set[str]:
    return {action for grant in grants for action in grant.actions}
