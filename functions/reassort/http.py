"""What the three HTTP handlers share: observability singletons, the resolver, errors, auth."""

from __future__ import annotations

import logging
import traceback
from http.cookies import CookieError, SimpleCookie
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)

from . import deadline, origin, snapstart
from .domain.errors import FieldProblem, InvalidFields, NotFound, ReassortError, ServiceUnavailable

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

_FIELD_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "string_too_short": "Ce champ est obligatoire.",
    "string_too_long": "Ce champ est trop long.",
    "enum": "Choisissez l'envoi par SMS ou par E-MAIL.",
    "literal_error": "Choisissez l'envoi par SMS ou par E-MAIL.",
    "string_type": "Ce champ doit être un texte.",
    "json_invalid": "La requête n'est pas un JSON valide.",
    "model_attributes_type": "La requête doit être un objet JSON.",
}


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json; charset=utf-8",
        body=body,
        headers={**API_HEADERS, **(headers or {})},
    )


def error_response(error: ReassortError) -> Response:
    headers = {}
    retry = error.extras().get("retry_after_seconds")
    if retry:
        headers["Retry-After"] = str(retry)
    return json_response(error.status, error.body(), headers)


def _field_problems(exc: RequestValidationError) -> list[FieldProblem]:
    problems: dict[str, FieldProblem] = {}
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        name = loc[0] if loc else "body"
        kind = str(err.get("type", ""))
        message = _FIELD_MESSAGES.get(kind, "Valeur invalide.")
        problems.setdefault(name, FieldProblem(name, kind.upper() or "INVALID", message))
    return list(problems.values())


def build_resolver() -> APIGatewayHttpResolver:
    # A response that breaks its own schema is our fault: 503 with a clear message, never 422.
    app = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=503)
    app.use(middlewares=[_within_deadline, _through_cloudfront])

    @app.exception_handler(ReassortError)
    def _domain_error(exc: ReassortError) -> Response:
        if isinstance(exc, deadline.DeadlineExceeded):
            logger.warning("deadline reached", extra={"error_code": exc.code, "refused_call": exc.what})
        else:
            logger.info("refused", extra={"error_code": exc.code, "status": exc.status})
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response:
        error = InvalidFields(_field_problems(exc))
        logger.info("refused", extra={"error_code": error.code, "fields": [f.name for f in error.fields]})
        return error_response(error)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_exc: Exception) -> Response:
        return error_response(
            InvalidFields([FieldProblem("body", "CONTENT_TYPE", "La requête doit être envoyée en JSON.")])
        )

    @app.exception_handler(ResponseValidationError)
    def _bad_response(_exc: ResponseValidationError) -> Response:
        logger.error("response does not match its schema")
        return error_response(ServiceUnavailable())

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return error_response(NotFound())

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # The type and the frames only: an exception's message may quote personal input.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error("unexpected error", extra={"error_type": type(exc).__name__, "frames": frames})
        return error_response(ServiceUnavailable())

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
