"""Schemathesis against the local stack, through its public base URL only: every route of
docs/openapi.json, with a portal session, for a bounded time. No 5xx, no answer outside the
document (status, headers, body schema, content type).

`FUZZ_SECONDS` (default 60) sets the budget; see docs/testing.md for a longer run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "openapi.json"
BUILD = ROOT / "build"
FUZZ_SECONDS = int(os.environ.get("FUZZ_SECONDS", "60"))
# Every check schemathesis has, except those whose premise this API refuses on purpose:
# - positive_data_acceptance: a well-formed answer to the challenge is still a wrong answer (403),
#   and a well-formed token is still an unknown link (410);
# - use_after_free / ensure_resource_availability: the API creates no resource it could delete.
SCHEMATHESIS_CONFIG = """\
[auth.openapi.portalSession]
api_key = "${PORTAL_SESSION}"

# The browser navigates the FranceConnect routes: invalid input is answered, on purpose, by a
# redirect to a French page (302), never by a 4xx the elector would see raw.
[[operations]]
include-path-regex = "^/api/fc/"
checks.negative_data_rejection.expected-statuses = ["302"]
"""
EXCLUDED_CHECKS = ("positive_data_acceptance", "use_after_free", "ensure_resource_availability")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    from local.stack import LocalStack
    from reassort import wiring

    # The stack configures this process (environment, clock): the tests after it must not see it.
    saved, clock = dict(os.environ), wiring.SystemClock
    stack = LocalStack(port=0).start()
    try:
        yield stack.base_url
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        wiring.SystemClock = clock  # type: ignore[misc]
        wiring.reset()


def portal_session(base_url: str) -> str:
    """Log in on the demonstration portal, as a browser would, and keep its session cookie."""
    demo = requests.get(f"{base_url}/local/demo.json", timeout=10).json()
    elector = demo["electors"][0]
    reply = requests.post(
        f"{base_url}/local/login",
        json={"elector_id": elector["elector_id"], "password": elector["password"]},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return str(reply.cookies["portal_session"])


def test_given_the_local_stack_when_fuzzed_from_the_openapi_document_then_no_5xx_and_no_answer_outside_it(
    base_url: str,
) -> None:
    BUILD.mkdir(exist_ok=True)
    report = BUILD / "schemathesis"
    shutil.rmtree(report, ignore_errors=True)
    # The session goes through the document's own security scheme (a cookie), so schemathesis
    # also checks that the routes needing it refuse a request without it.
    config = BUILD / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG, encoding="utf-8")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        str(SCHEMA),
        "--url",
        base_url,
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--max-time",
        str(FUZZ_SECONDS),
        "--max-redirects",
        "0",
        "--request-timeout",
        "10",
        "--workers",
        "2",
        "--report",
        "junit",
        "--report-dir",
        str(report),
        "--no-color",
        "--seed",
        os.environ.get("FUZZ_SEED", "1"),
    ]
    env = {**os.environ, "PORTAL_SESSION": portal_session(base_url)}
    run = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=FUZZ_SECONDS + 120
    )
    output = run.stdout + run.stderr
    (BUILD / "schemathesis.log").write_text(output, encoding="utf-8")
    assert run.returncode == 0, output[-6000:]
    # Every operation of the document was exercised, none failed.
    suite = ElementTree.parse(next(report.glob("junit-*.xml"))).getroot()  # noqa: S314 (our own report)
    tested = {case.get("name") for case in suite.iter("testcase")}
    documented = {
        f"{method.upper()} {path}"
        for path, operations in json.loads(SCHEMA.read_text(encoding="utf-8"))["paths"].items()
        for method in operations
    }
    assert tested == documented
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    generated = re.search(r"(\d+) generated", output)
    assert generated and int(generated.group(1)) >= 100, output[-2000:]
