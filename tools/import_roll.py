"""Import the electoral roll into the electors table.

    reassort-import-roll roll.csv [--dry-run] [--processes N] [--report report.csv]

Reads the CSV described in docs/roll-import.md, validates every row, hashes plaintext secrets
with argon2id on every core, and upserts each elector (see tools/roll/worker.py for what an
upsert changes and what it preserves). Re-importing the same file changes nothing; a corrected
row updates its elector. Progress is checkpointed after every chunk: run the same command again
after an interruption and it resumes where it stopped.

Configuration comes from the service's environment: ``ELECTORS_TABLE``, ``SECRETS_ID`` (or
``LOCAL_SECRETS`` outside prod) for the identity key, ``ARGON2_*`` for the hashing profile,
``AWS_ENDPOINT_URL`` for a local DynamoDB endpoint.

The report lists (row, field, severity, code, message) and never a value. Nothing of a row
reaches a log line either. Exit status: 0 all rows imported, 1 some rows rejected or failed,
2 the file or the configuration cannot be used.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import os
import secrets
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from reassort.config import Settings
from reassort.domain.hashing import SecretHasher

from .roll.schema import Problem, check_header
from .roll.worker import ChunkResult, WorkerConfig, process_chunk

log = logging.getLogger("reassort.import_roll")

CHECKPOINT_VERSION = 1
REPORT_COLUMNS = ("row", "field", "severity", "code", "message")
Chunk = list[tuple[int, dict[str, str | None]]]


# ---------------------------------------------------------------- worker processes
_state: dict[str, Any] = {}


def _init_worker(config: WorkerConfig) -> None:
    import boto3

    _state["config"] = config
    _state["client"] = None if config.dry_run else boto3.client("dynamodb")
    _state["hasher"] = SecretHasher(config.profile)


def _run_chunk(index: int, rows: Chunk) -> tuple[int, ChunkResult]:
    return index, process_chunk(rows, _state["config"], _state["client"], _state["hasher"])


# ---------------------------------------------------------------- checkpoint
@dataclass
class Checkpoint:
    path: Path
    file_digest: str
    chunk_size: int
    done: set[int] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)

    @classmethod
    def load(cls, path: Path, file_digest: str, chunk_size: int, restart: bool) -> Checkpoint:
        fresh = cls(path, file_digest, chunk_size)
        if restart or not path.exists():
            return fresh
        data = json.loads(path.read_text())
        if data.get("version") != CHECKPOINT_VERSION or data.get("file_sha256") != file_digest:
            raise SystemExit(
                f"{path} belongs to another file or version: use --restart to import from the start"
            )
        if data.get("chunk_size") != chunk_size:
            raise SystemExit(f"{path} was written with --chunk-size {data.get('chunk_size')}: use the same")
        below = int(data.get("done_below", 0))
        fresh.done = set(range(below)) | set(data.get("done_extra", []))
        fresh.counts = Counter(data.get("counts", {}))
        return fresh

    def mark(self, index: int, result: ChunkResult) -> None:
        self.done.add(index)
        self.counts.update(result.counts)
        self.save()

    def save(self) -> None:
        below = 0
        while below in self.done:
            below += 1
        data = {
            "version": CHECKPOINT_VERSION,
            "file_sha256": self.file_digest,
            "chunk_size": self.chunk_size,
            "done_below": below,
            "done_extra": sorted(i for i in self.done if i > below),
            "counts": dict(self.counts),
        }
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


# ---------------------------------------------------------------- reading
def read_chunks(handle: TextIO, chunk_size: int) -> Iterator[tuple[int, Chunk, int, list[Problem]]]:
    """(chunk index, rows, rows read, duplicates) for the data rows. A repeated elector id is
    reported with the chunk where it appears and left out (the first occurrence wins). Row
    numbers count the header as row 1."""
    reader = csv.DictReader(handle)
    seen: set[str] = set()
    chunk: Chunk = []
    duplicates: list[Problem] = []
    index = 0
    read = 0
    for number, row in enumerate(reader, start=2):
        read += 1
        elector_id = (row.get("elector_id") or "").strip()
        if elector_id and elector_id in seen:
            duplicates.append(Problem(number, "elector_id", "duplicate_elector_id"))
        else:
            seen.add(elector_id)
            chunk.append((number, row))
        if read >= chunk_size:
            yield index, chunk, read, duplicates
            index += 1
            chunk, read, duplicates = [], 0, []
    if read:
        yield index, chunk, read, duplicates


def read_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


# ---------------------------------------------------------------- main loop
@dataclass
class Options:
    csv_path: Path
    report_path: Path
    checkpoint_path: Path
    processes: int
    chunk_size: int
    dry_run: bool
    restart: bool
    progress: bool


def run_import(options: Options, config: WorkerConfig, client: Any | None = None) -> Counter[str]:
    """Import the file; return the counters. ``client`` runs everything in this process
    (tests with in-process moto); otherwise ``options.processes`` worker processes are used."""
    header_problems = check_header(read_header(options.csv_path))
    if header_problems:
        write_report(options.report_path, header_problems, append=False)
        raise SystemExit(2)
    digest = file_sha256(options.csv_path)
    checkpoint = Checkpoint.load(
        options.checkpoint_path, digest, options.chunk_size, options.restart or options.dry_run
    )
    resuming = bool(checkpoint.done)
    total = max(0, count_lines(options.csv_path) - 1)
    report = options.report_path.open("a" if resuming else "w", newline="", encoding="utf-8")
    writer = csv.DictWriter(report, fieldnames=REPORT_COLUMNS)
    if not resuming:
        writer.writeheader()
    counts: Counter[str] = Counter(checkpoint.counts)
    bar = tqdm(
        total=total,
        unit="row",
        desc="dry run" if options.dry_run else "import",
        disable=not options.progress,
        smoothing=0.05,
        dynamic_ncols=True,
    )

    def finish(index: int, result: ChunkResult, rows_read: int, duplicates: list[Problem]) -> None:
        result.problems.extend(duplicates)
        result.counts["rejected"] += len(duplicates)
        for problem in sorted(result.problems, key=lambda p: (p.row, p.field)):
            writer.writerow(problem.as_dict())
        report.flush()
        counts.update(result.counts)
        if not options.dry_run:
            checkpoint.mark(index, result)
        bar.update(rows_read)

    try:
        with options.csv_path.open(newline="", encoding="utf-8-sig") as handle:
            chunks = read_chunks(handle, options.chunk_size)
            if client is not None or options.processes <= 1:
                local_client = client
                if local_client is None and not options.dry_run:
                    import boto3

                    local_client = boto3.client("dynamodb")
                hasher = SecretHasher(config.profile)
                for index, rows, read, duplicates in chunks:
                    if index in checkpoint.done:
                        bar.update(read)
                        continue
                    finish(index, process_chunk(rows, config, local_client, hasher), read, duplicates)
            else:
                _run_pool(options, config, chunks, checkpoint, finish, bar)
    finally:
        bar.close()
        report.close()
    if not options.dry_run:
        checkpoint.counts = Counter({k: v for k, v in counts.items()})
        checkpoint.save()
    return counts


def _run_pool(
    options: Options,
    config: WorkerConfig,
    chunks: Iterator[tuple[int, Chunk, int, list[Problem]]],
    checkpoint: Checkpoint,
    finish: Any,
    bar: Any,
) -> None:
    in_flight: dict[Future[tuple[int, ChunkResult]], tuple[int, list[Problem]]] = {}
    limit = options.processes * 2

    def collect(futures: Any) -> None:
        for future in futures:
            index, result = future.result()
            read, duplicates = in_flight.pop(future)
            finish(index, result, read, duplicates)

    with ProcessPoolExecutor(
        max_workers=options.processes, initializer=_init_worker, initargs=(config,)
    ) as pool:
        for index, rows, read, duplicates in chunks:
            if index in checkpoint.done:
                bar.update(read)
                continue
            in_flight[pool.submit(_run_chunk, index, rows)] = (read, duplicates)
            while len(in_flight) >= limit:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                collect(done)
        collect(list(in_flight))


def write_report(path: Path, problems: Sequence[Problem], append: bool) -> None:
    with path.open("a" if append else "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=REPORT_COLUMNS)
        if not append:
            writer.writeheader()
        for problem in problems:
            writer.writerow(problem.as_dict())


def build_config(args: argparse.Namespace, settings: Settings) -> WorkerConfig:
    if args.dry_run and not (settings.secrets_id or settings.local_secrets):
        # digests are not stored in a dry run: a throwaway key validates the identity fields
        identity_key = secrets.token_bytes(32)
    else:
        from reassort.adapters.secrets import load_secrets

        identity_key = load_secrets(settings).identity_hmac_key
    return WorkerConfig(
        electors_table=args.table or settings.electors_table,
        identity_key=identity_key,
        profile=settings.argon2_profile(),
        dry_run=args.dry_run,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="reassort-import-roll", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("csv", type=Path, help="roll file (UTF-8 CSV with a header row)")
    parser.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    parser.add_argument("--report", type=Path, help="report file (default: <csv>.report.csv)")
    parser.add_argument("--checkpoint", type=Path, help="checkpoint file (default: <csv>.checkpoint.json)")
    parser.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--chunk-size", type=int, default=200, help="rows per chunk")
    parser.add_argument("--table", help="electors table (default: ELECTORS_TABLE)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.chunk_size < 1 or args.processes < 1:
        parser.error("--chunk-size and --processes must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    args = parse_args(argv)
    if not args.csv.is_file():
        print(f"no such file: {args.csv}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    config = build_config(args, settings)
    options = Options(
        csv_path=args.csv,
        report_path=args.report or args.csv.with_name(args.csv.name + ".report.csv"),
        checkpoint_path=args.checkpoint or args.csv.with_name(args.csv.name + ".checkpoint.json"),
        processes=args.processes,
        chunk_size=args.chunk_size,
        dry_run=args.dry_run,
        restart=args.restart,
        progress=not args.no_progress,
    )
    started = time.perf_counter()
    try:
        counts = run_import(options, config)
    except SystemExit as exc:
        if exc.code == 2:
            print(f"the header cannot be used: see {options.report_path}", file=sys.stderr)
            return 2
        raise
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
    print(f"{'dry run' if args.dry_run else 'import'} done in {elapsed:.1f} s: {summary}", file=sys.stderr)
    print(f"report: {options.report_path}", file=sys.stderr)
    return 1 if counts.get("rejected") or counts.get("failed") or counts.get("failed_write") else 0


if __name__ == "__main__":
    sys.exit(main())
