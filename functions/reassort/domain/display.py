"""The new code kept for its display window, readable only with the link's token.

When a link is redeemed the new vote code is sealed with AES-256-GCM under a key derived from
the link token by HKDF-SHA256, and stored on the link item until the end of the display window.
The service keeps only the token's HMAC (the link id), so the stored value reveals the code to no
one without the link itself; the associated data binds it to that link item.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .ports import RandomSource

_INFO = b"reassort/vote-code-display/v1"
_NONCE_BYTES = 12


def _key(token: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(token.encode("ascii"))


def seal_code(code: str, token: str, link_id: str, random: RandomSource) -> str:
    """The code encrypted for the holder of ``token``, as URL-safe base64 (nonce + ciphertext)."""
    nonce = random.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(_key(token)).encrypt(nonce, code.encode("utf-8"), link_id.encode("ascii"))
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_code(sealed: str, token: str, link_id: str) -> str | None:
    """The code sealed by :func:`seal_code`, or None when the value or the token does not match."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        return AESGCM(_key(token)).decrypt(nonce, body, link_id.encode("ascii")).decode("utf-8")
    except (InvalidTag, ValueError, binascii.Error, UnicodeError):
        return None
