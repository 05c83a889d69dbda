"""What the three HTTP handlers share: observability singletons, the resolver, errors, auth."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import traceback
from collections.abc import Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field

from . import deadline, origin, snapstart
from .domain.errors import (
    CrossOriginRefused,
    FieldCode,
    FieldProblem,
    InvalidFields,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ReassortError,
    ServiceUnavailable,
    UnsupportedMediaType,
)

# The AWS SDK and the event handler log whole requests (recipients, answers, tokens) at DEBUG:
# never let a debug setting reach them.
for _noisy in ("boto3", "botocore", "urllib3", "s3transfer", "aws_lambda_powertools"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

snapstart.register()

logger = Logger(service="reassort")
metrics = Metrics(namespace="Reassort", service="reassort")

SESSION_COOKIE = "portal_session"
# API answers carry personal outcomes (and once a vote code): nothing may be cached or sniffed.
API_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# pydantic's error kinds → the project's own field codes (docs/errors.md) and French messages.
_FIELD_CODES: dict[str, tuple[str, str]] = {
    "missing": (FieldCode.REQUIRED, "Ce champ est obligatoire."),
    "string_too_short": (FieldCode.REQUIRED, "Ce champ est obligatoire."),
    "string_too_long": (FieldCode.TOO_LONG, "Ce champ est trop long."),
    "enum": (FieldCode.CHANNEL_INVALID, "Choisissez l'envoi par SMS ou par E-MAIL."),
    "literal_error": (FieldCode.CHANNEL_INVALID, "Choisissez l'envoi par SMS ou par E-MAIL."),
    "string_type": (FieldCode.NOT_TEXT, "Ce champ doit être un texte."),
    "string_unicode": (FieldCode.TEXT_INVALID, "Ce champ contient des caractères invalides."),
}
_VALUE_INVALID = (FieldCode.VALUE_INVALID, "Valeur invalide.")

# Bodies of this API are a few hundred bytes; API Gateway would accept 10 MB.
MAX_BODY_BYTES = 16 * 1024
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Bodies of this API are one flat object; deeper nesting is refused before parsing.
MAX_JSON_DEPTH = 8
_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
# Sec-Fetch-Site values of a request a page of this site (or the elector, typing) made.
_SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})

FaultPage = Callable[[ReassortError], Response]


class FieldError(BaseModel):
    name: str = Field(description="The request field (`body` for the whole request)")
    code: str = Field(description="Stable field code (docs/errors.md)")
    message: str = Field(description="French message shown next to the field")


class ErrorBody(BaseModel):
    """Every refusal: a stable code, a French message and, for some codes, details."""

    code: str = Field(description="Stable machine code (docs/errors.md)")
    message: str = Field(description="French message for the elector")
    fields: list[FieldError] | None = Field(None, description="INVALID_FIELDS, PROFESSIONAL_ADDRESS_REFUSED")
    remaining_attempts: int | None = Field(None, description="WRONG_CREDENTIALS")
    locked_until: str | None = Field(None, description="ACCOUNT_LOCKED, Europe/Paris ISO 8601")
    retry_after_seconds: int | None = Field(None, description="QUOTA_EXCEEDED, SEND_FAILED")
    opens_at: str | None = Field(None, description="ELECTION_CLOSED, Europe/Paris ISO 8601")
    closes_at: str | None = Field(None, description="ELECTION_CLOSED, Europe/Paris ISO 8601")


# Refusals every state-changing route may answer before its own rules run.
BODY_ERRORS: tuple[type[ReassortError], ...] = (
    MalformedRequest,
    CrossOriginRefused,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidFields,
)


def success_response(status: int, model: type[BaseModel], description: str) -> dict[int, OpenAPIResponse]:
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}


def error_responses(*errors: type[ReassortError]) -> dict[int, OpenAPIResponse]:
    """The documented error answers of a route, one entry per status, naming its codes."""
    by_status: dict[int, list[str]] = {}
    listed: tuple[type[ReassortError], ...] = (*errors, ServiceUnavailable)
    for error in listed:
        codes = by_status.setdefault(error.status, [])
        if error.code not in codes:
            codes.append(error.code)
    out: dict[int, OpenAPIResponse] = {}
    for status, codes in sorted(by_status.items()):
        response: OpenAPIResponse = {
            "description": "Refused: " + ", ".join(f"`{c}`" for c in codes) + " (docs/errors.md)",
            "content": {"application/json": {"model": ErrorBody}},
        }
        if status in (429, 503):
            response["headers"] = {
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
            }
        out[status] = response
    return out


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json; charset=utf-8",
        body=body,
        headers={**API_HEADERS, **(headers or {})},
    )


def _error_headers(error: ReassortError) -> dict[str, str]:
    headers = error.headers()
    retry = error.extras().get("retry_after_seconds")
    if retry:
        headers["Retry-After"] = str(retry)
    return headers


def error_response(error: ReassortError) -> Response:
    return json_response(error.status, error.body(), _error_headers(error))


def _field_problems(exc: RequestValidationError) -> list[FieldProblem]:
    problems: dict[str, FieldProblem] = {}
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        name = loc[0] if loc else "body"
        code, message = _FIELD_CODES.get(str(err.get("type", "")), _VALUE_INVALID)
        problems.setdefault(name, FieldProblem(name, code, message))
    return list(problems.values())


class ReassortResolver(APIGatewayHttpResolver):
    """The Powertools resolver, with the checks every request passes before any route runs.

    In order: an unknown path is 404, a known path with another method 405 (with ``Allow``); a
    state-changing request must come from this site (``Sec-Fetch-Site`` / ``Origin``), say
    ``application/json`` and carry a body that is UTF-8 JSON object of reasonable size. Whatever
    a client sends, the answer is a documented 4xx, never the catch-all 503.
    """

    def __init__(self, fault_page: FaultPage | None = None) -> None:
        # A response that breaks its own schema is our fault: the code only makes Powertools raise
        # ResponseValidationError (instead of a 422 blaming the client), which the handler in
        # build_resolver answers 503 SERVICE_UNAVAILABLE. The 500 Powertools documents for it
        # is never sent: tools/openapi.py removes it.
        super().__init__(enable_validation=True, response_validation_error_http_code=500)
        self.fault_page = fault_page

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        try:
            self._screen(event)
        except ReassortError as refusal:
            logger.info("refused", extra={"error_code": refusal.code, "status": refusal.status})
            return _raw_json(refusal)
        return super().resolve(event, context)

    def allowed_methods(self, path: str) -> list[str]:
        routes = self._static_routes + self._dynamic_routes
        return sorted({route.method.upper() for route in routes if route.rule.match(path)})

    def _screen(self, event: Mapping[str, Any]) -> None:
        http = (event.get("requestContext") or {}).get("http") or {}
        method = str(http.get("method") or "").upper()
        path = str(event.get("rawPath") or http.get("path") or "/")
        allowed = self.allowed_methods(path)
        if not allowed:
            return  # the resolver answers NOT_FOUND
        if method not in allowed:
            raise MethodNotAllowed(allowed)
        if method not in STATE_CHANGING_METHODS:
            return
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        _refuse_cross_origin(headers)
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise UnsupportedMediaType()
        _check_body(event.get("body"), bool(event.get("isBase64Encoded")))


def _refuse_cross_origin(headers: dict[str, str]) -> None:
    """Browsers say where a request comes from; non-browser clients cannot ride a session."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site.strip().lower() not in _SAME_ORIGIN_FETCH:
            raise CrossOriginRefused()
        return
    origin = headers.get("origin")
    if origin is not None and origin.strip().lower() != _public_origin():
        raise CrossOriginRefused()


def _public_origin() -> str:
    from .config import get_settings

    parts = urlsplit(get_settings().public_base_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _check_body(body: Any, is_base64: bool) -> None:
    raw: bytes
    if body is None:
        raw = b""
    elif is_base64:
        try:
            raw = base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedRequest() from exc
    else:
        raw = str(body).encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    try:
        text = raw.decode("utf-8")
        if _nesting(text) > MAX_JSON_DEPTH:
            raise MalformedRequest()
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedRequest() from exc
    if not isinstance(document, dict):
        raise MalformedRequest()


def _nesting(text: str) -> int:
    """How deep arrays and objects nest, strings left out: the parser's own limit depends on the
    call stack, this one does not."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _raw_json(error: ReassortError) -> dict[str, Any]:
    """The Lambda result of a refusal made before the resolver runs."""
    return {
        "statusCode": error.status,
        "headers": {
            **API_HEADERS,
            **_error_headers(error),
            "Content-Type": "application/json; charset=utf-8",
        },
        "body": json.dumps(error.body(), ensure_ascii=False),
        "isBase64Encoded": False,
        "cookies": [],
    }


def build_resolver(fault_page: FaultPage | None = None) -> ReassortResolver:
    """One resolver per function. With ``fault_page`` (routes a browser navigates), every
    refusal and fault is answered by that page instead of a JSON body."""
    app = ReassortResolver(fault_page)
    app.use(middlewares=[_within_deadline, _through_cloudfront])

    def answer(error: ReassortError) -> Response:
        return fault_page(error) if fault_page is not None else error_response(error)

    @app.exception_handler(ReassortError)
    def _domain_error(exc: ReassortError) -> Response:
        if isinstance(exc, deadline.DeadlineExceeded):
            logger.warning("deadline reached", extra={"error_code": exc.code, "refused_call": exc.what})
        else:
            logger.info("refused", extra={"error_code": exc.code, "status": exc.status})
        return answer(exc)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response:
        error = InvalidFields(_field_problems(exc))
        logger.info("refused", extra={"error_code": error.code, "fields": [f.name for f in error.fields]})
        return answer(error)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_exc: Exception) -> Response:
        error = UnsupportedMediaType()
        logger.info("refused", extra={"error_code": error.code, "status": error.status})
        return answer(error)

    @app.exception_handler(ResponseValidationError)
    def _bad_response(_exc: ResponseValidationError) -> Response:
        logger.error("response does not match its schema")
        return answer(ServiceUnavailable())

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return error_response(NotFound())

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # The type and the frames only: an exception's message may quote personal input.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error("unexpected error", extra={"error_type": type(exc).__name__, "frames": frames})
        return answer(ServiceUnavailable())

    return app


def _within_deadline(app: APIGatewayHttpResolver, next_middleware: Any) -> Response:
    """Every call a route makes (AWS, FranceConnect) is bounded by one deadline per request."""
    with deadline.for_lambda(app.lambda_context):
        return next_middleware(app)


def _through_cloudfront(app: APIGatewayHttpResolver, next_middleware: Any) -> Response:
    """A request that did not come through CloudFront skipped the WAF: it reaches no route."""
    if not origin.from_cloudfront(app.current_event.headers):
        logger.warning("request around the edge refused", extra={"error_code": NotFound.code})
        return error_response(NotFound())
    return next_middleware(app)


def session_token(app: APIGatewayHttpResolver) -> str | None:
    event = app.current_event
    authorization = event.headers.get("authorization") or ""
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    for raw in event.cookies or []:
        try:
            cookie = SimpleCookie(raw)
        except CookieError:
            continue
        if SESSION_COOKIE in cookie:
            return cookie[SESSION_COOKIE].value
    return None


def request_id(app: APIGatewayHttpResolver) -> str:
    return app.current_event.request_context.request_id or "unknown"
