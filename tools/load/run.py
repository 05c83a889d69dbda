"""Start the local stack with a synthetic roll and run Locust headless against it.

    python -m tools.load.run --electors 20000 --duration 5m --users 40
    python -m tools.load.run --shape --duration 10m --users 20          # election-day shape
    python -m tools.load.run --workers 2 --duration 5m --users 80       # master + 2 workers
    python -m tools.load.run --login test-issuer --roll-via cli          # as against a stage

Reports: build/load/report.html and build/load/load_*.csv (Locust's stats, failures,
exceptions and history), build/load/stack.log (the stack's whole output), and
build/load/run.json: the parameters, the per-route figures, the argon2 bound measured in the
same run (before and after the load) against the challenge throughput, the load average, and the
privacy scan of the tables and the log (tools/privacy_scan.py) made once the load stopped. The
exit status is non-zero when Locust saw a failure or the privacy scan found something.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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
    """Verifications one core does per second with the stack's profile, measured now (wall and
    CPU time of this thread: equal on an idle core)."""
    from reassort.adapters.system import SecretHasher

    hasher = SecretHasher(profile)
    stored = hasher.hash("mesure")
    started, cpu_started = time.perf_counter(), time.thread_time()
    for _ in range(samples):
        hasher.verify(stored, "mesure")
    per_verify = (time.perf_counter() - started) / samples
    per_verify_cpu = (time.thread_time() - cpu_started) / samples
    # a challenge always verifies two hashes
    return {
        "verify_ms": per_verify * 1000,
        "verify_cpu_ms": per_verify_cpu * 1000,
        "challenges_per_core_s": 1 / (2 * per_verify_cpu),
    }


def start_stack(
    port: int,
    electors: int,
    workdir: Path,
    log_path: Path,
    timeout: float = 600,
    roll_via: str = "stack",
    workers_per_function: int = 2,
) -> tuple[subprocess.Popen[bytes], dict[str, Any], Path, list[dict[str, str]]]:
    """The local stack (`python -m local`) in its own process, as `make dev` runs it, with a
    synthetic roll hashed with the stack's argon2 profile, imported by the stack (``--roll``)
    or, with ``roll_via="cli"``, by `reassort-import-roll` once the stack runs, as an operator
    would. Its whole output (the handlers' JSON log lines at INFO included) goes to
    ``log_path`` for the privacy scan."""
    from reassort.config import Settings
    from tools.synthetic_roll import write_roll

    roll, secrets = workdir / "roll.csv", workdir / "secrets.csv"
    write_roll(electors, roll, secrets, profile=Settings.from_env().argon2_profile(), prefix="L")
    ready = workdir / "stack.json"
    ready.unlink(missing_ok=True)
    env = {
        **os.environ,
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
        "LOCAL_WORKERS_PER_FUNCTION": str(workers_per_function),
    }
    command = [
        sys.executable, "-m", "local", "--host", "127.0.0.1", "--port", str(port),
        "--quiet", "--ready-file", str(ready),
    ]  # fmt: skip
    if roll_via == "stack":
        command += ["--roll", str(roll)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while not ready.is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_stack(process)
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise SystemExit(f"the local stack did not start:\n{tail}")
        time.sleep(0.2)
    summary = json.loads(ready.read_text(encoding="utf-8"))
    if roll_via == "cli":
        import_with_cli(roll, summary["import_environment"], process)
    fc_electors = []
    try:
        from local.fc_emulator import identity_by_key

        for elector in summary.get("electors", []):
            key = elector.get("fc_identity")
            # an identity whose e-mail is the professional address is refused by design (no send)
            if key and identity_by_key(key).email.lower() != str(elector.get("pro_email", "")).lower():
                fc_electors.append(
                    {
                        "elector_id": elector["elector_id"],
                        "fc_identity": key,
                        "email": identity_by_key(key).email,
                    }
                )
    except ImportError:
        pass
    return process, summary, secrets, fc_electors


def import_with_cli(roll: Path, environment: dict[str, str], stack: subprocess.Popen[bytes]) -> None:
    """`reassort-import-roll` against the running stack, with the environment it exposes."""
    env = {**os.environ, **environment}
    command = [sys.executable, "-m", "tools.import_roll", str(roll), "--no-progress", "--restart"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        stop_stack(stack)
        raise SystemExit(f"reassort-import-roll failed ({result.returncode}):\n{result.stderr[-2000:]}")


def login_environment(login: str, stack: dict[str, Any]) -> dict[str, str]:
    """The load kit's login plug-in (tools/load/plugins.py) and what it needs from the stack."""
    if login == "local":
        return {"LOAD_LOGIN": "local"}
    exposed = stack["import_environment"]
    return {
        "LOAD_LOGIN": "test-issuer",
        "LOAD_TEST_ISSUER": exposed["LOAD_TEST_ISSUER"],
        "LOAD_TEST_ISSUER_KEY": exposed["LOAD_TEST_ISSUER_KEY"],
        "LOAD_PORTAL_AUDIENCE": exposed["LOAD_PORTAL_AUDIENCE"],
    }


def stop_stack(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a developer would; killed if it does not stop."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - loopback stack
        return json.loads(response.read())


def route_stats(stats_csv: Path) -> dict[str, dict[str, float]]:
    """Locust's per-route summary (load_stats.csv): counts, rates and percentiles in ms."""
    out: dict[str, dict[str, float]] = {}
    with stats_csv.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            out[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
            }
    return out


def final_route_stats(path: Path) -> dict[str, dict[str, float]]:
    """The figures Locust printed at the end (written by the locustfile once users stopped);
    empty when the run did not write them."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: {key: float(value) for key, value in figures.items()} for name, figures in data.items()}


CHALLENGE_ROUTE = "POST /api/reassort/challenge"


def challenge_efficiency(
    routes: dict[str, dict[str, float]],
    seconds: float,
    function_routes: dict[str, dict[str, float]],
    bound: float,
) -> dict[str, float]:
    """Challenge throughput per core against the argon2 bound.

    ``per_core_s``: challenge POSTs (right and wrong answers: both verify two hashes) per CPU
    second the challenge function's worker processes used for them, i.e. per core fully given to
    the function. The AWS services it calls (dynoxide, moto) run in other processes and are not
    counted, as on AWS where they are not the function's CPU. ``ratio`` = per_core_s / bound: the
    share of the function's CPU that goes to argon2.

    Each function runs in a pool of worker processes (concurrent Lambda environments):
    ``wall_s`` is the challenges per second of the whole run, and ``busy_share`` the summed time
    invocations took over the run's length (above 1: several environments busy at once). On
    this machine the wall-clock figures also pay for the engines and the load generator sharing
    the same two cores."""
    posts = sum(v["requests"] for k, v in routes.items() if k.startswith(CHALLENGE_ROUTE))
    measured = function_routes.get(CHALLENGE_ROUTE, {})
    cpu = float(measured.get("cpu_seconds", 0.0))
    busy = float(measured.get("busy_seconds", 0.0))
    invocations = float(measured.get("invocations", 0))
    per_core = invocations / cpu if cpu else 0.0
    return {
        "challenge_posts": posts,
        "function_invocations": invocations,
        "function_cpu_seconds": round(cpu, 3),
        "function_busy_seconds": round(busy, 3),
        "cpu_ms_per_challenge": round(1000 * cpu / invocations, 2) if invocations else 0.0,
        "busy_ms_per_challenge": round(1000 * busy / invocations, 2) if invocations else 0.0,
        "per_core_s": round(per_core, 3),
        "bound_per_core_s": round(bound, 3),
        "ratio": round(per_core / bound, 3) if bound else 0.0,
        "wall_s": round(posts / seconds, 3) if seconds else 0.0,
        "busy_share": round(busy / seconds, 3) if seconds else 0.0,
    }


def free_port() -> int:
    """A port nobody listens on now (Locust's default 5557 may be another run's master)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    port = str(args.master_port or free_port())
    master = [
        *common,
        *run,
        "--master",
        "--expect-workers",
        str(args.workers),
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        port,
    ]
    worker = [
        *common,
        "--worker",
        "--master-host",
        "127.0.0.1",
        "--master-port",
        port,
        "--loglevel",
        "WARNING",
    ]
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
    parser.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="one journey per user every PACE seconds (fixed arrival rate: users/pace per second)",
    )
    parser.add_argument(
        "--workers-per-function",
        type=int,
        default=2,
        help="worker processes per function in the local stack (concurrent Lambda environments)",
    )
    parser.add_argument("--port", type=int, default=0, help="local stack port (0: any free port)")
    parser.add_argument(
        "--login",
        choices=("local", "test-issuer"),
        default="local",
        help="demonstration portal, or sessions signed by the load-test issuer as on a stage",
    )
    parser.add_argument(
        "--roll-via",
        choices=("stack", "cli"),
        default="stack",
        help="roll imported by the stack at start, or by reassort-import-roll once it runs",
    )
    parser.add_argument(
        "--master-port", type=int, default=0, help="Locust master port with --workers (0: any free port)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "load")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    args.out.mkdir(parents=True, exist_ok=True)

    from reassort.config import Settings

    profile = Settings.from_env().argon2_profile()
    bound_before = argon2_bound(profile)
    log_path = args.out / "stack.log"
    record = args.out / "seen.txt"
    record.unlink(missing_ok=True)
    (args.out / "final_stats.json").unlink(missing_ok=True)
    process, stack, secrets, fc_electors = start_stack(
        args.port,
        args.electors,
        args.out,
        log_path,
        roll_via=args.roll_via,
        workers_per_function=args.workers_per_function,
    )
    base_url = stack["base_url"]
    try:
        env = {
            **os.environ,
            "LOAD_SECRETS": str(secrets),
            "LOAD_RECORD": str(record),
            "LOAD_SMS_SHARE": str(args.sms_share),
            "LOAD_WRONG_SHARE": str(args.wrong_share),
            "LOAD_FC_SHARE": str(args.fc_share if fc_electors else 0),
            "LOAD_FC_ELECTORS": json.dumps(fc_electors),
            "LOAD_WORKER_COUNT": str(max(1, args.workers)),
            "LOAD_THINK_SECONDS": str(args.think),
            "LOAD_PACE_SECONDS": str(args.pace),
            "LOAD_SHAPE_SECONDS": str(_seconds(args.duration)),
            "LOAD_BASE_USERS": str(args.users),
            "LOAD_LINKS": "outbox",
            "LOAD_FINAL_STATS": str(args.out / "final_stats.json"),
            **login_environment(args.login, stack),
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT), str(ROOT / "functions"), os.environ.get("PYTHONPATH", "")]
            ),
        }
        # the load generator must not talk to the local moto server nor hold AWS settings
        env.pop("AWS_ENDPOINT_URL", None)
        functions_before = _get_json(f"{base_url}/local/stats.json")
        load_before = os.getloadavg()
        started = time.time()
        processes = [
            subprocess.Popen(cmd, env=env, cwd=ROOT) for cmd in locust_commands(args, base_url, args.out)
        ]
        status = processes[0].wait()
        for worker in processes[1:]:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.terminate()
        elapsed = time.time() - started
        load_after = os.getloadavg()
        functions_after = _get_json(f"{base_url}/local/stats.json")
        bound_after = argon2_bound(profile)
        functions = {
            group: {
                name: {
                    key: round(value - functions_before[group].get(name, {}).get(key, 0), 6)
                    for key, value in after.items()
                }
                for name, after in functions_after[group].items()
            }
            for group in ("functions", "routes")
        }
        routes = final_route_stats(args.out / "final_stats.json") or route_stats(args.out / "load_stats.csv")
        # the conservative bound: the faster of the two measurements
        bound = max(bound_before["challenges_per_core_s"], bound_after["challenges_per_core_s"])
        efficiency = challenge_efficiency(routes, elapsed, functions["routes"], bound)

        from tools.privacy_scan import scan_load_run

        tables = scan_load_run(
            secrets_path=secrets,
            endpoint_url=stack["dynamodb_url"],
            outbox=_get_json(f"{base_url}/local/outbox.json"),
            record_path=record,
            extra_destinations=[e["email"] for e in fc_electors],
        )
    finally:
        stop_stack(process)
    from tools.privacy_scan import scan_files

    log_findings = scan_files([log_path], tables.needles)
    privacy = {
        "items_scanned": tables.items,
        "log_bytes_scanned": log_path.stat().st_size,
        "needles": tables.needle_counts,
        "findings": [*tables.findings, *log_findings],
    }
    summary = {
        "base_url": base_url,
        "started_at": started,
        "seconds": round(elapsed, 1),
        "duration": args.duration,
        "users": args.users,
        "workers": args.workers,
        "shape": args.shape,
        "electors": args.electors,
        "think": args.think,
        "pace": args.pace,
        "workers_per_function": args.workers_per_function,
        "shares": {"sms": args.sms_share, "wrong": args.wrong_share, "fc": args.fc_share},
        "cores": os.cpu_count(),
        "load_average": {"before": load_before, "after": load_after},
        "argon2": bound_before,
        "argon2_after": bound_after,
        "routes": routes,
        "functions": functions,
        "challenge": efficiency,
        "privacy": privacy,
        "locust_exit_status": status,
    }
    (args.out / "run.json").write_text(json.dumps(summary, indent=2))
    agg = routes.get("Aggregated", {})
    print(
        f"{agg.get('requests', 0):.0f} requests, {agg.get('failures', 0):.0f} failures, "
        f"{agg.get('rps', 0):.1f} req/s; challenges {efficiency['per_core_s']}/s per core "
        f"= {efficiency['ratio']} x argon2 bound {efficiency['bound_per_core_s']}/s "
        f"(wall {efficiency['wall_s']}/s, busy share {efficiency['busy_share']}); privacy scan: "
        + (f"{len(privacy['findings'])} findings" if privacy["findings"] else "nothing found"),
        file=sys.stderr,
    )
    print(f"reports in {args.out}: report.html, load_stats.csv, run.json, stack.log", file=sys.stderr)
    return status or (3 if privacy["findings"] else 0)


if __name__ == "__main__":
    sys.exit(main())
