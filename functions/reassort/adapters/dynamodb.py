"""DynamoDB adapters: electors, links, FranceConnect state and audit.

Every state change that must be atomic is one conditional write or one TransactWriteItems.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from ..domain.model import (
    AuditEvent,
    Channel,
    ElectorRecord,
    FailureOutcome,
    FcState,
    LinkRecord,
    Method,
)
from ..domain.ports import QuotaConflict

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger(__name__)

# Links and FranceConnect states stay a day past their expiry for investigation, then TTL
# removes them (expiry itself is always checked in code: TTL may lag by 48 h).
_TTL_GRACE_SECONDS = 86400
_ROLL_FIELDS = (
    "display_name",
    "pro_email",
    "question",
    "answer_hash",
    "numen_hash",
    "nir_hash",
    "vote_code_hash",
    "identity_digest",
)


def _s(value: str) -> dict[str, Any]:
    return {"S": value}


def _n(value: float | int) -> dict[str, Any]:
    return {"N": str(int(value)) if float(value).is_integer() else repr(float(value))}


def _num(item: dict[str, Any], name: str) -> float | None:
    raw = item.get(name)
    return float(Decimal(raw["N"])) if raw else None


def _str(item: dict[str, Any], name: str) -> str | None:
    raw = item.get(name)
    return raw["S"] if raw else None


def _is_conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


def _generation_condition(generation: int, name: str, placeholder: str) -> str:
    if generation == 0:
        return f"(attribute_not_exists({name}) OR {name} = {placeholder})"
    return f"{name} = {placeholder}"


def dynamodb_client() -> Any:
    return boto3.client("dynamodb")


class DynamoElectorStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = table_name
        self.client = client or dynamodb_client()

    def get(self, elector_id: str) -> ElectorRecord | None:
        item = self.client.get_item(
            TableName=self.table, Key={"elector_id": _s(elector_id)}, ConsistentRead=True
        ).get("Item")
        return elector_from_item(item) if item else None

    def put_roll_record(self, record: ElectorRecord) -> None:
        """Upsert the roll fields; lock, quota and link state are left as they are."""
        sets = ["updated_at = :now"]
        removes = []
        values: dict[str, Any] = {":now": _n(int(datetime.now(UTC).timestamp()))}
        for name in _ROLL_FIELDS:
            value = getattr(record, name)
            if value is None:
                removes.append(name)
            else:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = _s(value)
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        self.client.update_item(
            TableName=self.table,
            Key={"elector_id": _s(record.elector_id)},
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
        )

    def record_failure(
        self, elector_id: str, now: float, max_failures: int, lock_seconds: int
    ) -> FailureOutcome:
        item = self.client.update_item(
            TableName=self.table,
            Key={"elector_id": _s(elector_id)},
            UpdateExpression=(
                "SET failed_attempts = if_not_exists(failed_attempts, :zero) + :one, updated_at = :now"
            ),
            ConditionExpression="attribute_exists(elector_id)",
            ExpressionAttributeValues={":zero": _n(0), ":one": _n(1), ":now": _n(int(now))},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        failures = int(_num(item, "failed_attempts") or 0)
        if failures < max_failures:
            return FailureOutcome(failures, _num(item, "locked_until"), just_locked=False)
        until = now + lock_seconds
        try:
            # Only the request that crosses the threshold locks, so the alert goes out once.
            self.client.update_item(
                TableName=self.table,
                Key={"elector_id": _s(elector_id)},
                UpdateExpression="SET locked_until = :until, failed_attempts = :zero, updated_at = :now",
                ConditionExpression=(
                    "failed_attempts >= :max AND (attribute_not_exists(locked_until) OR locked_until <= :now)"
                ),
                ExpressionAttributeValues={
                    ":until": _n(int(until)),
                    ":zero": _n(0),
                    ":max": _n(max_failures),
                    ":now": _n(int(now)),
                },
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
            current = self.get(elector_id)
            locked = current.locked_until if current else None
            return FailureOutcome(failures, locked, just_locked=False)
        return FailureOutcome(failures, int(until), just_locked=True)

    def reset_failures(self, elector_id: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={"elector_id": _s(elector_id)},
            UpdateExpression="SET failed_attempts = :zero",
            ExpressionAttributeValues={":zero": _n(0)},
        )

    def update_secret_hashes(self, elector_id: str, hashes: dict[str, str]) -> None:
        allowed = {"answer_hash", "numen_hash", "nir_hash"}
        if not hashes or not set(hashes) <= allowed:
            raise ValueError("only answer, NUMEN and NIR hashes are rehashed here")
        self.client.update_item(
            TableName=self.table,
            Key={"elector_id": _s(elector_id)},
            UpdateExpression="SET " + ", ".join(f"{k} = :{k}" for k in hashes),
            ExpressionAttributeValues={f":{k}": _s(v) for k, v in hashes.items()},
        )


def elector_from_item(item: dict[str, Any]) -> ElectorRecord:
    recent = item.get("recent_links", {}).get("M", {})
    return ElectorRecord(
        elector_id=item["elector_id"]["S"],
        display_name=_str(item, "display_name") or "",
        pro_email=_str(item, "pro_email") or "",
        question=_str(item, "question"),
        answer_hash=_str(item, "answer_hash"),
        numen_hash=_str(item, "numen_hash"),
        nir_hash=_str(item, "nir_hash"),
        vote_code_hash=_str(item, "vote_code_hash"),
        identity_digest=_str(item, "identity_digest"),
        failed_attempts=int(_num(item, "failed_attempts") or 0),
        locked_until=_num(item, "locked_until"),
        link_generation=int(_num(item, "link_generation") or 0),
        recent_links={k: float(Decimal(v["N"])) for k, v in recent.items()},
        quota_version=int(_num(item, "quota_version") or 0),
    )


class DynamoLinkStore:
    def __init__(self, links_table: str, electors_table: str, client: Any | None = None) -> None:
        self.table = links_table
        self.electors_table = electors_table
        self.client = client or dynamodb_client()

    def get(self, link_id: str) -> LinkRecord | None:
        item = self.client.get_item(
            TableName=self.table, Key={"link_id": _s(link_id)}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return LinkRecord(
            link_id=item["link_id"]["S"],
            elector_id=item["elector_id"]["S"],
            generation=int(_num(item, "generation") or 0),
            channel=Channel(item["channel"]["S"]),
            method=Method(item["method"]["S"]),
            created_at=_num(item, "created_at") or 0.0,
            expires_at=_num(item, "expires_at") or 0.0,
            used_at=_num(item, "used_at"),
            sealed_code=_str(item, "sealed_code"),
            shown_until=_num(item, "shown_until"),
        )

    def issue(self, link: LinkRecord, *, quota_version: int, recent_links: dict[str, float]) -> None:
        item = {
            "link_id": _s(link.link_id),
            "elector_id": _s(link.elector_id),
            "generation": _n(link.generation),
            "channel": _s(link.channel.value),
            "method": _s(link.method.value),
            "created_at": _n(int(link.created_at)),
            "expires_at": _n(int(link.expires_at)),
            "ttl": _n(int(link.expires_at) + _TTL_GRACE_SECONDS),
        }
        condition = " AND ".join(
            [
                _generation_condition(quota_version, "quota_version", ":version"),
                _generation_condition(link.generation, "link_generation", ":generation"),
            ]
        )
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(link_id)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.electors_table,
                            "Key": {"elector_id": _s(link.elector_id)},
                            "UpdateExpression": (
                                "SET recent_links = :recent, quota_version = :next, updated_at = :now"
                            ),
                            "ConditionExpression": condition,
                            "ExpressionAttributeValues": {
                                ":recent": {"M": {k: _n(int(v)) for k, v in recent_links.items()}},
                                ":version": _n(quota_version),
                                ":next": _n(quota_version + 1),
                                ":generation": _n(link.generation),
                                ":now": _n(int(link.created_at)),
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _is_conditional_failure(exc):
                raise QuotaConflict() from exc
            raise

    def revoke(self, link: LinkRecord) -> None:
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Delete": {"TableName": self.table, "Key": {"link_id": _s(link.link_id)}}},
                    {
                        "Update": {
                            "TableName": self.electors_table,
                            "Key": {"elector_id": _s(link.elector_id)},
                            "UpdateExpression": "REMOVE recent_links.#short ADD quota_version :one",
                            "ExpressionAttributeNames": {"#short": link.short_id},
                            "ExpressionAttributeValues": {":one": _n(1)},
                        }
                    },
                ]
            )
        except ClientError:
            # The token was never delivered, so a leftover item cannot be used by anyone.
            log.warning("link revocation failed", extra={"elector_id": link.elector_id})

    def redeem(
        self, link: LinkRecord, new_vote_code_hash: str, now: float, *, sealed_code: str, shown_until: float
    ) -> bool:
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"link_id": _s(link.link_id)},
                            # The sealed code lives until the end of the display window: the
                            # service checks shown_until, the TTL only cleans up.
                            "UpdateExpression": (
                                "SET used_at = :now, sealed_code = :sealed, shown_until = :until, #ttl = :ttl"
                            ),
                            "ConditionExpression": (
                                "attribute_exists(link_id) AND attribute_not_exists(used_at) "
                                "AND expires_at > :now"
                            ),
                            "ExpressionAttributeNames": {"#ttl": "ttl"},
                            "ExpressionAttributeValues": {
                                ":now": _n(int(now)),
                                ":sealed": _s(sealed_code),
                                ":until": _n(shown_until),
                                ":ttl": _n(math.ceil(shown_until)),
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.electors_table,
                            "Key": {"elector_id": _s(link.elector_id)},
                            "UpdateExpression": (
                                "SET vote_code_hash = :hash, link_generation = :next, "
                                "code_changed_at = :now, updated_at = :now"
                            ),
                            "ConditionExpression": _generation_condition(
                                link.generation, "link_generation", ":generation"
                            ),
                            "ExpressionAttributeValues": {
                                ":hash": _s(new_vote_code_hash),
                                ":next": _n(link.generation + 1),
                                ":generation": _n(link.generation),
                                ":now": _n(int(now)),
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True


class DynamoFcStateStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = table_name
        self.client = client or dynamodb_client()

    def save(self, state: FcState) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "state_id": _s(state.state_id),
                "elector_id": _s(state.elector_id),
                "nonce": _s(state.nonce),
                "expires_at": _n(int(state.expires_at)),
                "ttl": _n(int(state.expires_at) + _TTL_GRACE_SECONDS),
            },
            ConditionExpression="attribute_not_exists(state_id)",
        )

    def take(self, state_id: str) -> FcState | None:
        item = self.client.delete_item(
            TableName=self.table, Key={"state_id": _s(state_id)}, ReturnValues="ALL_OLD"
        ).get("Attributes")
        if not item:
            return None
        return FcState(
            state_id=item["state_id"]["S"],
            elector_id=item["elector_id"]["S"],
            nonce=item["nonce"]["S"],
            expires_at=_num(item, "expires_at") or 0.0,
        )


class DynamoAuditLog:
    def __init__(self, table_name: str, retention_days: int, client: Any | None = None) -> None:
        self.table = table_name
        self.retention_seconds = retention_days * 86400
        self.client = client or dynamodb_client()

    def record(self, event: AuditEvent) -> None:
        at = datetime.fromtimestamp(event.at, UTC).isoformat(timespec="milliseconds")
        item: dict[str, Any] = {
            "elector_id": _s(event.elector_id),
            "event_key": _s(f"{at}#{event.request_id}#{event.event}#{event.outcome}"),
            "event": _s(event.event),
            "outcome": _s(event.outcome),
            "request_id": _s(event.request_id),
            "at": _n(int(event.at)),
            "ttl": _n(int(event.at) + self.retention_seconds),
        }
        for name in ("channel", "method", "detail"):
            value = getattr(event, name)
            if value:
                item[name] = _s(value)
        try:
            self.client.put_item(TableName=self.table, Item=item)
        except ClientError:
            # An audit write must not undo what already happened for the elector; the log
            # line and the error metric tell ops.
            log.error("audit write failed", extra={"event": event.event, "outcome": event.outcome})


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
    """Create the tables where they do not exist yet (local stack and tests)."""
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
