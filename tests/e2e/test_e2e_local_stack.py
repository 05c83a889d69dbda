"""The local stack itself: the API Gateway v2 adapter, page security headers, static pages."""

from __future__ import annotations

import base64
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from local import web_assets
from local.lambda_adapter import HttpRequest, LambdaRouter, build_event, map_result
from local.server import resolve_static
from tests.e2e.support import ROOT, Stack

pytestmark = pytest.mark.e2e

# The page templates (shared frame left out): each is checked once rendered.
PAGES = [
    *sorted(p for p in (ROOT / "web").glob("**/*.html") if "_templates" not in p.parts),
    *sorted((ROOT / "local" / "pages").glob("*.html")),
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """Every page template → its page rendered by the build, in a scratch folder."""
    out = tmp_path_factory.mktemp("site")
    settings = web_assets.site_settings()
    pages = {}
    for source, name in ((web_assets.WEB_SOURCE, "site"), (web_assets.LOCAL_SOURCE, "local")):
        for page in web_assets.render_tree(source, out / name, settings):
            pages[source / page.relative_to(out / name)] = page
    return pages


def test_given_a_browser_request_when_adapted_then_the_event_has_the_http_api_v2_shape() -> None:
    request = HttpRequest(
        method="post",
        path="/api/links/check",
        query="a=1&a=2&b=",
        headers=[
            ("Host", "127.0.0.1:8000"),
            ("Content-Type", "application/json"),
            ("Cookie", "portal_session=abc; other=1"),
            ("X-Custom", "one"),
            ("x-custom", "two"),
        ],
        body=b'{"token": "x"}',
        source_ip="127.0.0.9",
    )
    event = build_event(request, "req-1")
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/api/links/check"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["cookies"] == ["portal_session=abc", "other=1"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-custom"] == "one,two"
    assert event["headers"]["content-type"] == "application/json"
    assert event["body"] == '{"token": "x"}' and event["isBase64Encoded"] is False
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["sourceIp"]) == ("POST", "/api/links/check", "127.0.0.9")
    assert event["requestContext"]["requestId"] == "req-1"


def test_given_a_binary_body_when_adapted_then_it_is_base64_encoded() -> None:
    body = bytes(range(256))
    event = build_event(
        HttpRequest("POST", "/api/x", "", [("content-type", "application/octet-stream")], body)
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_given_a_v2_result_when_mapped_then_cookies_headers_and_base64_bodies_come_back() -> None:
    response = map_result(
        {
            "statusCode": 302,
            "headers": {"Location": "/x", "Cache-Control": "no-store"},
            "cookies": ["a=1; HttpOnly", "b=2"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status == 302
    assert ("location", "/x") in response.headers
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1; HttpOnly", "b=2"]
    assert response.body == b"\x00\x01"
    plain = map_result({"ok": True})
    assert plain.status == 200 and plain.body == b'{"ok": true}'


def test_given_a_missing_function_when_routed_then_the_answer_is_a_json_503() -> None:
    router = LambdaRouter([("/api/nothing/", "module_that_does_not_exist.handler", "nothing")])
    try:
        response = router.handle(HttpRequest("GET", "/api/nothing/x", "", [], b""))
    finally:
        router.stop()
    assert response.status == 503
    assert b'"code": "SERVICE_UNAVAILABLE"' in response.body


def test_given_paths_outside_the_web_root_when_resolved_then_nothing_is_served(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text("index")
    (tmp_path / "a" / "page.html").write_text("page")
    assert resolve_static(tmp_path, "/a/") == (tmp_path / "a" / "index.html").resolve()
    assert resolve_static(tmp_path, "/a/page") == (tmp_path / "a" / "page.html").resolve()
    for hostile in ("/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/a/..%2f..%2fetc/passwd", "/a%00"):
        assert resolve_static(tmp_path, hostile) is None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_given_a_page_then_it_has_no_inline_script_handler_or_style(
    page: Path, rendered: dict[Path, Path]
) -> None:
    html = rendered[page].read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html), "inline style attribute"
    assert 'lang="fr"' in html


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/local/login",
        "/reassort/",
        "/reassort/code-vote",
        "/vendor/dsfr/dsfr-base.min.css",
        "/page-inconnue",
        "/api/reassort/challenge",
        "/api/links/check",
    ],
)
def test_given_any_response_of_the_local_server_then_it_carries_the_page_security_headers(
    stack: Stack, path: str
) -> None:
    request = urllib.request.Request(stack.url(path))  # noqa: S310 - loopback

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        response = opener.open(request, timeout=10)
        headers = response.headers
    except urllib.error.HTTPError as error:
        headers = error.headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"


def test_given_the_journeys_then_no_link_token_reached_the_server_log(stack: Stack) -> None:
    tokens = [link.split("#t=", 1)[1] for m in stack.outbox() for link in m["links"] if "#t=" in link]
    assert stack.log_path is not None
    log = stack.log_path.read_text(errors="replace")
    assert "GET /reassort/code-vote" in log or not tokens
    for token in tokens:
        assert token not in log


def _raw_request(stack: Stack, data: bytes, *, timeout: float = 10) -> bytes:
    host, port = stack.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"content-length: 0" in b"".join(chunks).lower():
                break
        return b"".join(chunks)


def test_given_hostile_connections_then_the_next_request_is_served_at_once(stack: Stack) -> None:
    host, port = stack.base_url.removeprefix("http://").split(":")
    # A slow client: headers never finished, held open while others are served.
    slow = socket.create_connection((host, int(port)), timeout=10)
    slow.sendall(b"POST /api/links/check HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    try:
        oversize = b"x" * (70 * 1024)
        answer = _raw_request(
            stack,
            b"POST /api/links/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(oversize)}\r\nConnection: close\r\n\r\n".encode()
            + oversize,
        )
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"PAYLOAD_TOO_LARGE" in answer
        bad_length = _raw_request(
            stack,
            b"POST /api/links/check HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\nConnection: close\r\n\r\n",
        )
        assert bad_length.split(b" ", 2)[1] in (b"400", b"411"), bad_length[:200]
        started = time.monotonic()
        with urllib.request.urlopen(stack.url("/reassort/"), timeout=10) as page:  # noqa: S310 - loopback
            assert page.status == 200
        assert time.monotonic() - started < 2
    finally:
        slow.close()


def _layout_chain(source: str) -> list[str]:
    """The layouts of web/_templates/ a page extends, nearest first (each must open its file)."""
    chain: list[str] = []
    while match := re.match(r'\{% extends "([\w.-]+)" %\}', source):
        chain.append(match.group(1))
        source = (ROOT / "web" / "_templates" / chain[-1]).read_text(encoding="utf-8")
    return chain


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_given_a_page_template_then_it_takes_the_frame_from_the_shared_layout(
    page: Path, rendered: dict[Path, Path]
) -> None:
    source = page.read_text(encoding="utf-8")
    chain = _layout_chain(source)
    assert chain and chain[-1] == "base.html", chain
    for chrome in ("<header", "<footer", "fr-skiplinks", "<head>", "dsfr.module"):
        assert chrome not in source, f"{chrome} belongs to web/_templates/base.html"
    html = rendered[page].read_text(encoding="utf-8")
    assert html.count('<header class="fr-header">') == 1 and html.count('<footer class="fr-footer"') == 1
    for legal in ("/reassort/accessibilite", "/reassort/mentions-legales", "/reassort/donnees-personnelles"):
        assert f'href="{legal}"' in html


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_given_a_page_and_its_scripts_then_every_dsfr_class_they_use_is_in_the_stylesheet_it_links(
    page: Path, rendered: dict[Path, Path]
) -> None:
    html = rendered[page].read_text(encoding="utf-8")
    (sheet,) = re.findall(r'href="/vendor/dsfr/(dsfr-[a-z-]+\.min\.css)"', html)
    stylesheet, _ = web_assets.bundle_stylesheet(components=web_assets.components_of(sheet))
    defined = set(re.findall(r"\.(fr-[a-zA-Z0-9_-]+)", stylesheet))
    sources = [html]
    for src in re.findall(r'<script[^>]*src="([^"]+)"', html):
        script = ROOT / "web" / src.lstrip("/")
        if src.startswith("/local/static/"):
            script = ROOT / "local" / "pages" / src.removeprefix("/local/static/")
        sources.append(script.read_text(encoding="utf-8"))
        if "FormErrors(" in sources[-1]:  # the form error display of api.js
            sources.append((ROOT / "web" / "assets" / "js" / "api.js").read_text(encoding="utf-8"))
    used: set[str] = set()
    for text in sources:
        for attribute in re.findall(r'class(?:Name)?\s*=\s*"([^"]*)"', text) + re.findall(
            r'classList\.(?:add|remove|toggle)\(([^)]*)\)|"\.(fr-[a-z0-9_-]+)', text
        ):
            parts = attribute if isinstance(attribute, str) else " ".join(attribute)
            used |= set(re.findall(r"\bfr-[a-z0-9_-]*[a-z0-9]", parts))
    assert used and used <= defined, f"{sheet} lacks {sorted(used - defined)}"


def test_given_another_deployment_file_then_the_legal_pages_carry_its_contacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = web_assets.SITE_CONFIG.read_text(encoding="utf-8").replace(
        "dpd@education.gouv.fr", "dpo@academie-exemple.fr"
    )
    config = tmp_path / "site.toml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("REASSORT_SITE_CONFIG", str(config))
    web_assets.render_tree(web_assets.WEB_SOURCE, tmp_path / "site", web_assets.site_settings())
    page = (tmp_path / "site" / "reassort" / "donnees-personnelles.html").read_text(encoding="utf-8")
    assert 'href="mailto:dpo@academie-exemple.fr"' in page and "dpd@education.gouv.fr" not in page


@pytest.mark.parametrize(
    ("accept", "compressed"),
    [("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0", False), (None, False)],
)
def test_given_a_stylesheet_request_then_it_is_gzipped_only_when_the_browser_accepts_it(
    stack: Stack, accept: str | None, compressed: bool
) -> None:
    import gzip

    headers = {"accept-encoding": accept} if accept else {}
    request = urllib.request.Request(stack.url("/vendor/dsfr/dsfr-base.min.css"), headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        body = response.read()
        encoding = response.headers.get("content-encoding")
        assert response.headers["vary"] == "accept-encoding"
    expected = (web_assets.TARGET / "dsfr-base.min.css").read_bytes()
    if compressed:
        assert encoding == "gzip" and len(body) < len(expected) / 5 and gzip.decompress(body) == expected
    else:
        assert encoding is None and body == expected
