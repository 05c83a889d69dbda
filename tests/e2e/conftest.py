"""Browser tests: the local stack in a subprocess, Debian's Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import BUILD, CHROMIUM, CHROMIUM_FLAGS, DISPLAY_SECONDS, ROOT, BrowserPage, Stack


def _ensure_web_assets() -> None:
    """Render the pages from the current templates (the stack renders them too) and copy DSFR."""
    subprocess.run([sys.executable, "-m", "local.web_assets"], cwd=ROOT, check=True)


PARALLEL_ROLL = BUILD / "e2e-parallel-roll.csv"
PARALLEL_SECRETS = BUILD / "e2e-parallel-secrets.csv"


def _parallel_roll() -> None:
    """Electors of their own for the parallel HTTP tests (they lock and spend quotas)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.synthetic_roll",
            "--count",
            "40",
            "--pool",
            "2",
            "--prefix",
            "P",
            "--out",
            str(PARALLEL_ROLL),
            "--secrets",
            str(PARALLEL_SECRETS),
            "--argon2-memory-kib",
            "1024",
            "--argon2-time-cost",
            "1",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """One local stack for the whole session, on a free port, showing new codes for 3 s, every
    AWS call of its functions checked against their synthesized IAM policies."""
    from infra.policy_export import DEFAULT_OUT, load_or_synthesize

    if not (ROOT / "node_modules" / "@gouvfr" / "dsfr").is_dir():
        pytest.fail("node_modules is missing: run `make node` (npm ci --ignore-scripts)")
    _ensure_web_assets()
    BUILD.mkdir(exist_ok=True)
    load_or_synthesize(DEFAULT_OUT)
    denials = BUILD / "e2e-iam-denials.txt"
    denials.unlink(missing_ok=True)
    _parallel_roll()
    ready = BUILD / "e2e-stack.json"
    ready.unlink(missing_ok=True)
    log_path = BUILD / "e2e-stack.log"
    env = {
        **os.environ,
        "CODE_DISPLAY_SECONDS": str(DISPLAY_SECONDS),
        "PYTHONUNBUFFERED": "1",
        "LOCAL_IAM_POLICIES": str(DEFAULT_OUT),
        "LOCAL_IAM_DENIALS": str(denials),
    }
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "LINK_TTL_SECONDS", "STAGE"):
        env.pop(name, None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local",
                "--port",
                "0",
                "--ready-file",
                str(ready),
                "--workers-per-function",
                "4",
                "--roll",
                str(PARALLEL_ROLL),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while not ready.is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"local stack did not start:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)
    summary = json.loads(ready.read_text(encoding="utf-8"))
    stack = Stack(
        base_url=summary["base_url"],
        electors={e["elector_id"]: e for e in summary["electors"]},
        process=process,
        log_path=log_path,
    )
    yield stack
    # Ctrl-C must stop everything cleanly.
    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("local stack did not stop on SIGINT")
    assert code == 0, log_path.read_text(errors="replace")[-4000:]
    refused = denials.read_text(encoding="utf-8") if denials.is_file() else ""
    assert not refused, f"AWS would refuse these calls of the functions:\n{refused}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not executable:
        pytest.fail("Chromium is missing: run `make chromium` (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def web(browser: Any, stack: Stack) -> Iterator[BrowserPage]:
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    wrapper = BrowserPage(page=page, stack=stack)

    def on_console(message: Any) -> None:
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
            wrapper.problems.append(text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: wrapper.problems.append(f"page error: {error}"))
    yield wrapper
    context.close()
    assert not wrapper.problems, wrapper.problems
