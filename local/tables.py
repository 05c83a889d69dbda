"""The service's tables on the local engine, and roll entries written the way the roll import does.

Local stack and tests only: in AWS the CDK app creates the tables (`infra/tables.py`) and the
roll import writes the roll.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from reassort.adapters.elector_attributes import ROLL_FIELDS
from reassort.config import Settings
from reassort.domain.model import ElectorRecord

_serialize = TypeSerializer().serialize


def table_definitions(settings: Settings) -> list[dict[str, Any]]:
    """The key schemas of the four tables, as the CDK app declares them."""

    def table(name: str, keys: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "TableName": name,
            "KeySchema": [
                {"AttributeName": k, "KeyType": "HASH" if i == 0 else "RANGE"}
                for i, (k, _) in enumerate(keys)
            ],
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t} for k, t in keys],
            "BillingMode": "PAY_PER_REQUEST",
        }

    return [
        table(settings.electors_table, [("elector_id", "S")]),
        table(settings.links_table, [("link_id", "S")]),
        table(settings.fc_state_table, [("state_id", "S")]),
        table(settings.audit_table, [("elector_id", "S"), ("event_key", "S")]),
    ]


def create_tables(client: Any, settings: Settings) -> None:
    """Create the tables where they do not exist yet, with TTL where the CDK app sets it."""
    existing = set(client.list_tables().get("TableNames", []))
    for definition in table_definitions(settings):
        if definition["TableName"] in existing:
            continue
        client.create_table(**definition)
        if definition["TableName"] != settings.electors_table:
            client.update_time_to_live(
                TableName=definition["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
            )


def put_roll_record(client: Any, table: str, record: ElectorRecord) -> None:
    """Upsert the roll fields of one elector; lock, quota and link state are left as they are."""
    sets = ["updated_at = :now"]
    removes = []
    values: dict[str, Any] = {":now": _serialize(int(datetime.now(UTC).timestamp()))}
    for name in ROLL_FIELDS:
        value = getattr(record, name)
        if value is None:
            removes.append(name)
        else:
            sets.append(f"{name} = :{name}")
            values[f":{name}"] = _serialize(value)
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    client.update_item(
        TableName=table,
        Key={"elector_id": _serialize(record.elector_id)},
        UpdateExpression=expression,
        ExpressionAttributeValues=values,
    )
