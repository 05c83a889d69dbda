"""The per-chunk import worker, shared by the CLI and the Distributed Map Lambda.

For a chunk of CSV rows it: validates every row, reads the current items (one BatchGetItem
per 100 rows), skips the rows whose keyed digest did not change, hashes the plaintext secrets
of the other rows with the domain's :class:`SecretHasher`, and writes each of them with one
conditional ``UpdateItem``.

What an upsert touches and what it leaves alone:

* roll attributes (``display_name``, ``pro_email``, ``question``, ``answer_hash``,
  ``numen_hash``, ``nir_hash``, ``identity_digest``) are set, or removed when the row no longer
  has them, together with ``roll_digest`` and ``updated_at``;
* state attributes (``failed_attempts``, ``locked_until``, ``link_generation``,
  ``recent_links``, ``quota_version``, ``code_changed_at``) are never in the expression;
* ``vote_code_hash`` is written when the elector has none, or when the row's vote code differs
  from the one previously imported (``roll_vote_code_digest``) **and** no reissue happened
  since (no ``code_changed_at``). A roll cannot take back a code an elector reissued: the row
  gets the warning ``vote_code_kept_after_reissue`` instead.

Every write is conditioned on the ``roll_digest`` read just before, so an import racing another
import (or a redemption, for the vote code) re-reads and decides again instead of overwriting.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from reassort.adapters.dynamodb import from_attributes, to_attributes
from reassort.adapters.system import Argon2Profile, SecretHasher
from reassort.roll.schema import Problem, RollRow, validate_row

log = logging.getLogger(__name__)

_READ_ATTRIBUTES = ("elector_id", "roll_digest", "roll_vote_code_digest", "vote_code_hash", "code_changed_at")
_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class WorkerConfig:
    electors_table: str
    identity_key: bytes
    profile: Argon2Profile = field(default_factory=Argon2Profile)
    dry_run: bool = False
    write_threads: int = 8

    def __repr__(self) -> str:  # the key stays out of logs and tracebacks
        return f"WorkerConfig(table={self.electors_table!r}, dry_run={self.dry_run}, <redacted>)"


@dataclass
class ChunkResult:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    def merge(self, other: ChunkResult) -> None:
        self.counts.update(other.counts)
        self.problems.extend(other.problems)

    def as_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "problems": [p.as_dict() for p in self.problems]}


@dataclass
class _Existing:
    roll_digest: str | None
    vote_code_digest: str | None
    has_vote_code: bool
    reissued: bool


Progress = Callable[[int], None]
_BATCH_WRITE = 25


def process_chunk(
    rows: Sequence[tuple[int, Mapping[str | None, Any]]],
    config: WorkerConfig,
    client: Any | None,
    hasher: SecretHasher | None = None,
    progress: Progress | None = None,
) -> ChunkResult:
    """Validate, hash and upsert one chunk. ``rows`` are (line number, CSV row) pairs.

    ``progress`` is called with a number of rows as they are done (rejected, unchanged or
    written), so a progress bar moves with rows rather than with chunks."""
    result = ChunkResult()
    valid = _validate(rows, config, result)
    done = progress or (lambda _n: None)
    if config.dry_run or not valid:
        done(len(rows))
        return result
    done(len(rows) - len(valid))
    assert client is not None
    hasher = hasher or SecretHasher(config.profile)
    pending = valid
    for _ in range(_MAX_ATTEMPTS):
        pending = _upsert(pending, config, client, hasher, result, done)
        if not pending:
            break
    for row in pending:
        result.counts["failed"] += 1
        result.problems.append(Problem(row.line, "elector_id", "write_failed"))
    done(len(pending))
    _merge_kept_counters(result)
    return result


def _validate(
    rows: Sequence[tuple[int, Mapping[str | None, Any]]], config: WorkerConfig, result: ChunkResult
) -> list[RollRow]:
    valid: list[RollRow] = []
    for line, raw in rows:
        parsed, problems = validate_row(line, raw, config.identity_key)
        result.problems.extend(problems)
        if parsed is None:
            result.counts["rejected"] += 1
        else:
            valid.append(parsed)
    result.counts["valid"] += len(valid)
    return valid


def _upsert(
    pending: list[RollRow],
    config: WorkerConfig,
    client: Any,
    hasher: SecretHasher,
    result: ChunkResult,
    done: Progress,
) -> list[RollRow]:
    """One pass: read, skip the unchanged, hash, create or update. Returns the rows to retry."""
    existing = read_existing(client, config.electors_table, [r.elector_id for r in pending])
    to_write: list[tuple[RollRow, _Existing | None]] = []
    for row in pending:
        current = existing.get(row.elector_id)
        if current is not None and current.roll_digest == row.digest:
            result.counts["unchanged"] += 1
        else:
            to_write.append((row, current))
    done(len(pending) - len(to_write))
    result.counts["hashed"] += sum(
        1 for row, _ in to_write for kind, _v in row.secrets.values() if kind == "plain"
    )
    # New electors go in BatchWriteItem calls of 25 (nothing else creates electors), hashed
    # 25 at a time so that progress moves while hashing; existing ones need a conditional
    # UpdateItem each.
    creates = [row for row, current in to_write if current is None]
    for start in range(0, len(creates), _BATCH_WRITE):
        group = creates[start : start + _BATCH_WRITE]
        hashed = [(row, _hash_secrets(row, hasher)) for row in group]
        result.counts["created"] += _create_rows(client, config.electors_table, hashed)
        done(len(group))
    updates = [(row, current) for row, current in to_write if current is not None]
    return _update_rows(updates, config, client, hasher, result, done)


def _update_rows(
    updates: list[tuple[RollRow, _Existing]],
    config: WorkerConfig,
    client: Any,
    hasher: SecretHasher,
    result: ChunkResult,
    done: Progress,
) -> list[RollRow]:
    """Hash each row here and write it on the thread pool; returns the rows to retry."""

    def written(future: Future[str]) -> None:
        if future.result() != "conflict":
            done(1)

    with ThreadPoolExecutor(max_workers=max(1, config.write_threads)) as pool:
        futures = []
        for row, current in updates:
            hashes = _hash_secrets(row, hasher)
            future = pool.submit(_write_row, client, config.electors_table, row, current, hashes)
            future.add_done_callback(written)
            futures.append(future)
    retry: list[RollRow] = []
    for (row, _current), future in zip(updates, futures, strict=True):
        outcome = future.result()
        if outcome == "conflict":
            retry.append(row)
        else:
            _count_outcome(row, outcome, result)
    return retry


def _count_outcome(row: RollRow, outcome: str, result: ChunkResult) -> None:
    result.counts[outcome] += 1
    if outcome == "failed_write":
        result.problems.append(Problem(row.line, "elector_id", "write_failed"))
    if outcome.endswith("_code_kept"):
        result.problems.append(Problem(row.line, "vote_code_hash", "vote_code_kept_after_reissue"))


def _merge_kept_counters(result: ChunkResult) -> None:
    """Normalise the two "kept" outcomes into the public counters."""
    for name in ("created", "updated"):
        kept = result.counts.pop(f"{name}_code_kept", 0)
        if kept:
            result.counts[name] += kept
            result.counts["vote_code_kept"] += kept


def read_existing(client: Any, table: str, elector_ids: Iterable[str]) -> dict[str, _Existing]:
    """Current digests of the given electors (consistent reads, 100 keys per call)."""
    ids = list(dict.fromkeys(elector_ids))
    found: dict[str, _Existing] = {}
    for start in range(0, len(ids), 100):
        request: dict[str, Any] = {
            table: {
                "Keys": [to_attributes({"elector_id": i}) for i in ids[start : start + 100]],
                "ProjectionExpression": ", ".join(f"#{n}" for n in _READ_ATTRIBUTES),
                "ExpressionAttributeNames": {f"#{n}": n for n in _READ_ATTRIBUTES},
                "ConsistentRead": True,
            }
        }
        delay = 0.05
        while request:
            answer = client.batch_get_item(RequestItems=request)
            for typed in answer.get("Responses", {}).get(table, []):
                item = from_attributes(typed)
                found[item["elector_id"]] = _Existing(
                    roll_digest=item.get("roll_digest"),
                    vote_code_digest=item.get("roll_vote_code_digest"),
                    has_vote_code="vote_code_hash" in item,
                    reissued="code_changed_at" in item,
                )
            request = answer.get("UnprocessedKeys") or {}
            if request:
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
    return found


def _hash_secrets(row: RollRow, hasher: SecretHasher) -> dict[str, str]:
    return {
        attribute: hasher.hash(value) if kind == "plain" else value
        for attribute, (kind, value) in row.secrets.items()
    }


def _create_rows(client: Any, table: str, rows: Sequence[tuple[RollRow, dict[str, str]]]) -> int:
    now = int(datetime.now(UTC).timestamp())
    for start in range(0, len(rows), 25):
        requests = []
        for row, hashes in rows[start : start + 25]:
            item: dict[str, Any] = {
                "elector_id": row.elector_id,
                "display_name": row.display_name,
                "pro_email": row.pro_email,
                "roll_digest": row.digest,
                "roll_vote_code_digest": row.vote_code_digest,
                "updated_at": now,
            }
            optional = {"question": row.question, "identity_digest": row.identity_digest, **hashes}
            item.update({name: value for name, value in optional.items() if value})
            requests.append({"PutRequest": {"Item": to_attributes(item)}})
        pending: dict[str, Any] = {table: requests}
        delay = 0.05
        while pending:
            answer = _with_backoff(lambda p=pending: client.batch_write_item(RequestItems=p))
            pending = answer.get("UnprocessedItems") or {}
            if pending:
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
    return len(rows)


def _write_vote_code(row: RollRow, current: _Existing | None) -> bool | None:
    """True: write it; False: same code as last import; None: kept because reissued since."""
    if current is None or not current.has_vote_code:
        return True
    if current.vote_code_digest == row.vote_code_digest:
        return False
    return None if current.reissued else True


def _write_row(
    client: Any, table: str, row: RollRow, current: _Existing | None, hashes: dict[str, str]
) -> str:
    values: dict[str, Any] = {":digest": row.digest, ":now": int(datetime.now(UTC).timestamp())}
    sets = ["roll_digest = :digest", "updated_at = :now"]
    removes = []
    attributes: dict[str, str | None] = {
        "display_name": row.display_name,
        "pro_email": row.pro_email,
        "question": row.question,
        "answer_hash": hashes.get("answer_hash"),
        "numen_hash": hashes.get("numen_hash"),
        "nir_hash": hashes.get("nir_hash"),
        "identity_digest": row.identity_digest,
    }
    for name, value in attributes.items():
        if value is None:
            if current is not None:
                removes.append(name)
        else:
            sets.append(f"{name} = :{name}")
            values[f":{name}"] = value
    write_code = _write_vote_code(row, current)
    if write_code:
        sets += ["vote_code_hash = :vote_code_hash", "roll_vote_code_digest = :vote_code_digest"]
        values[":vote_code_hash"] = hashes["vote_code_hash"]
        values[":vote_code_digest"] = row.vote_code_digest
    condition = _write_condition(current, bool(write_code), values)
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    request: dict[str, Any] = {
        "TableName": table,
        "Key": to_attributes({"elector_id": row.elector_id}),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": to_attributes(values),
    }
    try:
        _with_backoff(lambda: client.update_item(**request))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return "conflict"
        log.error("roll write failed", extra={"elector_id": row.elector_id, "error": _error_code(exc)})
        return "failed_write"
    outcome = "created" if current is None else "updated"
    return f"{outcome}_code_kept" if write_code is None else outcome


def _write_condition(current: _Existing | None, write_code: bool, values: dict[str, Any]) -> str:
    """The row is written only if nobody changed it since it was read."""
    if current is None:
        return "attribute_not_exists(elector_id)"
    if current.roll_digest is None:
        condition = "attribute_exists(elector_id) AND attribute_not_exists(roll_digest)"
    else:
        condition = "roll_digest = :previous"
        values[":previous"] = current.roll_digest
    if write_code:
        # a redemption between our read and this write must win
        condition += " AND attribute_not_exists(code_changed_at)"
    return condition


_THROTTLING = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}


def _with_backoff(call: Any, attempts: int = 6) -> Any:
    delay = 0.1
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as exc:
            if _error_code(exc) not in _THROTTLING or attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    return None


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "unknown"))
