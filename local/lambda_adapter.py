"""HTTP request → API Gateway HTTP API (payload 2.0) event → Lambda handler → HTTP response.

The local server calls the real handlers in-process with the same event shape API Gateway sends,
so the local stack exercises the production code path and no route is implemented twice.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

# Route prefix → Lambda handler, as the HTTP API's routes integrate them.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("/api/reassort/", "request_reassort.handler", "request-reassort"),
    ("/api/links/", "redeem.handler", "redeem"),
    ("/api/fc/", "fc_callback.handler", "fc-callback"),
)

# Content types API Gateway passes through as text; anything else arrives base64-encoded.
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/javascript",
    "application/jwt",
)


@dataclass
class HttpRequest:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that Powertools and handlers read."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    deadline_ms: int = 0

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-3:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def _is_text(content_type: str) -> bool:
    ct = content_type.split(";", 1)[0].strip().lower()
    return not ct or ct.startswith(_TEXT_TYPES) or ct.endswith(("+json", "+xml"))


def build_event(request: HttpRequest, request_id: str | None = None) -> dict[str, Any]:
    """The HTTP API payload 2.0 event for one request (route `$default`, stage `$default`)."""
    request_id = request_id or uuid.uuid4().hex
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lname = name.lower()
        if lname == "cookie":
            # Payload 2.0 moves cookies out of the headers into their own array.
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lname] = f"{headers[lname]},{value}" if lname in headers else value
    host = headers.get("host", "127.0.0.1")
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1] if ":" in host else "80")

    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": request.method.upper(),
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if request.query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(request.query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    if request.body:
        if _is_text(headers.get("content-type", "")):
            try:
                event["body"] = request.body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(request.body).decode("ascii")
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def map_result(result: Any) -> HttpResponse:
    """The HTTP response API Gateway builds from a payload 2.0 Lambda result."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Without statusCode, API Gateway treats the whole result as a JSON 200 body.
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("content-type", "application/json")], text.encode("utf-8"))
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((name.lower(), str(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name.lower(), str(v)) for v in values)
    headers.extend(("set-cookie", c) for c in result.get("cookies") or [])
    raw = result.get("body")
    body: bytes
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = str(raw).encode("utf-8")
    return HttpResponse(int(result["statusCode"]), headers, body)


def error_response(status: int, code: str, message: str) -> HttpResponse:
    body = json.dumps({"code": code, "message": message}, ensure_ascii=False).encode("utf-8")
    return HttpResponse(status, [("content-type", "application/json; charset=utf-8")], body)


class LambdaRouter:
    """Routes `/api/*` requests to the Lambda handlers, each function in its own pool of worker
    processes (`local/function_worker.py`).

    Like Lambda, each worker process (an execution environment) runs one event at a time, keeps
    its module-level singletons between events and is started on first need (a cold start);
    several run at once, so concurrent requests reach DynamoDB concurrently as in AWS. Per
    function and per route, `stats()` counts the invocations, the seconds an invocation took
    (like Lambda's Duration, seen from here) and the CPU seconds the worker process spent on it
    (what the function itself burns: the AWS services it calls run in other processes).
    """

    def __init__(
        self,
        routes: Iterable[tuple[str, str, str]] = ROUTES,
        *,
        workers_per_function: int = 2,
        worker_setup: dict[str, Any] | None = None,
    ) -> None:
        self._routes = tuple(routes)
        self._workers = max(1, workers_per_function)
        self._setup = dict(worker_setup or {})
        self._pools: dict[str, Any] = {}
        self._pool_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._stats: dict[str, list[float]] = {name: [0, 0.0, 0.0] for _, _, name in self._routes}
        self._route_stats: dict[str, list[float]] = {}

    def route_for(self, path: str) -> tuple[str, str] | None:
        for prefix, module, function_name in self._routes:
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return module, function_name
        return None

    def _pool(self, module: str) -> Any:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        from local.function_worker import initialise

        with self._pool_lock:
            if module not in self._pools:
                # spawn, not fork: the parent runs threads (moto, the HTTP server).
                self._pools[module] = ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=get_context("spawn"),
                    initializer=initialise,
                    initargs=(module, self._setup),
                )
            return self._pools[module]

    def warm(self) -> None:
        """Start one execution environment per function now rather than on the first request."""
        from local.function_worker import ping

        futures = [self._pool(module).submit(ping) for _, module, _ in self._routes]
        for future in futures:
            future.result(timeout=120)

    def handle(self, request: HttpRequest) -> HttpResponse:
        from local.function_worker import invoke

        target = self.route_for(request.path)
        if target is None:
            return error_response(404, "NOT_FOUND", "La ressource demandée n'existe pas.")
        module, function_name = target
        request_id = uuid.uuid4().hex
        event = build_event(request, request_id)
        context = LambdaContext(
            function_name=f"reassort-local-{function_name}",
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/reassort-local-{function_name}",
            deadline_ms=int(time.time() * 1000) + 29_000,
        )
        route = f"{request.method.upper()} {request.path}"
        started = time.perf_counter()
        pool = self._pool(module)
        try:
            result, cpu = pool.submit(invoke, event, context).result()
        except BrokenProcessPool:
            # The function failed to initialise or its environment died: API Gateway answers
            # 503 and Lambda starts a fresh environment for the next request.
            with self._pool_lock:
                if self._pools.get(module) is pool:
                    del self._pools[module]
            pool.shutdown(wait=False, cancel_futures=True)
            return error_response(
                503, "SERVICE_UNAVAILABLE", "Ce service n'est pas disponible pour le moment."
            )
        busy = time.perf_counter() - started
        with self._stats_lock:
            for counters in (self._stats[function_name], self._route_stats.setdefault(route, [0, 0.0, 0.0])):
                counters[0] += 1
                counters[1] += busy
                counters[2] += cpu
        return map_result(result)

    def stats(self) -> dict[str, dict[str, dict[str, float]]]:
        """Invocations, busy seconds and CPU seconds per function and per route since the start."""

        def as_dict(counters: dict[str, list[float]]) -> dict[str, dict[str, float]]:
            return {
                name: {"invocations": int(n), "busy_seconds": round(busy, 6), "cpu_seconds": round(cpu, 6)}
                for name, (n, busy, cpu) in list(counters.items())
            }

        with self._stats_lock:
            return {"functions": as_dict(self._stats), "routes": as_dict(self._route_stats)}

    def stop(self) -> None:
        with self._pool_lock:
            pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
