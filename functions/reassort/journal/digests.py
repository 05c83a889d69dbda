"""Periodic signed digests chained together, in the manner of CloudTrail log-file validation.

Each digest covers the audit records whose time lies in `[period_start_ms, period_end_ms)`. It
lists, in the journal's order, one `[locator, record hash]` pair per record (hashes only: no
elector id, no personal data), the SHA-256 of the previous digest's body, and is signed with an
asymmetric key. Periods follow each other without gap, empty periods included, so a missing
digest shows as a break in the chain. The digest of the close (`final: true`) ends the chain.

A period ends `settle_ms` before the run, longer than any function can take between taking the
time of a record and writing it, so a record is never written after its period was digested.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from .records import Item, canonical, record_hash, record_locator, record_time_ms, sha256_hex, sort_records

FORMAT = "reassort-journal/1"
SIGNING_ALGORITHM = "ECDSA_SHA_256"
GENESIS = "0" * 64


class Signer(Protocol):
    """An asymmetric key (KMS in AWS): ECDSA P-256 with SHA-256 over a short message."""

    key_id: str

    def sign(self, message: bytes) -> bytes: ...


def signed_message(body: dict[str, Any]) -> bytes:
    """What is signed: the 32-byte SHA-256 of the canonical body (well under KMS's 4 KB for a
    raw message, whatever the number of records)."""
    return hashlib.sha256(canonical(body)).digest()


class RecordSource(Protocol):
    """The audit table, read by time."""

    def records_between(self, start_ms: int, end_ms: int) -> Iterable[Item]: ...


class DigestStore(Protocol):
    """Where digests are kept unchangeable (S3 with Object Lock in AWS)."""

    def latest(self) -> SignedDigest | None: ...

    def put(self, digest: SignedDigest) -> str:
        """Store a new digest and return where; raise DigestExists if its sequence is taken."""
        ...

    def all(self) -> list[SignedDigest]: ...


class DigestExists(Exception):
    """Another run stored a digest with the same sequence number first."""


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class SignedDigest:
    body: dict[str, Any]
    signature: bytes

    @property
    def sequence(self) -> int:
        return int(self.body["sequence"])

    @property
    def body_sha256(self) -> str:
        return sha256_hex(canonical(self.body))

    @property
    def period_start_ms(self) -> int:
        return int(self.body["period_start_ms"])

    @property
    def period_end_ms(self) -> int:
        return int(self.body["period_end_ms"])

    @property
    def final(self) -> bool:
        return bool(self.body.get("final"))

    @property
    def entries(self) -> list[tuple[str, str]]:
        return [(str(k), str(h)) for k, h in self.body["records"]]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "body": self.body,
            "body_sha256": self.body_sha256,
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedDigest:
        if data.get("format") != FORMAT or not isinstance(data.get("body"), dict):
            raise ValueError("not a journal digest")
        return cls(body=data["body"], signature=base64.b64decode(str(data.get("signature", ""))))


def object_name(stage: str, sequence: int) -> str:
    return f"journal/{stage}/digests/{sequence:08d}.json"


@dataclass
class DigestRun:
    """What one run did: None digest when there was nothing to do (period too short, closed)."""

    digest: SignedDigest | None
    location: str | None = None
    reason: str = ""


class Digester:
    def __init__(
        self,
        *,
        stage: str,
        source: RecordSource,
        store: DigestStore,
        signer: Signer,
        settle_ms: int = 120_000,
        close_at_ms: int | None = None,
        min_period_ms: int = 1,
        start_ms: int = 0,
    ) -> None:
        """`close_at_ms`: the instant the final digest ends at (the election's close plus the
        grace during which links issued before it can still be redeemed)."""
        self.stage = stage
        self.source = source
        self.store = store
        self.signer = signer
        self.settle_ms = settle_ms
        self.close_at_ms = close_at_ms
        self.min_period_ms = min_period_ms
        self.start_ms = start_ms

    def run(self, now_ms: int) -> DigestRun:
        previous = self.store.latest()
        if previous is not None and previous.final:
            return DigestRun(None, reason="closed")
        start = previous.period_end_ms if previous else self.start_ms
        end = now_ms - self.settle_ms
        final = False
        if self.close_at_ms is not None and end >= self.close_at_ms:
            end, final = self.close_at_ms, True
        if end - start < self.min_period_ms and not (final and end >= start):
            return DigestRun(None, reason="period_too_short")
        records = sort_records(list(self.source.records_between(start, end)))
        body = self.body(previous, start, end, records, now_ms, final)
        signature = self.signer.sign(signed_message(body))
        digest = SignedDigest(body=body, signature=signature)
        location = self.store.put(digest)
        return DigestRun(digest, location, reason="final" if final else "digested")

    def body(
        self,
        previous: SignedDigest | None,
        start: int,
        end: int,
        records: list[Item],
        now_ms: int,
        final: bool,
    ) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "sequence": previous.sequence + 1 if previous else 0,
            "previous_body_sha256": previous.body_sha256 if previous else GENESIS,
            "period_start_ms": start,
            "period_end_ms": end,
            "period_start": iso_ms(start),
            "period_end": iso_ms(end),
            "created_at_ms": now_ms,
            "created_at": iso_ms(now_ms),
            "record_count": len(records),
            "records": [[record_locator(item), record_hash(item)] for item in records],
            "newest_record_ms": max((record_time_ms(item) for item in records), default=None),
            "signing_key_id": self.signer.key_id,
            "signing_algorithm": SIGNING_ALGORITHM,
            "final": final,
        }
