"""DynamoDB adapters: electors, links, FranceConnect state and audit.

Every state change that must be atomic is one conditional write or one TransactWriteItems.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from .. import deadline
from ..domain.model import (
    AuditEvent,
    Channel,
    ElectorRecord,
    FcState,
    LinkRecord,
    Method,
)
from ..domain.ports import QuotaConflict, StoreUnavailable
from .elector_attributes import ELECTORS_KEY, ROLL_FIELDS

log = logging.getLogger(__name__)

# Links and FranceConnect states stay a day past their expiry for investigation, then TTL
# removes them (expiry itself is always checked in code: TTL may lag by 48 h).
_TTL_GRACE_SECONDS = 86400
# TransactWriteItems takes at most 100 items; a request records far fewer.
_TRANSACTION_LIMIT = 100


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _number(value: float) -> int | Decimal:
    """A number as it is stored: a whole one as an integer, another one as its shortest decimal
    form (boto3 refuses floats, which do not all have an exact decimal form)."""
    return int(value) if float(value).is_integer() else Decimal(repr(float(value)))


def to_attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values (str, int, Decimal, dict, list) to DynamoDB's typed attribute values."""
    return {name: _serializer.serialize(value) for name, value in values.items()}


def from_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed attribute values to plain values (every number comes back as a Decimal)."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _float(values: Mapping[str, Any], name: str) -> float | None:
    value = values.get(name)
    return None if value is None else float(value)


def _int(values: Mapping[str, Any], name: str) -> int:
    return int(values.get(name) or 0)


def _optional_str(values: Mapping[str, Any], name: str) -> str | None:
    value = values.get(name)
    return None if value is None else str(value)


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
    """Attempts bounded to 1 s to connect and 2 s to read (botocore's default is 60 s each),
    3 in all, none started past the request's deadline."""
    return deadline.aws_client("dynamodb", deadline.DYNAMODB_TIMEOUTS)


class DynamoElectorStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = table_name
        self.client = client or dynamodb_client()

    def get(self, elector_id: str) -> ElectorRecord | None:
        item = self.client.get_item(
            TableName=self.table, Key=to_attributes({"elector_id": elector_id}), ConsistentRead=True
        ).get("Item")
        return elector_from_item(item) if item else None

    def reserve_attempt(self, elector_id: str, now: float, max_attempts: int) -> int | None:
        try:
            item = self.client.update_item(
                TableName=self.table,
                Key=to_attributes({"elector_id": elector_id}),
                UpdateExpression=(
                    "SET failed_attempts = if_not_exists(failed_attempts, :zero) + :one, updated_at = :now"
                ),
                # The count is taken before the argon2 work: parallel guesses cannot exceed it.
                ConditionExpression=(
                    "attribute_exists(elector_id) "
                    "AND (attribute_not_exists(failed_attempts) OR failed_attempts < :max) "
                    "AND (attribute_not_exists(locked_until) OR locked_until <= :now)"
                ),
                ExpressionAttributeValues=to_attributes(
                    {":zero": 0, ":one": 1, ":max": max_attempts, ":now": int(now)}
                ),
                # Only what was updated: IAM limits this function to its own attributes.
                ReturnValues="UPDATED_NEW",
            )["Attributes"]
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return None
            raise
        return _int(from_attributes(item), "failed_attempts")

    def lock(self, elector_id: str, now: float, until: float, max_attempts: int) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key=to_attributes({"elector_id": elector_id}),
                UpdateExpression="SET locked_until = :until, failed_attempts = :zero, updated_at = :now",
                # Only the request that used the last attempt locks, and never over a running
                # lock: the alert e-mail goes out once.
                ConditionExpression=(
                    "failed_attempts >= :max AND (attribute_not_exists(locked_until) OR locked_until <= :now)"
                ),
                ExpressionAttributeValues=to_attributes(
                    {":until": int(until), ":zero": 0, ":max": max_attempts, ":now": int(now)}
                ),
            )
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def record_lock_alerts(self, elector_id: str, sent_at: tuple[float, ...]) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=to_attributes({"elector_id": elector_id}),
            UpdateExpression="SET lock_alerts = :alerts",
            ConditionExpression="attribute_exists(elector_id)",
            ExpressionAttributeValues=to_attributes({":alerts": [int(t) for t in sent_at]}),
        )

    def reset_failures(self, elector_id: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=to_attributes({"elector_id": elector_id}),
            UpdateExpression="SET failed_attempts = :zero",
            ExpressionAttributeValues=to_attributes({":zero": 0}),
        )

    def update_secret_hashes(self, elector_id: str, hashes: dict[str, str]) -> None:
        allowed = {"answer_hash", "numen_hash", "nir_hash"}
        if not hashes or not set(hashes) <= allowed:
            raise ValueError("only answer, NUMEN and NIR hashes are rehashed here")
        self.client.update_item(
            TableName=self.table,
            Key=to_attributes({"elector_id": elector_id}),
            UpdateExpression="SET " + ", ".join(f"{k} = :{k}" for k in hashes),
            ExpressionAttributeValues=to_attributes({f":{k}": v for k, v in hashes.items()}),
        )


def elector_from_item(item: Mapping[str, Any]) -> ElectorRecord:
    values = from_attributes(item)
    return ElectorRecord(
        elector_id=str(values["elector_id"]),
        display_name=_optional_str(values, "display_name") or "",
        pro_email=_optional_str(values, "pro_email") or "",
        question=_optional_str(values, "question"),
        answer_hash=_optional_str(values, "answer_hash"),
        numen_hash=_optional_str(values, "numen_hash"),
        nir_hash=_optional_str(values, "nir_hash"),
        vote_code_hash=_optional_str(values, "vote_code_hash"),
        identity_digest=_optional_str(values, "identity_digest"),
        failed_attempts=_int(values, "failed_attempts"),
        locked_until=_float(values, "locked_until"),
        link_generation=_int(values, "link_generation"),
        recent_links={k: float(v) for k, v in (values.get("recent_links") or {}).items()},
        quota_version=_int(values, "quota_version"),
        lock_alerts=tuple(float(t) for t in values.get("lock_alerts") or ()),
    )


def elector_to_item(record: ElectorRecord) -> dict[str, Any]:
    """The item an elector record is read from by `elector_from_item`: absent values are left out,
    numbers are N, `recent_links` a map of N and `lock_alerts` a list of N."""
    values: dict[str, Any] = {
        name: getattr(record, name)
        for name in (ELECTORS_KEY, *ROLL_FIELDS)
        if getattr(record, name) is not None
    }
    values.update(
        failed_attempts=record.failed_attempts,
        link_generation=record.link_generation,
        recent_links={k: _number(v) for k, v in record.recent_links.items()},
        quota_version=record.quota_version,
    )
    if record.locked_until is not None:
        values["locked_until"] = _number(record.locked_until)
    if record.lock_alerts:
        values["lock_alerts"] = [_number(t) for t in record.lock_alerts]
    return to_attributes(values)


def link_from_item(item: Mapping[str, Any]) -> LinkRecord:
    values = from_attributes(item)
    return LinkRecord(
        link_id=str(values["link_id"]),
        elector_id=str(values["elector_id"]),
        generation=_int(values, "generation"),
        channel=Channel(values["channel"]),
        method=Method(values["method"]),
        created_at=_float(values, "created_at") or 0.0,
        expires_at=_float(values, "expires_at") or 0.0,
        used_at=_float(values, "used_at"),
        sealed_code=_optional_str(values, "sealed_code"),
        shown_until=_float(values, "shown_until"),
    )


def link_to_item(link: LinkRecord) -> dict[str, Any]:
    """The item of a link as issued, times in whole seconds; the redemption sets used_at,
    sealed_code and shown_until on it later."""
    return to_attributes(
        {
            "link_id": link.link_id,
            "elector_id": link.elector_id,
            "generation": link.generation,
            "channel": link.channel.value,
            "method": link.method.value,
            "created_at": int(link.created_at),
            "expires_at": int(link.expires_at),
            "ttl": int(link.expires_at) + _TTL_GRACE_SECONDS,
        }
    )


class DynamoLinkStore:
    def __init__(
        self, links_table: str, electors_table: str, audit: DynamoAuditLog, client: Any | None = None
    ) -> None:
        self.table = links_table
        self.electors_table = electors_table
        self.audit = audit
        self.client = client or dynamodb_client()

    def get(self, link_id: str) -> LinkRecord | None:
        item = self.client.get_item(
            TableName=self.table, Key=to_attributes({"link_id": link_id}), ConsistentRead=True
        ).get("Item")
        return link_from_item(item) if item else None

    def issue(
        self,
        link: LinkRecord,
        *,
        quota_version: int,
        recent_links: dict[str, float],
        reset_failures: bool = False,
    ) -> None:
        # A stored link must be sent, or revoked if the send fails: never store one that the
        # request has no time left to do either for.
        deadline.require(deadline.LINK_ISSUE_RESERVE_SECONDS, "link issue")
        item = link_to_item(link)
        # Every issue, revocation and redemption moves quota_version: an unchanged version means
        # the quota entries read and the link generation read are both still current.
        condition = _generation_condition(quota_version, "quota_version", ":version")
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
                            "Key": to_attributes({"elector_id": link.elector_id}),
                            "UpdateExpression": (
                                "SET recent_links = :recent, quota_version = :next, updated_at = :now"
                                + (", failed_attempts = :zero" if reset_failures else "")
                            ),
                            "ConditionExpression": condition,
                            "ExpressionAttributeValues": to_attributes(
                                {
                                    ":recent": {k: int(v) for k, v in recent_links.items()},
                                    ":version": quota_version,
                                    ":next": quota_version + 1,
                                    ":now": int(link.created_at),
                                    **({":zero": 0} if reset_failures else {}),
                                }
                            ),
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
            # The elector's quota slot stays taken: messages may already have gone out.
            self.client.delete_item(TableName=self.table, Key=to_attributes({"link_id": link.link_id}))
        except ClientError:
            # The token was never delivered, so a leftover item cannot be used by anyone.
            log.warning("link revocation failed", extra={"elector_id": link.elector_id})

    def redeem(
        self,
        link: LinkRecord,
        new_vote_code_hash: str,
        now: float,
        *,
        sealed_code: str,
        shown_until: float,
        record: AuditEvent,
    ) -> bool:
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": to_attributes({"link_id": link.link_id}),
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
                            "ExpressionAttributeValues": to_attributes(
                                {
                                    ":now": int(now),
                                    ":sealed": sealed_code,
                                    ":until": _number(shown_until),
                                    ":ttl": math.ceil(shown_until),
                                }
                            ),
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.electors_table,
                            "Key": to_attributes({"elector_id": link.elector_id}),
                            "UpdateExpression": (
                                "SET vote_code_hash = :hash, link_generation = :next, "
                                "code_changed_at = :now, updated_at = :now ADD quota_version :one"
                            ),
                            "ConditionExpression": _generation_condition(
                                link.generation, "link_generation", ":generation"
                            ),
                            "ExpressionAttributeValues": to_attributes(
                                {
                                    ":hash": new_vote_code_hash,
                                    ":next": link.generation + 1,
                                    ":one": 1,
                                    ":generation": link.generation,
                                    ":now": int(now),
                                }
                            ),
                        }
                    },
                    self.audit.put(record),
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
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_attributes(
                    {
                        "state_id": state.state_id,
                        "elector_id": state.elector_id,
                        "nonce": state.nonce,
                        "expires_at": int(state.expires_at),
                        "ttl": int(state.expires_at) + _TTL_GRACE_SECONDS,
                    }
                ),
                ConditionExpression="attribute_not_exists(state_id)",
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(type(error).__name__) from error

    def take(self, state_id: str) -> FcState | None:
        item = self.client.delete_item(
            TableName=self.table, Key=to_attributes({"state_id": state_id}), ReturnValues="ALL_OLD"
        ).get("Attributes")
        if not item:
            return None
        values = from_attributes(item)
        return FcState(
            state_id=str(values["state_id"]),
            elector_id=str(values["elector_id"]),
            nonce=str(values["nonce"]),
            expires_at=_float(values, "expires_at") or 0.0,
        )


_audit_batch = threading.local()


@contextmanager
def audit_batch() -> Iterator[None]:
    """Within it (one HTTP request), audit records are kept in memory and written together in
    one call when it ends, instead of one PutItem each."""
    outer = getattr(_audit_batch, "pending", None)
    _audit_batch.pending = []
    try:
        yield
    finally:
        pending: list[tuple[DynamoAuditLog, dict[str, Any]]] = _audit_batch.pending
        _audit_batch.pending = outer
        stores = {id(store): store for store, _ in pending}
        for key, store in stores.items():
            store._write([item for owner, item in pending if id(owner) == key])


class DynamoAuditLog:
    def __init__(self, table_name: str, retention_days: int, client: Any | None = None) -> None:
        self.table = table_name
        self.retention_seconds = retention_days * 86400
        self.client = client or dynamodb_client()

    def record(self, event: AuditEvent) -> None:
        pending: list[tuple[DynamoAuditLog, dict[str, Any]]] | None = getattr(_audit_batch, "pending", None)
        item = self._item(event)
        if pending is None:
            self._write([item])
        else:
            pending.append((self, item))

    def _item(self, event: AuditEvent) -> dict[str, Any]:
        at = datetime.fromtimestamp(event.at, UTC).isoformat(timespec="milliseconds")
        item: dict[str, Any] = {
            "elector_id": event.elector_id,
            "event_key": f"{at}#{event.request_id}#{event.event}#{event.outcome}",
            "event": event.event,
            "outcome": event.outcome,
            "request_id": event.request_id,
            "at": int(event.at),
            "ttl": int(event.at) + self.retention_seconds,
        }
        for name in ("channel", "method", "detail"):
            value = getattr(event, name)
            if value:
                item[name] = value
        return item

    def put(self, event: AuditEvent) -> dict[str, Any]:
        """The record as one item of another store's transaction."""
        return self._put(self._item(event))

    def _put(self, item: dict[str, Any]) -> dict[str, Any]:
        # PutItem only, never over an existing record: the functions' role can append to the
        # trail but not delete from it (BatchWriteItem would also grant deletes).
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_attributes(item),
                "ConditionExpression": "attribute_not_exists(event_key)",
            }
        }

    def _write(self, items: list[dict[str, Any]]) -> None:
        puts = [self._put(item) for item in _distinct_keys(items)]
        try:
            if len(puts) == 1:
                self.client.put_item(**puts[0]["Put"])
                return
            for start in range(0, len(puts), _TRANSACTION_LIMIT):
                self.client.transact_write_items(TransactItems=puts[start : start + _TRANSACTION_LIMIT])
        except ClientError:
            # An audit write must not undo what already happened for the elector; the log
            # line and the error metric tell ops.
            log.error("audit write failed", extra={"records": len(items)})


def _distinct_keys(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A transaction refuses two items with one key: a repeated record gets a numbered key."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for item in items:
        key = (item["elector_id"], item["event_key"])
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            item = {**item, "event_key": f"{key[1]}#{seen[key]}"}
        out.append(item)
    return out
