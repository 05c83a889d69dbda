"""`make smoke` runs against the local stack too, so it cannot rot.

The stack runs in its own process (as `make dev` does): its in-process moto backends and outbox
stay apart from the other tests'."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.demo_roll import DEMO_ELECTORS
from tools import smoke

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("smoke-stack")
    ready, log_path = folder / "ready.json", folder / "stack.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "LINK_TTL_SECONDS", "STAGE"):
        env.pop(name, None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", "0", "--ready-file", str(ready)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    started = time.monotonic()
    while not ready.is_file():
        if process.poll() is not None or time.monotonic() - started > 90:
            process.kill()
            pytest.fail(f"local stack did not start:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)
    yield json.loads(ready.read_text(encoding="utf-8"))["base_url"]
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def _portal_session(base_url: str, elector_id: str) -> str:
    """Log in on the local demonstration portal, as an operator would on the real one."""
    response = requests.post(
        f"{base_url}/local/login",
        json={"elector_id": elector_id, "password": f"demo-{elector_id}"},
        timeout=15,
    )
    assert response.status_code < 400, response.text
    token = response.cookies.get("portal_session")
    assert token, "the local portal set no session cookie"
    return token


def _args(base_url: str, elector: Any, answer: str, burst: int) -> Any:
    return smoke.parser().parse_args(
        [
            base_url,
            "--session",
            _portal_session(base_url, elector.elector_id),
            "--answer",
            answer,
            "--identifier",
            elector.numen or elector.nir10 or "",
            "--burst",
            str(burst),
        ]
    )


def test_given_the_local_stack_when_smoke_tested_then_every_check_passes(local_stack: str) -> None:
    elector = DEMO_ELECTORS[0]

    results = smoke.run(_args(local_stack, elector, elector.answer or "", 12))

    assert [(c.name, c.ok) for c in results] == [
        ("pages", True),
        ("api-contract", True),
        ("journey", True),
        ("burst", True),
    ], results
    assert "12 x 401 UNAUTHENTICATED" in results[-1].detail


def test_given_a_wrong_answer_when_smoke_tested_then_the_journey_check_fails(local_stack: str) -> None:
    elector = DEMO_ELECTORS[1]

    results = {c.name: c for c in smoke.run(_args(local_stack, elector, "not the answer", 0))}

    assert results["pages"].ok and results["api-contract"].ok
    assert not results["journey"].ok and "WRONG_CREDENTIALS" in results["journey"].detail
