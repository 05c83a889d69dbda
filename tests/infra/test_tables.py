"""Tables, keys and TTL attributes of docs/architecture.md; durability settings per stage."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import SynthesizedStage

pytestmark = pytest.mark.infra

EXPECTED_TABLES = {
    "reassort-{stage}-electors": ([("elector_id", "HASH")], None),
    "reassort-{stage}-links": ([("link_id", "HASH")], "ttl"),
    "reassort-{stage}-fc-state": ([("state_id", "HASH")], "ttl"),
    "reassort-{stage}-audit": ([("elector_id", "HASH"), ("event_key", "RANGE")], "ttl"),
}


def tables_by_name(stage: SynthesizedStage) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["TableName"]: r for r in stage.resources("AWS::DynamoDB::Table").values()}


@pytest.mark.parametrize("stage_name", ["dev", "recette", "prod"])
def test_given_a_stage_then_it_has_the_four_tables_with_their_keys_and_ttl(
    synthesized: dict[str, SynthesizedStage], stage_name: str
) -> None:
    tables = tables_by_name(synthesized[stage_name])
    assert set(tables) == {name.format(stage=stage_name) for name in EXPECTED_TABLES}
    for name_pattern, (key, ttl) in EXPECTED_TABLES.items():
        props = tables[name_pattern.format(stage=stage_name)]["Properties"]
        assert [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]] == key
        assert {a["AttributeType"] for a in props["AttributeDefinitions"]} == {"S"}
        if ttl:
            assert props["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in props


@pytest.mark.parametrize("stage_name", ["dev", "recette", "prod"])
def test_given_any_stage_then_tables_are_on_demand_encrypted_with_point_in_time_recovery(
    synthesized: dict[str, SynthesizedStage], stage_name: str
) -> None:
    for table in tables_by_name(synthesized[stage_name]).values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_given_prod_then_tables_are_protected_and_retained(prod: SynthesizedStage) -> None:
    for table in tables_by_name(prod).values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "RetainExceptOnCreate"
        assert table["UpdateReplacePolicy"] == "Retain"


def test_given_dev_then_tables_can_be_torn_down(dev: SynthesizedStage) -> None:
    for table in tables_by_name(dev).values():
        assert table["Properties"].get("DeletionProtectionEnabled") in (None, False)
        assert table["DeletionPolicy"] == "Delete"
