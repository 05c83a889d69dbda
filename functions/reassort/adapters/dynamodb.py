"""DynamoDB adapters: electors, links, FranceConnect state and audit.

Every state change that must be atomic is one conditional write or one TransactWriteItems.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

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

log = logging.getLogger(__name__)

# Links and FranceConnect states stay a day past their expiry for investigation, then TTL
# removes them (expiry itself is always checked in code: TTL may lag by 48 h).
_TTL_GRACE_SECONDS = 86400
# TransactWriteItems takes at most 100 items; a request records far fewer.
_TRANSACTION_LIMIT = 100


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
    """Attempts bounded to 1 s to connect and 2 s to read (botocore's default is 60 s each),
    3 in all, none started past the request's deadline."""
    return deadline.aws_client("dynamodb", deadline.DYNAMODB_TIMEOUTS)


class DynamoElectorStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = table_name
        self.client = client or dynamodb_client()

    def get(self, elector_id: str) -> ElectorRecord | None:
        item = self.client.get_item(
            TableName=self.table, Key={"elector_id": _s(elector_id)}, ConsistentRead=True
        ).get("Item")
        return elector_from_item(item) if item else None

    def reserve_attempt(self, elector_id: str, now: float, max_attempts: int) -> int | None:
        try:
            item = self.client.update_item(
                TableName=self.table,
                Key={"elector_id": _s(elector_id)},
                UpdateExpression=(
                    "SET failed_attempts = if_not_exists(failed_attempts, :zero) + :one, updated_at = :now"
                ),
                # The count is taken before the argon2 work: parallel guesses cannot exceed it.
                ConditionExpression=(
                    "attribute_exists(elector_id) "
                    "AND (attribute_not_exists(failed_attempts) OR failed_attempts < :max) "
                    "AND (attribute_not_exists(locked_until) OR locked_until <= :now)"
                ),
                ExpressionAttributeValues={
                    ":zero": _n(0),
                    ":one": _n(1),
                    ":max": _n(max_attempts),
                    ":now": _n(int(now)),
                },
                # Only what was updated: IAM limits this function to its own attributes.
                ReturnValues="UPDATED_NEW",
            )["Attributes"]
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return None
            raise
        return int(_num(item, "failed_attempts") or 0)

    def lock(self, elector_id: str, now: float, until: float, max_attempts: int) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"elector_id": _s(elector_id)},
                UpdateExpression="SET locked_until = :until, failed_attempts = :zero, updated_at = :now",
                # Only the request that used the last attempt locks, and never over a running
                # lock: the alert e-mail goes out once.
                ConditionExpression=(
                    "failed_attempts >= :max AND (attribute_not_exists(locked_until) OR locked_until <= :now)"
                ),
                ExpressionAttributeValues={
                    ":until": _n(int(until)),
                    ":zero": _n(0),
                    ":max": _n(max_attempts),
                    ":now": _n(int(now)),
                },
            )
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def record_lock_alerts(self, elector_id: str, sent_at: tuple[float, ...]) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={"elector_id": _s(elector_id)},
            UpdateExpression="SET lock_alerts = :alerts",
            ConditionExpression="attribute_exists(elector_id)",
            ExpressionAttributeValues={":alerts": {"L": [_n(int(t)) for t in sent_at]}},
        )

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
        lock_alerts=tuple(float(Decimal(v["N"])) for v in item.get("lock_alerts", {}).get("L", [])),
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
                            "Key": {"elector_id": _s(link.elector_id)},
                            "UpdateExpression": (
                                "SET recent_links = :recent, quota_version = :next, updated_at = :now"
                                + (", failed_attempts = :zero" if reset_failures else "")
                            ),
                            "ConditionExpression": condition,
                            "ExpressionAttributeValues": {
                                ":recent": {"M": {k: _n(int(v)) for k, v in recent_links.items()}},
                                ":version": _n(quota_version),
                                ":next": _n(quota_version + 1),
                                ":now": _n(int(link.created_at)),
                                **({":zero": _n(0)} if reset_failures else {}),
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
            # The elector's quota slot stays taken: messages may already have gone out.
            self.client.delete_item(TableName=self.table, Key={"link_id": _s(link.link_id)})
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
                                "code_changed_at = :now, updated_at = :now ADD quota_version :one"
                            ),
                            "ConditionExpression": _generation_condition(
                                link.generation, "link_generation", ":generation"
                            ),
                            "ExpressionAttributeValues": {
                                ":hash": _s(new_vote_code_hash),
                                ":next": _n(link.generation + 1),
                                ":one": _n(1),
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
        try:
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
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable(type(error).__name__) from error

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
        return item

    def _write(self, items: list[dict[str, Any]]) -> None:
        # PutItem only, never over an existing record: the functions' role can append to the
        # trail but not delete from it (BatchWriteItem would also grant deletes).
        puts = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(event_key)",
                }
            }
            for item in _distinct_keys(items)
        ]
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
        key = (item["elector_id"]["S"], item["event_key"]["S"])
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            item = {**item, "event_key": _s(f"{key[1]}#{seen[key]}")}
        out.append(item)
    return out
