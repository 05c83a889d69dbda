"""In-memory journal ports and a real P-256 key, for tests without AWS."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reassort.journal.digests import DigestExists, SignedDigest, object_name
from reassort.journal.records import Item, record_time_ms


class MemorySigner:
    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = "test-key"

    def sign(self, message: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return self._key.sign(message, ec.ECDSA(hashes.SHA256()))

    def public_key_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class MemorySource:
    def __init__(self) -> None:
        self.items: list[Item] = []

    def records_between(self, start_ms: int, end_ms: int) -> Iterable[Item]:
        return [i for i in self.items if start_ms <= record_time_ms(i) < end_ms]


class MemoryStore:
    def __init__(self) -> None:
        self.objects: dict[str, SignedDigest] = {}

    def latest(self) -> SignedDigest | None:
        return self.objects[max(self.objects)] if self.objects else None

    def put(self, digest: SignedDigest) -> str:
        key = object_name("test", digest.sequence)
        if key in self.objects:
            raise DigestExists(key)
        self.objects[key] = digest
        return key

    def all(self) -> list[SignedDigest]:
        return [self.objects[k] for k in sorted(self.objects)]


def audit_item(
    at_ms: int, elector_id: str, event: str, outcome: str, request_id: str = "r1", **extra: str
) -> Item:
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="milliseconds")
    item: dict[str, Any] = {
        "elector_id": {"S": elector_id},
        "event_key": {"S": f"{at}#{request_id}#{event}#{outcome}"},
        "event": {"S": event},
        "outcome": {"S": outcome},
        "request_id": {"S": request_id},
        "at": {"N": str(at_ms // 1000)},
        "ttl": {"N": str(at_ms // 1000 + 400 * 86400)},
    }
    for name, value in extra.items():
        item[name] = {"S": value}
    return item
