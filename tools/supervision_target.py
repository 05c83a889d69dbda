"""Where the supervision CLIs look: the local stack (its moto server and settings) or a stage in AWS.

Local: `--local http://127.0.0.1:8000` reads `/local/settings.json` of the running stack.
AWS: `--etape prod` with the credentials of the environment (the read-only seal role for the
seal, export and verify; the operations role to write a digest). Resource names follow the CDK
app: `reassort-<stage>-*`, bucket `reassort-<stage>-journal-<account>-<region>`.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass, field
from typing import Any

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def fetch_json(url: str) -> Any:
    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise ValueError("--local n'accepte que la pile locale (http://127.0.0.1:…)")
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback only
        return json.loads(answer.read())


@dataclass
class Target:
    stage: str
    region: str
    audit_table: str
    bucket: str
    key_id: str
    election_closes_at: str | None
    close_grace_seconds: int
    endpoint_url: str | None = None
    # The local stack's DynamoDB is its own engine (dynoxide), not moto.
    dynamodb_endpoint_url: str | None = None
    local_url: str | None = None
    local_settings: dict[str, Any] = field(default_factory=dict)
    _session: Any = None

    @property
    def is_local(self) -> bool:
        return self.local_url is not None

    def session(self) -> Any:
        import boto3

        if self._session is None:
            if self.endpoint_url:
                self._session = boto3.session.Session(
                    aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
                    region_name=self.region,
                )
            else:
                self._session = boto3.session.Session(region_name=self.region)
        return self._session

    def client(self, service: str, region: str | None = None) -> Any:
        kwargs: dict[str, Any] = {"region_name": region or self.region}
        if service == "dynamodb" and self.dynamodb_endpoint_url:
            kwargs["endpoint_url"] = self.dynamodb_endpoint_url
        elif self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        return self.session().client(service, **kwargs)

    def settings(self) -> Any:
        """Settings of the service as the functions see them (journal close, audit table)."""
        from reassort.config import Settings

        return Settings.model_validate(
            {
                "stage": "local" if self.is_local else self.stage,
                "audit_table": self.audit_table,
                "election_closes_at": self.election_closes_at,
                "close_grace_seconds": self.close_grace_seconds,
                "local_secrets": None,
            }
        )

    def ensure_local_journal(self) -> None:
        if not self.is_local:
            return
        from reassort.adapters.journal import ensure_local_journal

        self.key_id = ensure_local_journal("local", self.client("kms"), self.client("s3"), self.bucket)


def local_target(url: str) -> Target:
    base = url.rstrip("/")
    data = fetch_json(f"{base}/local/settings.json")
    return Target(
        stage="local",
        region=str(data.get("region", "eu-west-3")),
        audit_table=str(data["audit_table"]),
        bucket=str(data["journal_bucket"]),
        key_id=str(data["journal_key_alias"]),
        election_closes_at=data.get("election_closes_at"),
        close_grace_seconds=int(data.get("close_grace_seconds", 1800)),
        endpoint_url=str(data["moto_url"]),
        dynamodb_endpoint_url=data.get("dynamodb_url") or None,
        local_url=base,
        local_settings=dict(data.get("settings", {})),
    )


def aws_target(stage: str, *, bucket: str | None = None, region: str | None = None) -> Target:
    from infra.stages import stage_config

    config = stage_config(stage)
    target = Target(
        stage=stage,
        region=region or config.region,
        audit_table=f"{config.resource_prefix}-audit",
        bucket=bucket or "",
        key_id=f"alias/{config.resource_prefix}-journal",
        election_closes_at=config.election_closes_at,
        close_grace_seconds=1800,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
        dynamodb_endpoint_url=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"),
    )
    if not target.bucket:
        account = target.client("sts").get_caller_identity()["Account"]
        target.bucket = f"{config.resource_prefix}-journal-{account}-{target.region}"
    return target


def resolve(local: str | None, stage: str | None, bucket: str | None = None) -> Target:
    if local:
        return local_target(local)
    if stage:
        return aws_target(stage, bucket=bucket)
    raise SystemExit("Indiquez --local URL (pile locale) ou --etape NOM (dev, recette, prod).")
