"""One execution environment of a function in the local stack: a worker process that imports the
handler once and runs one event at a time, as a Lambda container does.

Set up by `initialise` (the pool's initializer): the Lambda code asset on `sys.path`, the
stack's shiftable clock, and, when `LOCAL_IAM_POLICIES` names the synthesized policies
(`infra/policy_export.py`), the IAM check of every AWS call the function makes: a denied call
answers AccessDenied as in AWS, is logged and is appended to `LOCAL_IAM_DENIALS` for the tests.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_handler: Any = None
_module = ""
log = logging.getLogger("local.function")


class SharedClock:
    """The stack's clock: wall time plus the offset set from `/local/clock`, shared by every
    worker through a `multiprocessing.Value`."""

    def __init__(self, offset: Any) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + float(self.offset.value)


def initialise(module: str, setup: dict[str, Any]) -> None:
    global _handler, _module
    # Ctrl-C reaches the whole process group: the stack stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for path in (ROOT / "functions", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    policies = os.environ.get("LOCAL_IAM_POLICIES")
    if policies:
        import boto3

        from local.iam_guard import IamGuard

        guard = IamGuard.from_file(Path(policies), fixed_function=module.partition(".")[0])
        boto3.setup_default_session()
        guard.install(boto3.DEFAULT_SESSION)
        guard.on_denial = _report_denial
    from reassort import wiring

    offset = setup.get("clock_offset")
    if offset is not None:
        wiring.use_clock(SharedClock(offset))
    _module = module
    _handler = importlib.import_module(module).lambda_handler


def _report_denial(message: str) -> None:
    log.error("IAM would deny: %s", message)
    target = os.environ.get("LOCAL_IAM_DENIALS")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(message + "\n")


def ping() -> str:
    return _module


def invoke(event: dict[str, Any], context: Any) -> tuple[Any, float]:
    """Run one event; returns the handler's result and the CPU seconds it took."""
    started = time.process_time()
    result = _handler(event, context)
    return result, time.process_time() - started
