"""The journal's AWS side: the audit table read by time, digests in S3 with Object Lock, KMS signing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from ..journal.digests import DigestExists, SignedDigest, object_name
from ..journal.records import Item

KEY_SPEC = "ECC_NIST_P256"
KMS_SIGNING_ALGORITHM = "ECDSA_SHA_256"
_serialize = TypeSerializer().serialize


def _iso(ms: int) -> str:
    # The same format as the audit sort key (DynamoAuditLog), so strings compare as instants.
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


class DynamoAuditSource:
    """Reads the audit table without changing how it is written.

    The table is keyed by elector, so a time-ordered read is a Scan filtered on the time prefix
    of the sort key (parallel segments for large tables). Its cost is in the capacity model.
    """

    def __init__(self, table_name: str, client: Any | None = None, segments: int = 1) -> None:
        self.table = table_name
        self.client = client or boto3.client("dynamodb")
        self.segments = segments

    def records_between(self, start_ms: int, end_ms: int) -> Iterable[Item]:
        start = "0" if start_ms <= 0 else _iso(start_ms)
        query = {
            "FilterExpression": "event_key >= :start AND event_key < :end",
            "ExpressionAttributeValues": {":start": _serialize(start), ":end": _serialize(_iso(end_ms))},
        }
        if self.segments <= 1:
            return list(self._scan(**query))
        from concurrent.futures import ThreadPoolExecutor

        def segment(number: int) -> list[Item]:
            return list(self._scan(Segment=number, TotalSegments=self.segments, **query))

        with ThreadPoolExecutor(max_workers=self.segments) as pool:
            return [item for part in pool.map(segment, range(self.segments)) for item in part]

    def all_records(self) -> Iterator[Item]:
        yield from self._scan()

    def _scan(self, **kwargs: Any) -> Iterator[Item]:
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table, ConsistentRead=True, **kwargs):
            yield from page.get("Items", [])


class S3DigestStore:
    """`journal/<stage>/digests/<sequence>.json`; the bucket's default Object Lock retention (compliance
    mode) protects each object. A new digest is written only if its name is free (If-None-Match)."""

    def __init__(self, bucket: str, stage: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self.stage = stage
        self.client = client or boto3.client("s3")
        self.prefix = f"journal/{stage}/digests/"

    def _keys(self) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            keys += [obj["Key"] for obj in page.get("Contents", []) if obj["Key"].endswith(".json")]
        return sorted(keys)

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def latest(self) -> SignedDigest | None:
        keys = self._keys()
        return SignedDigest.from_json(json.loads(self.read(keys[-1]))) if keys else None

    def all(self) -> list[SignedDigest]:
        return [SignedDigest.from_json(json.loads(self.read(key))) for key in self._keys()]

    def raw_objects(self) -> list[tuple[str, bytes]]:
        return [(key, self.read(key)) for key in self._keys()]

    def put(self, digest: SignedDigest) -> str:
        key = object_name(self.stage, digest.sequence)
        body = json.dumps(digest.to_json(), ensure_ascii=False, indent=1).encode("utf-8")
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {
                "PreconditionFailed",
                "ConditionalRequestConflict",
            }:
                raise DigestExists(key) from exc
            raise
        return f"s3://{self.bucket}/{key}"


class KmsSigner:
    def __init__(self, key_id: str, client: Any | None = None) -> None:
        self.key_id = key_id
        self.client = client or boto3.client("kms")

    def sign(self, message: bytes) -> bytes:
        answer = self.client.sign(
            KeyId=self.key_id, Message=message, MessageType="RAW", SigningAlgorithm=KMS_SIGNING_ALGORITHM
        )
        return bytes(answer["Signature"])

    def public_key_pem(self) -> bytes:
        der = bytes(self.client.get_public_key(KeyId=self.key_id)["PublicKey"])
        body = base64.encodebytes(der).decode().replace("\n", "")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return ("-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n").encode()


def ensure_local_journal(stage: str, kms: Any, s3: Any, bucket: str, retention_days: int = 1) -> str:
    """Local stack only: the key (alias) and the Object Lock bucket the CDK app creates in AWS.
    Returns the key id."""
    alias = f"alias/reassort-{stage}-journal"
    try:
        key_id = str(kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"])
    except ClientError:
        key_id = str(
            kms.create_key(KeySpec=KEY_SPEC, KeyUsage="SIGN_VERIFY", Description="journal (local)")[
                "KeyMetadata"
            ]["KeyId"]
        )
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        region = s3.meta.region_name
        s3.create_bucket(
            Bucket=bucket,
            ObjectLockEnabledForBucket=True,
            **(
                {"CreateBucketConfiguration": {"LocationConstraint": region}}
                if region and region != "us-east-1"
                else {}
            ),
        )
        s3.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": retention_days}},
            },
        )
    return key_id


def close_at_ms(settings: Any) -> int | None:
    """The end of the final digest: the close plus the grace for links issued before it."""
    from ..config import parse_instant

    closes = parse_instant(settings.election_closes_at)
    if closes is None:
        return None
    return int((closes + settings.close_grace_seconds) * 1000)


def build_digester(
    settings: Any,
    *,
    bucket: str,
    key_id: str,
    settle_seconds: int = 120,
    segments: int = 1,
    session: Any | None = None,
) -> Any:
    from ..journal.digests import Digester

    make = (session or boto3).client
    return Digester(
        stage=settings.stage,
        source=DynamoAuditSource(settings.audit_table, make("dynamodb"), segments=segments),
        store=S3DigestStore(bucket, settings.stage, make("s3")),
        signer=KmsSigner(key_id, make("kms")),
        settle_ms=settle_seconds * 1000,
        close_at_ms=close_at_ms(settings),
    )
