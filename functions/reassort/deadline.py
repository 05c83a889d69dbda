"""One deadline per request, derived from the time Lambda has left, read by every adapter.

A request may call DynamoDB, Secrets Manager, SES or SNS and FranceConnect several times, each
with its own retries. Fixed per-call timeouts cannot add up to less than the function timeout, so
each request gets one deadline (`start` / `bounded`): an AWS client built by `aws_client` refuses
to start an attempt that could not finish before it, and an HTTP call asks `http_timeout` for a
timeout no longer than the time left. Lambda therefore never kills a request in the middle of a
call: the request ends with a clean 503 (`DeadlineExceeded`) instead, after the code that called
the adapter had the chance to undo what it started (revoking a link whose send failed).

Outside a request (tests, tools, the roll import) there is no deadline and nothing is refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .domain.errors import ServiceUnavailable

# HTTP API answers 503 itself after 30 s: a longer Lambda would work for nobody.
API_GATEWAY_LIMIT_SECONDS = 29.0
# Kept back from the Lambda timeout to build the answer and flush logs and metrics, and to absorb
# one SDK back-off sleep (at most 2 s for 3 attempts) that starts just before the deadline.
SAFETY_SECONDS = 2.5
# An HTTP call is not worth starting with less than this.
MIN_HTTP_TIMEOUT_SECONDS = 0.5

# Per-attempt bounds of the AWS clients. DynamoDB answers in milliseconds; SES and SNS in a few
# hundred. One attempt at worst costs connect + read.
DYNAMODB_TIMEOUTS = (1.0, 2.0)
SEND_TIMEOUTS = (1.0, 3.0)
SECRETS_TIMEOUTS = (1.0, 3.0)

Monotonic = Callable[[], float]

_monotonic: Monotonic = time.monotonic
_ends_at: ContextVar[float | None] = ContextVar("reassort_deadline", default=None)


# Issuing a link commits the request to sending it, or to revoking it if the send fails: it is
# refused unless the time left covers one attempt of each (the write, the send, the revoke).
LINK_ISSUE_RESERVE_SECONDS = 2 * sum(DYNAMODB_TIMEOUTS) + sum(SEND_TIMEOUTS)


class DeadlineExceeded(ServiceUnavailable):
    """The request has no time left for the call it was about to make."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what  # which call was refused (for logs: never personal data)


def set_clock(clock: Monotonic) -> None:
    """Tests replace the monotonic clock to reach the deadline without waiting for it."""
    global _monotonic
    _monotonic = clock


def budget_for(remaining_ms: int | None) -> float:
    """Seconds a request may spend on calls, from Lambda's remaining time (None: API Gateway's)."""
    remaining = API_GATEWAY_LIMIT_SECONDS if remaining_ms is None else remaining_ms / 1000
    return max(0.0, min(remaining, API_GATEWAY_LIMIT_SECONDS) - SAFETY_SECONDS)


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Run the body under a deadline `seconds` from now (nested deadlines keep the earlier one)."""
    ends_at = _monotonic() + seconds
    outer = _ends_at.get()
    token = _ends_at.set(ends_at if outer is None else min(outer, ends_at))
    try:
        yield
    finally:
        _ends_at.reset(token)


@contextmanager
def for_lambda(context: Any) -> Iterator[None]:
    """The deadline of one invocation. A context that tells no remaining time (none, or 0 as the
    local adapter and Powertools' typing stub report) is bounded by API Gateway's 29 s alone."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    remaining_ms = remaining() if callable(remaining) else None
    if not remaining_ms:
        remaining_ms = None
    with bounded(budget_for(remaining_ms)):
        yield


def remaining() -> float:
    """Seconds left before the deadline (infinity outside a request)."""
    ends_at = _ends_at.get()
    return math.inf if ends_at is None else ends_at - _monotonic()


def require(seconds: float, what: str) -> None:
    """Refuse (DeadlineExceeded) unless `seconds` are left for `what`."""
    if remaining() < seconds:
        raise DeadlineExceeded(what)


def http_timeout(preferred: float, what: str) -> float:
    """A timeout for one HTTP call: `preferred`, shortened to the time left; refused below 0.5 s."""
    left = remaining()
    if left < MIN_HTTP_TIMEOUT_SECONDS:
        raise DeadlineExceeded(what)
    return min(preferred, left)


def client_config(timeouts: tuple[float, float], attempts: int) -> Any:
    from botocore.config import Config

    connect, read = timeouts
    return Config(
        connect_timeout=connect,
        read_timeout=read,
        retries={"mode": "standard", "total_max_attempts": attempts},
    )


def guard_client(client: Any, attempt_seconds: float) -> Any:
    """Make `client` refuse, before every attempt (retries included), what cannot finish in time."""
    service = client.meta.service_model.service_id.hyphenize()

    def _before_send(request: Any = None, **_: Any) -> None:
        require(attempt_seconds, service)

    client.meta.events.register(f"before-send.{service}", _before_send, unique_id="reassort-deadline")
    return client


def aws_client(service: str, timeouts: tuple[float, float], attempts: int = 3, **kwargs: Any) -> Any:
    """A boto3 client with bounded attempts, that never starts an attempt past the deadline."""
    import boto3

    client = boto3.client(service, config=client_config(timeouts, attempts), **kwargs)  # type: ignore[call-overload]
    return guard_client(client, sum(timeouts))
