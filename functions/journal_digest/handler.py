"""Scheduled every few minutes: digests the audit records of the elapsed period, signs the digest
with the journal's KMS key and stores it under Object Lock. At the close plus the grace it writes
the final digest and then does nothing more."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger

from reassort.adapters.journal import build_digester
from reassort.config import Settings
from reassort.journal.digests import DigestExists

logger = Logger(service="reassort-journal")


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    settings = Settings.from_env()
    digester = build_digester(
        settings,
        bucket=os.environ["JOURNAL_BUCKET"],
        key_id=os.environ["JOURNAL_KEY_ID"],
        settle_seconds=int(os.environ.get("JOURNAL_SETTLE_SECONDS", "120")),
        segments=int(os.environ.get("JOURNAL_SCAN_SEGMENTS", "4")),
    )
    try:
        run = digester.run(int(time.time() * 1000))
    except DigestExists:
        # Another run wrote this sequence first; the next run continues the chain from it.
        logger.warning("journal digest already written by a concurrent run")
        return {"outcome": "concurrent"}
    if run.digest is None:
        logger.info("journal digest skipped", extra={"reason": run.reason})
        return {"outcome": run.reason}
    body = run.digest.body
    summary = {
        "outcome": run.reason,
        "sequence": body["sequence"],
        "record_count": body["record_count"],
        "period_end": body["period_end"],
        "body_sha256": run.digest.body_sha256,
        "location": run.location,
    }
    newest = body.get("newest_record_ms")
    if isinstance(newest, int):
        summary["lag_seconds"] = round((body["created_at_ms"] - newest) / 1000, 3)
    logger.info("journal digest written", extra=summary)
    return summary
