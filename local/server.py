"""The local HTTP server: static pages rendered from `web/`, `/api/*` through the Lambda adapter, `/local/*` demo.

Every response carries the page security headers CloudFront adds in AWS.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import posixpath
import threading
import traceback
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote

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
                return error_response(500, "INTERNAL_ERROR", "Une erreur technique est survenue.")
        route = self.local_routes.get((request.method, path))
        if route is not None:
            return route(request)
        if any(p == path for (_, p) in self.local_routes):
            return error_response(405, "METHOD_NOT_ALLOWED", "Cette adresse n'accepte pas cette méthode.")
        if request.method not in {"GET", "HEAD"}:
            return error_response(405, "METHOD_NOT_ALLOWED", "Cette adresse n'accepte pas cette méthode.")
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


class WsgiApp:
    """The WSGI face of `LocalApp`, served by waitress: it buffers each request completely before a
    thread sees it (a slow client holds no thread), refuses oversize bodies itself, and keeps a
    real listen backlog."""

    def __init__(self, app: LocalApp, form_action: str = "'self'") -> None:
        self.app = app
        self.form_action = form_action

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO") or "/"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            response = error_response(400, "BAD_REQUEST", "Requête mal formée.")
        elif length > MAX_BODY:
            response = error_response(413, "PAYLOAD_TOO_LARGE", "La requête est trop volumineuse.")
        else:
            body = environ["wsgi.input"].read(length) if length else b""
            headers = [
                (key[5:].replace("_", "-").lower(), value)
                for key, value in environ.items()
                if key.startswith("HTTP_")
            ]
            if environ.get("CONTENT_TYPE"):
                headers.append(("content-type", environ["CONTENT_TYPE"]))
            request = HttpRequest(
                method=method,
                # PATH_INFO is decoded as latin-1 by WSGI; the raw path is what API Gateway sees.
                path=path.encode("latin-1").decode("utf-8", errors="replace"),
                query=environ.get("QUERY_STRING", ""),
                headers=headers,
                body=body,
                source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            )
            try:
                response = self.app.dispatch(request)
            except Exception:
                log.error("request failed on %s %s\n%s", method, path, traceback.format_exc())
                response = error_response(500, "INTERNAL_ERROR", "Une erreur technique est survenue.")
        log.info("%s %s %s", method, path, response.status)  # paths only: no query string
        return self._send(method, response, start_response)

    def _send(self, method: str, response: HttpResponse, start_response: Any) -> list[bytes]:
        present = {name for name, _ in response.headers}
        headers = [(name, value) for name, value in response.headers if name != "content-length"]
        headers += [(n, v) for n, v in security_headers(self.form_action) if n not in present]
        if "cache-control" not in present:
            headers.append(("cache-control", "no-store"))
        headers.append(("content-length", str(len(response.body))))
        start_response(f"{response.status} {_reason(response.status)}", headers)
        return [] if method == "HEAD" else [response.body]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class LocalServer:
    """waitress on (host, port), in a thread; port 0 takes a free one."""

    def __init__(self, app: LocalApp, host: str, port: int, threads: int = 16) -> None:
        from waitress.server import create_server

        self.wsgi = WsgiApp(app)
        self._server = create_server(
            self.wsgi,
            host=host,
            port=port,
            threads=threads,
            backlog=1024,
            connection_limit=1000,
            # Bodies over our own limit get the JSON 413 above; waitress stops far beyond it.
            max_request_body_size=16 * MAX_BODY,
            channel_timeout=30,
            ident="reassort-local",
            clear_untrusted_proxy_headers=True,
        )
        self.port = int(self._server.effective_port)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, name="local-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.close()
        self._server.task_dispatcher.shutdown(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return HttpResponse(status, [("content-type", "application/json; charset=utf-8"), *(headers or [])], body)


def html_response(status: int, body: str, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(
        status, [("content-type", "text/html; charset=utf-8"), *(headers or [])], body.encode("utf-8")
    )


def redirect(location: str) -> HttpResponse:
    return HttpResponse(302, [("location", location)])
