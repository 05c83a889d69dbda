"""Link tokens (and FranceConnect states): 32 random bytes, base64url, stored only as a keyed digest."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def link_digest(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode("ascii"), hashlib.sha256).hexdigest()


def encode_token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def is_token_shaped(token: str) -> bool:
    if not _TOKEN_SHAPE.fullmatch(token):
        return False
    try:
        return len(base64.urlsafe_b64decode(token + "=")) == TOKEN_BYTES
    except (binascii.Error, ValueError):
        return False
