"""Audit records as the journal sees them: the DynamoDB item exactly as stored, hashed.

A record is the audit table item in DynamoDB's typed JSON (`{"event": {"S": "send"}, ...}`),
every attribute included (the TTL too: shortening it would delete the record early). Its hash is
SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8). The item format is the one of
docs/architecture.md: key `elector_id` + `event_key` = `<iso time>#<request id>#<event>#...`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

Item = dict[str, Any]


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(item: Item) -> str:
    return sha256_hex(canonical(item))


def _string(item: Item, name: str) -> str:
    value = item.get(name)
    if not isinstance(value, dict) or not isinstance(value.get("S"), str):
        raise ValueError(f"audit record without a string attribute {name!r}")
    return str(value["S"])


def record_locator(item: Item) -> str:
    """A hash of the record's key: lets a verifier tell an altered record from a removed one
    without the digest naming any elector."""
    return sha256_hex(f"{_string(item, 'elector_id')}\x1f{_string(item, 'event_key')}".encode())


def record_time_ms(item: Item) -> int:
    """The instant of the record, from the time prefix of its sort key (millisecond precision)."""
    prefix = _string(item, "event_key").split("#", 1)[0]
    return round(datetime.fromisoformat(prefix).timestamp() * 1000)


def record_order(item: Item) -> tuple[int, str, str]:
    """The journal's total order: time, then elector, then the rest of the key."""
    return (record_time_ms(item), _string(item, "elector_id"), _string(item, "event_key"))


def sort_records(items: list[Item]) -> list[Item]:
    return sorted(items, key=record_order)


def plain(item: Item) -> dict[str, str]:
    """The record without DynamoDB types, for reports (`{"event": "send", ...}`)."""
    out: dict[str, str] = {}
    for name, typed in item.items():
        if isinstance(typed, dict) and typed:
            out[name] = str(next(iter(typed.values())))
    return out
