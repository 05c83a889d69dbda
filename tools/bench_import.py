"""Measure the roll import locally: rows/s with plaintext and pre-hashed secrets, 1 and 2 processes.

    python -m tools.bench_import --rows 100000 --plaintext-rows 2000

DynamoDB is a ThreadedMotoServer on 127.0.0.1 (one Python process: it bounds the write rate,
real DynamoDB does not). Plaintext rows use the production argon2 profile unless told otherwise;
as they cost ~3 hashes each, a smaller sample gives the rate. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import boto3

from local.tables import create_tables
from reassort.adapters.system import Argon2Profile
from reassort.config import Settings
from reassort.roll.worker import WorkerConfig

from .import_roll import Options, run_import
from .synthetic_roll import write_roll


def _server() -> tuple[object, str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def measure(
    roll: Path,
    processes: int,
    profile: Argon2Profile,
    workdir: Path,
    table: str,
    endpoint: str,
    chunk_size: int = 200,
) -> dict[str, float]:
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    settings = Settings(electors_table=table)
    create_tables(client, settings)
    config = WorkerConfig(electors_table=table, identity_key=b"b" * 32, profile=profile)
    options = Options(
        csv_path=roll,
        report_path=workdir / f"{table}.report.csv",
        checkpoint_path=workdir / f"{table}.checkpoint.json",
        processes=processes,
        chunk_size=chunk_size,
        dry_run=False,
        restart=True,
        progress=False,
    )
    started = time.perf_counter()
    counts = run_import(options, config, client=client if processes == 1 else None)
    elapsed = time.perf_counter() - started
    rows = counts["created"] + counts["updated"] + counts["unchanged"]
    return {"rows": rows, "seconds": elapsed, "rows_per_s": rows / elapsed, "hashed": counts["hashed"]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="pre-hashed rows")
    parser.add_argument("--plaintext-rows", type=int, default=2_000, help="plaintext rows")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--argon2-memory-kib", type=int, default=Argon2Profile.memory_kib)
    parser.add_argument("--argon2-time-cost", type=int, default=Argon2Profile.time_cost)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    profile = Argon2Profile(args.argon2_memory_kib, args.argon2_time_cost, 1)
    server, endpoint = _server()
    # worker processes build their client from the environment
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            hashed, plain = work / "hashed.csv", work / "plain.csv"
            write_roll(args.rows, hashed, None, profile=profile)
            write_roll(args.plaintext_rows, plain, None, plaintext=True)
            # plaintext chunks are small so that every process gets work on a small sample
            for label, roll, chunk in (("pre-hashed", hashed, 200), ("plaintext", plain, 25)):
                for processes in args.processes:
                    table = f"bench-{label}-{processes}"
                    figures = measure(roll, processes, profile, work, table, endpoint, chunk)
                    results.append({"secrets": label, "processes": processes, **figures})
                    print(
                        f"{label:10} {processes} proc: {figures['rows_per_s']:8.1f} rows/s", file=sys.stderr
                    )
                    # the same file again: every row unchanged (no hashing, reads only)
                    again = measure(roll, processes, profile, work, table, endpoint, chunk)
                    results.append({"secrets": f"{label}, re-import", "processes": processes, **again})
    finally:
        server.stop()  # type: ignore[attr-defined]
    print(
        f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}; argon2id m={profile.memory_kib} KiB t={profile.time_cost} p=1."
    )
    print()
    print("| secrets | processes | rows | seconds | rows/s | argon2 hashes |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['secrets']} | {r['processes']} | {r['rows']:,.0f} | {r['seconds']:.1f} | "
            f"{r['rows_per_s']:,.1f} | {r['hashed']:,.0f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
