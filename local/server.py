"""The local HTTP server: static pages rendered from `web/`, `/api/*` through the Lambda adapter, `/local/*` demo.

Every response carries the page security headers CloudFront adds in AWS.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import posixpath
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from local.compression import accept_encoding, encoded_body
from local.lambda_adapter import HttpRequest, HttpResponse, LambdaRouter, error_response

log = logging.getLogger("local.server")

ROOT = Path(__file__).resolve().parent.parent
# The pages rendered by `python -m local.web_assets` (`make web-assets`).
WEB_ROOT = ROOT / "build" / "site"
LOCAL_PAGES = ROOT / "build" / "local-pages"
MAX_BODY = 64 * 1024

mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("font/woff", ".woff")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("application/manifest+json", ".webmanifest")


def security_headers(form_action: str = "'self'") -> list[tuple[str, str]]:
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action {form_action}; frame-ancestors 'none'"
    )
    return [
        ("content-security-policy", csp),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ]


# A local route answers (request, path) with a response; registered by the stack.
LocalRoute = Callable[[HttpRequest], HttpResponse]


class LocalApp:
    """Dispatch shared by every request thread."""

    def __init__(
        self,
        router: LambdaRouter | None = None,
        local_routes: dict[tuple[str, str], LocalRoute] | None = None,
        web_root: Path = WEB_ROOT,
    ) -> None:
        self.router = router or LambdaRouter()
        self.local_routes = local_routes or {}
        self.web_root = web_root

    def dispatch(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if path.startswith("/api/"):
            try:
                return self.router.handle(request)
            except Exception:
                # API Gateway answers a crashed integration with a 500; keep the trace for the developer.
                log.error("handler failed on %s %s\n%s", request.method, path, traceback.format_exc())
                return error_response(500, "internal_error", "Une erreur technique est survenue.")
        route = self.local_routes.get((request.method, path))
        if route is not None:
            return route(request)
        if any(p == path for (_, p) in self.local_routes):
            return error_response(405, "method_not_allowed", "Méthode non autorisée.")
        if request.method not in {"GET", "HEAD"}:
            return error_response(405, "method_not_allowed", "Méthode non autorisée.")
        if path.startswith("/local/static/"):
            return self.static(LOCAL_PAGES, path.removeprefix("/local/static"), accept_encoding(request))
        return self.static(self.web_root, path, accept_encoding(request))

    def static(self, root: Path, path: str, accept_encoding: str | None = None) -> HttpResponse:
        file = resolve_static(root, path)
        if file is None:
            not_found = self.web_root / "404.html"
            body = not_found.read_bytes() if not_found.is_file() else b"Page introuvable"
            return HttpResponse(404, [("content-type", "text/html; charset=utf-8")], body)
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in {"application/json", "image/svg+xml"}:
            ctype += "; charset=utf-8"
        cache = "public, max-age=3600" if "/vendor/" in path else "no-cache"
        body, encoding = encoded_body(file, ctype, accept_encoding)
        return HttpResponse(200, [("content-type", ctype), ("cache-control", cache), *encoding], body)


def resolve_static(root: Path, path: str) -> Path | None:
    """`/a/b` → `root/a/b`, `root/a/b.html` or `root/a/b/index.html`; never outside root."""
    decoded = unquote(path)
    if "\x00" in decoded or "\\" in decoded:
        return None
    # normpath of an absolute path drops every "..", so the result stays under root.
    rel = posixpath.normpath("/" + decoded).lstrip("/")
    base = root.resolve()
    target = base / rel
    candidates = [target / "index.html"] if target.is_dir() else [target, base / f"{rel}.html"]
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_file() and resolved.is_relative_to(base):
            return resolved
    return None


class RequestHandler(BaseHTTPRequestHandler):
    server_version = "reassort-local"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    app: LocalApp  # set on the subclass made by make_server
    form_action: str = "'self'"

    def _handle(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self._send(error_response(413, "payload_too_large", "Requête trop volumineuse."))
            return
        body = self.rfile.read(length) if length else b""
        request = HttpRequest(
            method=self.command,
            path=split.path or "/",
            query=split.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        try:
            response = self.app.dispatch(request)
        except Exception:
            log.error("request failed on %s %s\n%s", self.command, split.path, traceback.format_exc())
            response = error_response(500, "internal_error", "Une erreur technique est survenue.")
        self._send(response)

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        present = {name for name, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        for name, value in security_headers(self.form_action):
            if name not in present:
                self.send_header(name, value)
        if "cache-control" not in present:
            self.send_header("cache-control", "no-store")
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        # Paths only: query strings (FranceConnect code/state) never reach the log.
        log.info("%s %s", self.command, urlsplit(self.path).path)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        status = code.value if isinstance(code, HTTPStatus) else code
        log.info("%s %s %s", self.command, urlsplit(self.path).path, status)


def make_server(app: LocalApp, host: str, port: int, form_action: str = "'self'") -> ThreadingHTTPServer:
    handler = type("BoundRequestHandler", (RequestHandler,), {"app": app, "form_action": form_action})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return HttpResponse(status, [("content-type", "application/json; charset=utf-8"), *(headers or [])], body)


def html_response(status: int, body: str, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(
        status, [("content-type", "text/html; charset=utf-8"), *(headers or [])], body.encode("utf-8")
    )


def redirect(location: str) -> HttpResponse:
    return HttpResponse(302, [("location", location)])
