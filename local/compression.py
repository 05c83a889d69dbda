"""Static files answered the way CloudFront answers them: gzip when the browser accepts it."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from local.lambda_adapter import HttpRequest

# What CloudFront compresses (text types); images and fonts (woff2 is compressed already) go as is.
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_SIZE = 1000  # CloudFront compresses files from 1,000 bytes on


def accept_encoding(request: HttpRequest) -> str | None:
    return next((value for name, value in request.headers if name.lower() == "accept-encoding"), None)


def accepts_gzip(accept_encoding: str | None) -> bool:
    for part in (accept_encoding or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in {"gzip", "*"} and params.replace(" ", "") not in {"q=0", "q=0.0"}:
            return True
    return False


@lru_cache(maxsize=256)
def _gzipped(path: Path, mtime_ns: int) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def encoded_body(
    path: Path, content_type: str, accept_encoding: str | None
) -> tuple[bytes, list[tuple[str, str]]]:
    """The file's bytes and the headers that describe them, compressed when worth it and accepted."""
    body = path.read_bytes()
    if not content_type.startswith(COMPRESSIBLE) or len(body) < MIN_SIZE:
        return body, []
    vary = [("vary", "accept-encoding")]
    if not accepts_gzip(accept_encoding):
        return body, vary
    return _gzipped(path, path.stat().st_mtime_ns), [("content-encoding", "gzip"), *vary]
