"""Only requests that went through CloudFront (and so through its WAF) reach the routes.

The HTTP API keeps its public `execute-api` address (an HTTP API cannot be private, and API
Gateway cannot attach a WAF web ACL to an HTTP API). CloudFront adds a secret header to every
request it forwards to the API; a request without it came around the WAF and is answered
`NOT_FOUND` before any table, hash or send is touched. The value lives in its own Secrets
Manager secret (`ORIGIN_VERIFY_SECRET_ID`), read once per container; without that variable
(local stack, tests) there is no CloudFront and nothing to check.
"""

from __future__ import annotations

import hmac
import os
from functools import lru_cache

from . import deadline

HEADER = "x-origin-verify"
ENV_NAME = "ORIGIN_VERIFY_SECRET_ID"


@lru_cache(maxsize=4)
def _expected(secret_id: str) -> str:
    client = deadline.aws_client("secretsmanager", deadline.SECRETS_TIMEOUTS)
    value = client.get_secret_value(SecretId=secret_id)["SecretString"]
    if not isinstance(value, str) or len(value) < 32:
        raise RuntimeError("the origin secret must hold at least 32 characters")
    return value


def from_cloudfront(headers: dict[str, str] | None) -> bool:
    """True when the request carries CloudFront's origin header (or when none is configured)."""
    secret_id = os.environ.get(ENV_NAME)
    if not secret_id:
        return True
    presented = (headers or {}).get(HEADER) or ""
    return hmac.compare_digest(presented.encode(), _expected(secret_id).encode())
