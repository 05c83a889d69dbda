"""Start the local stack with a synthetic roll and run Locust headless against it.

    python -m tools.load.run --electors 20000 --duration 5m --users 40
    python -m tools.load.run --shape --duration 10m --users 20          # election-day shape
    python -m tools.load.run --workers 2 --duration 5m --users 80       # master + 2 workers

Reports: build/load/report.html and build/load/load_*.csv (Locust's stats, failures,
exceptions and history), plus build/load/run.json (the parameters and the argon2 bound
measured in the same run, to compare with the challenge throughput).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
SHAPEFILE = Path(__file__).resolve().parent / "shape.py"


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    if duration[-1] in units:
        return int(float(duration[:-1]) * units[duration[-1]])
    return int(duration)


def argon2_bound(profile: Any, samples: int = 20) -> dict[str, float]:
    """Verifications per second one core does with the stack's profile, measured now."""
    from reassort.domain.hashing import SecretHasher

    hasher = SecretHasher(profile)
    stored = hasher.hash("mesure")
    started = time.perf_counter()
    for _ in range(samples):
        hasher.verify(stored, "mesure")
    per_verify = (time.perf_counter() - started) / samples
    # a challenge always verifies two hashes
    return {"verify_ms": per_verify * 1000, "challenges_per_core_s": 1 / (2 * per_verify)}


def start_stack(host: str, port: int, electors: int, workdir: Path) -> tuple[Any, Path, list[dict[str, str]]]:
    """The local stack plus the synthetic electors (imported with the roll worker)."""
    import boto3

    from local.stack import LocalStack
    from reassort.config import Settings
    from tools.import_roll import Options, run_import
    from tools.load.journeys import password_for
    from tools.roll.worker import WorkerConfig
    from tools.synthetic_roll import write_roll

    stack = LocalStack(host=host, port=port).start()
    settings = Settings.from_env()
    roll, secrets = workdir / "roll.csv", workdir / "secrets.csv"
    write_roll(electors, roll, secrets, profile=settings.argon2_profile(), prefix="L")
    identity_key = getattr(stack, "_identity_key", None)
    passwords = getattr(stack, "_passwords", None)
    if identity_key is None or passwords is None:
        stack.stop()
        raise SystemExit("this local stack cannot take a synthetic roll (identity key or logins missing)")
    config = WorkerConfig(electors_table=settings.electors_table, identity_key=identity_key)
    options = Options(
        csv_path=roll,
        report_path=workdir / "roll.report.csv",
        checkpoint_path=workdir / "roll.checkpoint.json",
        processes=1,
        chunk_size=500,
        dry_run=False,
        restart=True,
        progress=False,
    )
    run_import(options, config, client=boto3.client("dynamodb"))
    with roll.open(encoding="utf-8") as handle:
        ids = [line.split(",", 1)[0] for line in handle.readlines()[1:]]
    passwords.update({i: password_for(i) for i in ids})
    fc_electors = []
    try:
        from local.fc_emulator import identity_by_key

        for elector in stack.summary().get("electors", []):
            key = elector.get("fc_identity")
            if key:
                fc_electors.append(
                    {
                        "elector_id": elector["elector_id"],
                        "fc_identity": key,
                        "email": identity_by_key(key).email,
                    }
                )
    except ImportError:
        pass
    return stack, secrets, fc_electors


def locust_commands(args: argparse.Namespace, base_url: str, out: Path) -> list[list[str]]:
    files = f"{LOCUSTFILE},{SHAPEFILE}" if args.shape else str(LOCUSTFILE)
    common = [sys.executable, "-m", "locust", "-f", files]
    run = [
        "--headless",
        "--host",
        base_url,
        "-t",
        args.duration,
        "--html",
        str(out / "report.html"),
        "--csv",
        str(out / "load"),
        "--csv-full-history",
        "--only-summary",
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
    ]
    if not args.shape:
        run += ["-u", str(args.users), "-r", str(args.spawn_rate)]
    if args.workers <= 1:
        return [common + run]
    master = [
        *common,
        *run,
        "--master",
        "--expect-workers",
        str(args.workers),
        "--master-bind-host",
        "127.0.0.1",
    ]
    worker = [*common, "--worker", "--master-host", "127.0.0.1", "--loglevel", "WARNING"]
    return [master, *([worker] * args.workers)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--electors", type=int, default=20_000, help="synthetic electors to load")
    parser.add_argument("--duration", default="5m", help="Locust run time (e.g. 90s, 5m)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--shape", action="store_true", help="opening rush and last hour shape")
    parser.add_argument("--workers", type=int, default=1, help="Locust workers (distributed mode)")
    parser.add_argument("--sms-share", type=float, default=0.3)
    parser.add_argument("--wrong-share", type=float, default=0.2)
    parser.add_argument("--fc-share", type=float, default=0.05)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between journeys of a user")
    parser.add_argument("--port", type=int, default=0, help="local stack port (0: any free port)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "load")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    args.out.mkdir(parents=True, exist_ok=True)

    stack, secrets, fc_electors = start_stack("127.0.0.1", args.port, args.electors, args.out)
    try:
        from reassort.config import Settings

        bound = argon2_bound(Settings.from_env().argon2_profile())
        env = {
            **os.environ,
            "LOAD_SECRETS": str(secrets),
            "LOAD_SMS_SHARE": str(args.sms_share),
            "LOAD_WRONG_SHARE": str(args.wrong_share),
            "LOAD_FC_SHARE": str(args.fc_share if fc_electors else 0),
            "LOAD_FC_ELECTORS": json.dumps(fc_electors),
            "LOAD_WORKER_COUNT": str(max(1, args.workers)),
            "LOAD_THINK_SECONDS": str(args.think),
            "LOAD_SHAPE_SECONDS": str(_seconds(args.duration)),
            "LOAD_BASE_USERS": str(args.users),
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT), str(ROOT / "functions"), os.environ.get("PYTHONPATH", "")]
            ),
        }
        # the load generator must not talk to the local moto server nor hold AWS settings
        env.pop("AWS_ENDPOINT_URL", None)
        started = time.time()
        processes = [
            subprocess.Popen(cmd, env=env, cwd=ROOT)
            for cmd in locust_commands(args, stack.base_url, args.out)
        ]
        status = processes[0].wait()
        for worker in processes[1:]:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.terminate()
        summary = {
            "base_url": stack.base_url,
            "started_at": started,
            "duration": args.duration,
            "users": args.users,
            "workers": args.workers,
            "shape": args.shape,
            "electors": args.electors,
            "cores": os.cpu_count(),
            "argon2": bound,
            "locust_exit_status": status,
        }
        (args.out / "run.json").write_text(json.dumps(summary, indent=2))
        print(f"reports in {args.out}: report.html, load_stats.csv, run.json", file=sys.stderr)
        return status
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
