"""Distributed Map worker: validate, hash and upsert one batch of roll rows.

The per-chunk code is the CLI's (``reassort.roll.worker``), in the shared code asset with the
dependency layer. The event is the Distributed Map batch:
``{"Items": [{"row": <0-based data-row index>, "fields": {<column>: <value>}}], "BatchInput": {...}}``.
The answer carries counters and (row, field, code) problems: never a value of a row.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _worker() -> tuple[Any, Any, Any]:
    import boto3

    from reassort.adapters.secrets import load_secrets
    from reassort.adapters.system import SecretHasher
    from reassort.config import Settings
    from reassort.roll.worker import WorkerConfig

    settings = Settings.from_env()
    config = WorkerConfig(
        electors_table=settings.electors_table,
        identity_key=load_secrets(settings).identity_hmac_key,
        profile=settings.argon2_profile(),
    )
    return config, boto3.client("dynamodb"), SecretHasher(config.profile)


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    from reassort.roll.worker import process_chunk

    config, client, hasher = _worker()
    # row numbers as in the CLI report: the header is row 1, the first data row is row 2
    rows = [(int(item["row"]) + 2, item.get("fields") or {}) for item in event.get("Items", [])]
    return process_chunk(rows, config, client, hasher).as_dict()
