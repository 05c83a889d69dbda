"""`make bench`: request cost against the argon2 floor, and cold-import cost against boto3.

Everything runs in one process on this machine, so the ratios compare like with like:
- warm `POST /api/reassort/challenge` and `POST /api/links/redeem` through the real handlers
  (API Gateway v2 events) against dynoxide (DynamoDB) and moto (SES), with the production
  argon2 profile, counting the AWS calls each request makes;
- the bare argon2 work each request must do (two verifications for a challenge, one hash for a
  redemption);
- each handler module's import time in a fresh interpreter against a bare `import boto3`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "functions", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(values) * 1000, "p95_ms": percentile(values, 0.95) * 1000}


def route_figures(times: list[float], own: list[float], floor: float) -> dict[str, float]:
    """Whole request, and the same without the time moto itself spends emulating SES (on AWS
    that part is a network wait, not the function's CPU)."""
    return {
        **summary(times),
        "floor_ms": floor * 1000,
        "ratio_to_floor": statistics.median(times) / floor,
        "without_emulator_median_ms": statistics.median(own) * 1000,
        "without_emulator_ratio_to_floor": statistics.median(own) / floor,
    }


def timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def import_seconds(statement: str, repeats: int) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'functions'}{os.pathsep}{ROOT}",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    samples = []
    for _ in range(repeats):
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT
        )
        samples.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


class EmulatorClock:
    """Time spent inside moto, i.e. the emulated AWS services' own work (network I/O on AWS)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def install(self) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.__call__
        clock = self

        def timed_call(stubber: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(stubber, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - start

        BotocoreStubber.__call__ = timed_call  # type: ignore[method-assign,assignment]


def bench_requests(n: int) -> dict[str, Any]:
    import base64
    import secrets

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "eu-west-3",
            "AWS_REGION": "eu-west-3",
            "STAGE": "local",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "LINK_QUOTA": "50",
            "PUBLIC_BASE_URL": "https://reassort.bench.gouv.fr",
            "MAIL_FROM": "no-reply@bench.gouv.fr",
            "LOCAL_SECRETS": json.dumps(
                {
                    "link_hmac_key": base64.b64encode(secrets.token_bytes(32)).decode(),
                    "identity_hmac_key": base64.b64encode(secrets.token_bytes(32)).decode(),
                }
            ),
        }
    )
    import boto3
    from joserfc import jwt
    from joserfc.jwk import ECKey
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from local.dynamodb_engine import DynamoEngine
    from local.lambda_adapter import HttpRequest, LambdaContext, build_event
    from local.tables import create_tables, put_roll_record
    from reassort import wiring
    from reassort.adapters.system import SecretHasher
    from reassort.config import get_settings
    from reassort.domain.model import ElectorRecord
    from tests.support.links import token_in

    key = ECKey.generate_key("P-256", parameters={"kid": "bench"})
    os.environ["PORTAL_JWKS"] = json.dumps({"keys": [key.as_dict(private=False)]})
    os.environ["PORTAL_ISSUER"] = "https://portal.bench"
    os.environ["PORTAL_AUDIENCE"] = "reassort"
    wiring.reset()

    emulator = EmulatorClock()
    emulator.install()
    engine = DynamoEngine().start()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = engine.url
    calls = {"n": 0}

    def count_call(**_: Any) -> None:
        calls["n"] += 1

    with mock_aws():
        boto3.setup_default_session()
        boto3._get_default_session().events.register("before-call", count_call)
        settings = get_settings()
        client = boto3.client("dynamodb")
        create_tables(client, settings)
        boto3.client("sesv2").create_email_identity(EmailIdentity="no-reply@bench.gouv.fr")
        hasher = SecretHasher(settings.argon2_profile())
        answer_hash = hasher.hash("reponse")
        numen_hash = hasher.hash("12E3456789ABC")
        count = n + 5
        for i in range(count):
            put_roll_record(
                client,
                settings.electors_table,
                ElectorRecord(
                    f"B{i}",
                    "Élise Bench",
                    f"b{i}@education.gouv.fr",
                    "Q ?",
                    answer_hash,
                    numen_hash,
                    None,
                    answer_hash,
                ),
            )

        from redeem.handler import lambda_handler as redeem_handler
        from request_reassort.handler import lambda_handler as challenge_handler

        def call(handler: Any, path: str, body: dict[str, str], session: str | None = None) -> dict[str, Any]:
            headers = [("content-type", "application/json"), ("host", "bench")]
            if session:
                headers.append(("authorization", f"Bearer {session}"))
            event = build_event(HttpRequest("POST", path, "", headers, json.dumps(body).encode()))
            return handler(event, LambdaContext(function_name="bench", aws_request_id=str(uuid.uuid4())))

        def session(elector_id: str) -> str:
            now = int(time.time())
            claims = {
                "iss": "https://portal.bench",
                "aud": "reassort",
                "sub": elector_id,
                "iat": now,
                "exp": now + 600,
            }
            return jwt.encode({"alg": "ES256", "kid": "bench"}, claims, key)

        body = {
            "answer": "reponse",
            "identifier": "12E3456789ABC",
            "channel": "email",
            "destination": "elise@gmail.com",
        }
        sessions = [session(f"B{i}") for i in range(count)]
        # warm-up: cold start, first boto3 clients, first argon2 allocation
        for i in range(n, count):
            assert call(challenge_handler, "/api/reassort/challenge", body, sessions[i])["statusCode"] == 202
        challenge_times: list[float] = []
        challenge_own: list[float] = []
        challenge_pairs: list[float] = []
        calls_before = calls["n"]
        for i in range(n):
            emulated = emulator.seconds
            start = time.perf_counter()
            result = call(challenge_handler, "/api/reassort/challenge", body, sessions[i])
            elapsed = time.perf_counter() - start
            challenge_times.append(elapsed)
            challenge_own.append(elapsed - (emulator.seconds - emulated))
            assert result["statusCode"] == 202, result
            # The floor right after the request, under the same machine load.
            challenge_pairs.append(elapsed / sum(timed(lambda: hasher.verify(answer_hash, "reponse"), 2)))
        challenge_calls = (calls["n"] - calls_before) / n
        backend = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-3"]
        tokens = [token_in(m.body) for m in backend.sent_messages if "Procéder" in m.subject]
        for token in tokens[n : n + 2]:
            call(redeem_handler, "/api/links/redeem", {"token": token})
        redeem_times: list[float] = []
        redeem_own: list[float] = []
        redeem_pairs: list[float] = []
        calls_before = calls["n"]
        for token in tokens[:n]:
            emulated = emulator.seconds
            start = time.perf_counter()
            result = call(redeem_handler, "/api/links/redeem", {"token": token})
            elapsed = time.perf_counter() - start
            redeem_times.append(elapsed)
            redeem_own.append(elapsed - (emulator.seconds - emulated))
            assert result["statusCode"] == 200, result
            redeem_pairs.append(elapsed / timed(lambda: hasher.hash("Ab3!Cd4$Ef5%"), 1)[0])
        redeem_calls = (calls["n"] - calls_before) / n

        verify_times = timed(lambda: hasher.verify(answer_hash, "reponse"), 2 * n)
        hash_times = timed(lambda: hasher.hash("Ab3!Cd4$Ef5%"), n)

    engine.stop()
    challenge_floor = 2 * statistics.median(verify_times)
    redeem_floor = statistics.median(hash_times)
    return {
        "argon2_profile": f"m={settings.argon2_memory_kib} KiB, t={settings.argon2_time_cost}, p={settings.argon2_parallelism}",
        "argon2_verify": summary(verify_times),
        "argon2_hash": summary(hash_times),
        "challenge": {
            **route_figures(challenge_times, challenge_own, challenge_floor),
            "paired_ratio_median": statistics.median(challenge_pairs),
            "aws_calls": challenge_calls,
        },
        "redeem": {
            **route_figures(redeem_times, redeem_own, redeem_floor),
            "paired_ratio_median": statistics.median(redeem_pairs),
            "aws_calls": redeem_calls,
        },
    }


def bench_imports(repeats: int) -> dict[str, Any]:
    baseline = import_seconds("import boto3", repeats)
    out: dict[str, Any] = {"boto3_ms": baseline * 1000}
    for module in ("request_reassort.handler", "redeem.handler", "fc_callback.handler"):
        seconds = import_seconds(f"import {module}", repeats)
        out[module] = {"ms": seconds * 1000, "ratio_to_boto3": seconds / baseline}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=40, help="timed requests per route")
    parser.add_argument("--import-repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = {"requests": bench_requests(args.requests), "imports": bench_imports(args.import_repeats)}
    text = json.dumps(figures, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
