"""Import the electoral roll into the electors table.

    reassort-import-roll roll.csv [--dry-run] [--processes N] [--report report.csv] [--encoding cp1252]

Reads the CSV described in docs/roll-import.md (UTF-8 by default; comma, semicolon or tab
separated, found from the header), validates every row, hashes plaintext secrets with argon2id
on every core, and upserts each elector (see functions/reassort/roll/worker.py for what an
upsert changes and what it preserves). Re-importing the same file changes nothing; a corrected
row updates its elector. Progress is checkpointed after every chunk: run the same command again
after an interruption and it resumes where it stopped.

Configuration comes from the service's environment: ``ELECTORS_TABLE``, ``SECRETS_ID`` (or
``LOCAL_SECRETS`` outside prod) for the identity key, ``ARGON2_*`` for the hashing profile,
``AWS_ENDPOINT_URL`` for a local DynamoDB endpoint.

The report lists (row, field, severity, code, message) and never a value. Nothing of a row
reaches a log line either. Exit status: 0 all rows imported (or nothing left to do), 1 some
rows rejected or failed, 2 the file or the configuration cannot be used, 130 interrupted
(Ctrl-C: the checkpoint is saved, run the same command again to resume).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import multiprocessing
import os
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from reassort.adapters.secrets import SecretsError
from reassort.adapters.system import SecretHasher
from reassort.config import Settings
from reassort.roll.schema import Problem, check_header
from reassort.roll.source import Chunk, RollFile, RollFileError, open_roll, read_chunks
from reassort.roll.worker import ChunkResult, WorkerConfig, process_chunk

log = logging.getLogger("reassort.import_roll")

CHECKPOINT_VERSION = 1
REPORT_COLUMNS = ("row", "field", "severity", "code", "message")
EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130
Chunks = Iterator[tuple[int, Chunk, int, list[Problem]]]


class UnusableInput(Exception):
    """The file, its checkpoint or the configuration cannot be used (exit 2). French message."""


# ---------------------------------------------------------------- worker processes
_state: dict[str, Any] = {}


def _init_worker(config: WorkerConfig, rows_done: Any) -> None:
    import boto3

    # Ctrl-C is for the main process: it saves the checkpoint and stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _state["config"] = config
    _state["client"] = None if config.dry_run else boto3.client("dynamodb")
    _state["hasher"] = SecretHasher(config.profile)
    _state["rows_done"] = rows_done


def _count_rows(count: int) -> None:
    rows_done = _state["rows_done"]
    with rows_done.get_lock():
        rows_done.value += count


def _run_chunk(index: int, rows: Chunk) -> tuple[int, ChunkResult]:
    result = process_chunk(rows, _state["config"], _state["client"], _state["hasher"], _count_rows)
    return index, result


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
            raise UnusableInput(
                f"{path} correspond à un autre fichier ou à une autre version : "
                "relancez avec --restart pour importer depuis le début"
            )
        if data.get("chunk_size") != chunk_size:
            raise UnusableInput(
                f"{path} a été écrit avec --chunk-size {data.get('chunk_size')} : reprenez avec la même valeur"
            )
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
    encoding: str = "utf-8"


class ImportCounts(Counter[str]):
    """Counters of the whole file (this run and the runs it resumes), and what this run did."""

    chunks_run: int = 0
    chunks_skipped: int = 0

    @property
    def nothing_to_do(self) -> bool:
        return self.chunks_run == 0 and self.chunks_skipped > 0


@dataclass
class _Run:
    """What one run writes as chunks finish: report, counters, checkpoint, progress."""

    options: Options
    checkpoint: Checkpoint
    writer: Any
    report: Any
    bar: Any
    counts: ImportCounts

    def finish(self, index: int, result: ChunkResult, duplicates: list[Problem]) -> None:
        result.problems.extend(duplicates)
        result.counts["rejected"] += len(duplicates)
        for problem in sorted(result.problems, key=lambda p: (p.row, p.field)):
            self.writer.writerow(problem.as_dict())
        self.report.flush()
        self.counts.update(result.counts)
        self.counts.chunks_run += 1
        if not self.options.dry_run:
            self.checkpoint.mark(index, result)

    def skip(self, read: int) -> None:
        self.counts.chunks_skipped += 1
        self.bar.update(read)


def inspect(options: Options) -> RollFile:
    """The file's encoding, separator and header, checked before anything is written."""
    try:
        roll = open_roll(options.csv_path, options.encoding)
    except RollFileError as exc:
        raise UnusableInput(str(exc)) from None
    header_problems = check_header(roll.header)
    if header_problems:
        write_report(options.report_path, header_problems, append=False)
        raise UnusableInput(
            f"l'en-tête ne peut pas être utilisé (séparateur lu : {roll.delimiter_name}) : "
            f"voir {options.report_path}"
        )
    return roll


def run_import(options: Options, config: WorkerConfig, client: Any | None = None) -> ImportCounts:
    """Import the file; return the counters. ``client`` runs everything in this process
    (tests with in-process moto); otherwise ``options.processes`` worker processes are used.
    Raises UnusableInput (nothing written) and lets KeyboardInterrupt through once the
    checkpoint of the finished chunks is saved."""
    roll = inspect(options)
    checkpoint = Checkpoint.load(
        options.checkpoint_path,
        file_sha256(options.csv_path),
        options.chunk_size,
        options.restart or options.dry_run,
    )
    resuming = bool(checkpoint.done)
    report = options.report_path.open("a" if resuming else "w", newline="", encoding="utf-8")
    writer = csv.DictWriter(report, fieldnames=REPORT_COLUMNS)
    if not resuming:
        writer.writeheader()
    counts = ImportCounts(checkpoint.counts)
    bar = tqdm(
        total=max(0, count_lines(options.csv_path) - 1),
        unit="ligne",
        desc="contrôle" if options.dry_run else "import",
        disable=not options.progress,
        smoothing=0.05,
        dynamic_ncols=True,
    )
    run = _Run(options, checkpoint, writer, report, bar, counts)
    try:
        with roll.open() as handle:
            chunks = read_chunks(roll, handle, options.chunk_size)
            if client is not None or options.processes <= 1:
                _run_here(run, config, chunks, client)
            else:
                _run_pool(run, config, chunks)
    finally:
        bar.close()
        report.close()
        if not options.dry_run:
            checkpoint.save()  # whatever stopped the run
    return counts


def _run_here(run: _Run, config: WorkerConfig, chunks: Chunks, client: Any | None) -> None:
    if client is None and not config.dry_run:
        import boto3

        client = boto3.client("dynamodb")
    hasher = SecretHasher(config.profile)
    for index, rows, read, duplicates in chunks:
        if index in run.checkpoint.done:
            run.skip(read)
            continue
        result = process_chunk(rows, config, client, hasher, run.bar.update)
        run.bar.update(len(duplicates))
        run.finish(index, result, duplicates)


def _run_pool(run: _Run, config: WorkerConfig, chunks: Chunks) -> None:
    rows_done = multiprocessing.Value("q", 0)
    in_flight: dict[Future[tuple[int, ChunkResult]], list[Problem]] = {}
    limit = run.options.processes * 2
    shown = 0

    def collect(futures: Any) -> None:
        nonlocal shown
        for future in futures:
            index, result = future.result()
            duplicates = in_flight.pop(future)
            run.finish(index, result, duplicates)
            run.bar.update(len(duplicates))
        shown = _show(run.bar, rows_done.value, shown)

    pool = ProcessPoolExecutor(
        max_workers=run.options.processes, initializer=_init_worker, initargs=(config, rows_done)
    )
    try:
        for index, rows, read, duplicates in chunks:
            if index in run.checkpoint.done:
                run.skip(read)
                continue
            in_flight[pool.submit(_run_chunk, index, rows)] = duplicates
            while len(in_flight) >= limit:
                done, _ = wait(in_flight, timeout=0.25, return_when=FIRST_COMPLETED)
                collect(done)
                shown = _show(run.bar, rows_done.value, shown)
        while in_flight:
            done, _ = wait(in_flight, timeout=0.25, return_when=FIRST_COMPLETED)
            collect(done)
            shown = _show(run.bar, rows_done.value, shown)
    except BaseException:
        _stop_now(pool)
        raise
    pool.shutdown()


def _show(bar: Any, rows_done: int, shown: int) -> int:
    if rows_done > shown:
        bar.update(rows_done - shown)
    return max(rows_done, shown)


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """Stop the workers without waiting for their chunks: an interrupted chunk is not in the
    checkpoint and is done again (idempotently) by the next run."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=1)


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


def configuration(args: argparse.Namespace) -> WorkerConfig:
    """The worker configuration from the service's environment; UnusableInput in French otherwise."""
    try:
        config = build_config(args, Settings.from_env())
        if not args.dry_run:
            import boto3

            boto3.client("dynamodb")  # fails now, not in every worker, without a region
        return config
    except (BotoCoreError, ClientError) as exc:
        hint = " (définissez AWS_REGION)" if "region" in str(exc).lower() else ""
        raise UnusableInput(f"configuration AWS inutilisable{hint} : {type(exc).__name__}") from None
    except SecretsError as exc:
        raise UnusableInput(f"clé d'identité introuvable : {exc}") from None
    except ValueError as exc:
        raise UnusableInput(f"configuration invalide : {str(exc).splitlines()[0]}") from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="reassort-import-roll", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("csv", type=Path, help="liste électorale (CSV avec une ligne d'en-tête)")
    parser.add_argument("--dry-run", action="store_true", help="contrôler et rapporter ; ne rien écrire")
    parser.add_argument("--report", type=Path, help="rapport (défaut : <csv>.report.csv)")
    parser.add_argument("--checkpoint", type=Path, help="point de reprise (défaut : <csv>.checkpoint.json)")
    parser.add_argument("--restart", action="store_true", help="ignorer un point de reprise existant")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="processus de calcul")
    parser.add_argument("--chunk-size", type=int, default=200, help="lignes par bloc")
    parser.add_argument("--table", help="table des électeurs (défaut : ELECTORS_TABLE)")
    parser.add_argument("--encoding", default="utf-8", help="encodage du fichier : utf-8 (défaut) ou cp1252")
    parser.add_argument("--no-progress", action="store_true", help="sans barre de progression")
    args = parser.parse_args(argv)
    if args.chunk_size < 1 or args.processes < 1:
        parser.error("--chunk-size et --processes valent au moins 1")
    return args


def _summary(counts: ImportCounts, dry_run: bool, elapsed: float) -> str:
    figures = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
    label = "contrôle" if dry_run else "import"
    resumed = f" (reprise : {counts.chunks_skipped} blocs déjà faits)" if counts.chunks_skipped else ""
    return f"{label} terminé en {elapsed:.1f} s{resumed} : {figures}"


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    args = parse_args(argv)
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr)  # noqa: E731
    if not args.csv.is_file():
        say(f"fichier introuvable : {args.csv}")
        return EXIT_UNUSABLE
    options = Options(
        csv_path=args.csv,
        report_path=args.report or args.csv.with_name(args.csv.name + ".report.csv"),
        checkpoint_path=args.checkpoint or args.csv.with_name(args.csv.name + ".checkpoint.json"),
        processes=args.processes,
        chunk_size=args.chunk_size,
        dry_run=args.dry_run,
        restart=args.restart,
        progress=not args.no_progress,
        encoding=args.encoding,
    )
    started = time.perf_counter()
    try:
        inspect(options)  # the file first: its problems do not depend on the configuration
        counts = run_import(options, configuration(args))
    except UnusableInput as exc:
        say(f"import impossible : {exc}")
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        say(
            f"interrompu : point de reprise enregistré ({options.checkpoint_path}) ; relancez la même commande"
        )
        return EXIT_INTERRUPTED
    if counts.nothing_to_do:
        say(
            f"rien à faire : toutes les lignes ont déjà été importées ({options.checkpoint_path}) ; "
            "--restart pour tout revérifier"
        )
        return EXIT_OK
    say(_summary(counts, args.dry_run, time.perf_counter() - started))
    say(f"rapport : {options.report_path}")
    failed = counts.get("rejected") or counts.get("failed") or counts.get("failed_write")
    return EXIT_REJECTED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
