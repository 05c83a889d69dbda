"""The supervision CLIs against the real local stack, started as `make dev` starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LocalStackProcess:
    base_url: str
    moto_url: str
    dynamodb_url: str
    electors: list[dict[str, Any]]
    process: subprocess.Popen[bytes]

    def request(self, method: str, path: str, body: Any = None, opener: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.base_url + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        try:
            with (opener or urllib.request.build_opener()).open(request, timeout=30) as answer:
                text = answer.read().decode()
                status = answer.status
        except urllib.error.HTTPError as error:
            text, status = error.read().decode(), error.code
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def challenge(self, elector: dict[str, Any], answer: str) -> int:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        status, _ = self.request(
            "POST",
            "/local/login",
            {"elector_id": elector["elector_id"], "password": elector["password"]},
            opener,
        )
        assert status == 200
        status, _ = self.request(
            "POST",
            "/api/reassort/challenge",
            {
                "answer": answer,
                "identifier": elector["numen"] or elector["nir10"],
                "channel": "email",
                "destination": "repetition.bureau@gmail.com",
            },
            opener,
        )
        return status


def _start(tmp: Path, extra_env: dict[str, str]) -> LocalStackProcess:
    ready = tmp / "ready.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra_env}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "STAGE"):
        env.pop(name, None)
    log = (tmp / "stack.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", "0", "--quiet", "--ready-file", str(ready)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not ready.is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(
                f"local stack did not start:\n{(tmp / 'stack.log').read_text(errors='replace')[-3000:]}"
            )
        time.sleep(0.1)
    summary = json.loads(ready.read_text(encoding="utf-8"))
    return LocalStackProcess(
        summary["base_url"], summary["moto_url"], summary["dynamodb_url"], summary["electors"], process
    )


def _stop(stack: LocalStackProcess) -> None:
    stack.process.send_signal(signal.SIGINT)
    try:
        stack.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        stack.process.kill()


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    stack = _start(tmp_path_factory.mktemp("stack"), {})
    yield stack
    _stop(stack)


@pytest.fixture
def start_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[dict[str, str]], LocalStackProcess]]:
    started: list[LocalStackProcess] = []

    def start(env: dict[str, str]) -> LocalStackProcess:
        started.append(_start(tmp_path_factory.mktemp("stack"), env))
        return started[-1]

    yield start
    for stack in started:
        _stop(stack)
