"""HTTP request → API Gateway HTTP API (payload 2.0) event → Lambda handler → HTTP response.

The local server calls the real handlers in-process with the same event shape API Gateway sends,
so the local stack exercises the production code path and no route is implemented twice.
"""

from __future__ import annotations

import base64
import importlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

Handler = Callable[[dict[str, Any], Any], Any]

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
    """Routes `/api/*` requests to the Lambda handlers, one invocation at a time per function.

    Lambda runs one event per execution environment; the lock keeps the handlers' module-level
    singletons (resolver, logger, cached wiring) used the same way here. Per function and per
    route, `stats()` counts the invocations, the seconds spent inside the handler (the lock
    held, like Lambda's Duration) and the CPU seconds of the invoking thread (what the function
    itself burns: the AWS services it calls run on moto's threads and are not counted).
    """

    def __init__(self, routes: Iterable[tuple[str, str, str]] = ROUTES) -> None:
        self._routes = tuple(routes)
        self._handlers: dict[str, Handler] = {}
        self._locks: dict[str, threading.Lock] = {module: threading.Lock() for _, module, _ in self._routes}
        self._import_lock = threading.Lock()
        self._stats: dict[str, list[float]] = {name: [0, 0.0, 0.0] for _, _, name in self._routes}
        self._route_stats: dict[str, list[float]] = {}

    def route_for(self, path: str) -> tuple[str, str] | None:
        for prefix, module, function_name in self._routes:
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return module, function_name
        return None

    def _load(self, module: str) -> Handler:
        with self._import_lock:
            if module not in self._handlers:
                # Imported on first use, as a cold start would.
                self._handlers[module] = importlib.import_module(module).lambda_handler
            return self._handlers[module]

    def handle(self, request: HttpRequest) -> HttpResponse:
        target = self.route_for(request.path)
        if target is None:
            return error_response(404, "NOT_FOUND", "La ressource demandée n'existe pas.")
        module, function_name = target
        try:
            handler = self._load(module)
        except ImportError:
            return error_response(
                503,
                "SERVICE_UNAVAILABLE",
                "Le service est momentanément indisponible. Veuillez réessayer dans quelques minutes.",
            )
        request_id = uuid.uuid4().hex
        event = build_event(request, request_id)
        context = LambdaContext(
            function_name=f"reassort-local-{function_name}",
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/reassort-local-{function_name}",
            deadline_ms=int(time.time() * 1000) + 29_000,
        )
        route = f"{request.method.upper()} {request.path}"
        with self._locks[module]:
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                result = handler(event, context)
            finally:
                busy, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
                for counters in (
                    self._stats[function_name],
                    self._route_stats.setdefault(route, [0, 0.0, 0.0]),
                ):
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

        return {"functions": as_dict(self._stats), "routes": as_dict(self._route_stats)}
