"""Keys and peppers: from Secrets Manager in AWS, from LOCAL_SECRETS locally. Read once per container."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Settings


class SecretsError(RuntimeError):
    pass


@dataclass(frozen=True)
class Secrets:
    link_hmac_key: bytes
    identity_hmac_key: bytes
    fc_client_secret: str | None = None

    def __repr__(self) -> str:  # never print key material
        return "Secrets(<redacted>)"


def _key(raw: Any, name: str) -> bytes:
    if not isinstance(raw, str) or not raw:
        raise SecretsError(f"secret field {name} is missing")
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = raw.encode()
    if len(key) < 32:
        raise SecretsError(f"secret field {name} must hold at least 32 bytes")
    return key


def parse_secrets(document: str) -> Secrets:
    data = json.loads(document)
    return Secrets(
        link_hmac_key=_key(data.get("link_hmac_key"), "link_hmac_key"),
        identity_hmac_key=_key(data.get("identity_hmac_key"), "identity_hmac_key"),
        fc_client_secret=data.get("fc_client_secret") or None,
    )


def load_secrets(settings: Settings, client: Any | None = None) -> Secrets:
    if settings.secrets_id:
        if client is None:
            from .. import deadline

            client = deadline.aws_client("secretsmanager", deadline.SECRETS_TIMEOUTS)
        document = client.get_secret_value(SecretId=settings.secrets_id)["SecretString"]
        return parse_secrets(document)
    if settings.local_secrets and settings.stage != "prod":
        return parse_secrets(settings.local_secrets)
    raise SecretsError("no secret configured: set SECRETS_ID (or LOCAL_SECRETS outside prod)")
