"""Settings, read once per container from the environment (pydantic-settings) and validated."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .adapters.system import Argon2Profile
from .addresses import check_public_https_url
from .domain.rules import Rules

PARIS = ZoneInfo("Europe/Paris")
# FranceConnect's provider and the addresses it sends the elector back to: https and public in
# every deployed stage; the local stack's emulator runs on http://127.0.0.1.
FRANCECONNECT_URL_SETTINGS = ("fc_issuer", "fc_redirect_uri", "fc_post_logout_redirect_uri")


def parse_instant(value: str | None) -> float | None:
    """ISO 8601; an instant without offset is read in Europe/Paris (the election's time)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment.timestamp()


class Settings(BaseSettings):
    """Each field is read from the environment variable of the same name in capitals."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    stage: Literal["local", "dev", "recette", "prod"] = "local"
    electors_table: str = "reassort-electors"
    links_table: str = "reassort-links"
    fc_state_table: str = "reassort-fc-state"
    audit_table: str = "reassort-audit"
    secrets_id: str | None = None
    local_secrets: str | None = None
    election_opens_at: str | None = None
    election_closes_at: str | None = None
    close_grace_seconds: int = Field(1800, ge=0, le=7200)
    link_ttl_seconds: int = Field(3600, ge=60, le=86400)
    code_display_seconds: int = Field(120, ge=1, le=600)
    max_failed_attempts: int = Field(5, ge=1, le=20)
    lock_seconds: int = Field(1800, ge=60)
    link_quota: int = Field(5, ge=1, le=50)
    link_quota_window_seconds: int = Field(86400, ge=60)
    lock_alert_quota: int = Field(2, ge=0, le=10)
    argon2_memory_kib: int = Field(19456, ge=8)
    argon2_time_cost: int = Field(2, ge=1)
    argon2_parallelism: int = Field(1, ge=1)
    professional_domains: str = "education.gouv.fr"
    public_base_url: str = "http://127.0.0.1:8000"
    mail_from: str = "Élections professionnelles <no-reply@elections.example.gouv.fr>"
    ses_configuration_set: str | None = None
    sms_sender_id: str = Field("ELECTIONS", pattern=r"^[A-Za-z0-9]{1,11}$")
    audit_retention_days: int = Field(400, ge=1)
    portal_issuer: str = "https://portail-elections.local"
    portal_audience: str = "reassort"
    portal_jwks: str | None = None
    portal_jwks_url: str | None = None
    # Load-test issuer of portal sessions (rehearsals outside production only).
    portal_test_issuer: str | None = None
    portal_test_issuer_secret_id: str | None = None
    portal_test_issuer_key: str | None = None
    fc_issuer: str | None = None
    fc_client_id: str | None = None
    fc_redirect_uri: str | None = None
    fc_post_logout_redirect_uri: str | None = None
    fc_id_token_alg: Literal["ES256", "RS256"] = "ES256"

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.stage == "prod":
            if self.local_secrets:
                raise ValueError("LOCAL_SECRETS is refused in prod: use SECRETS_ID")
            if self.portal_test_issuer or self.portal_test_issuer_secret_id or self.portal_test_issuer_key:
                raise ValueError("the load-test issuer is refused in prod")
            if not (self.election_opens_at and self.election_closes_at):
                raise ValueError("the election window must be configured in prod")
        if self.stage != "local":
            for name in FRANCECONNECT_URL_SETTINGS:
                value = getattr(self, name)
                if value:
                    check_public_https_url(name, value)
        parse_instant(self.election_opens_at)
        parse_instant(self.election_closes_at)
        return self

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """From the process environment, or only from `environ` when given (tests, tools)."""
        if environ is None:
            return cls()
        values = {name: environ[name.upper()] for name in cls.model_fields if name.upper() in environ}
        return cls.model_validate(values)

    def rules(self) -> Rules:
        return Rules(
            public_base_url=self.public_base_url,
            link_ttl_seconds=self.link_ttl_seconds,
            display_seconds=self.code_display_seconds,
            max_failed_attempts=self.max_failed_attempts,
            lock_seconds=self.lock_seconds,
            link_quota=self.link_quota,
            lock_alert_quota=self.lock_alert_quota,
            link_quota_window_seconds=self.link_quota_window_seconds,
            professional_domains=tuple(
                d.strip().casefold() for d in self.professional_domains.split(",") if d.strip()
            ),
            opens_at=parse_instant(self.election_opens_at),
            closes_at=parse_instant(self.election_closes_at),
            close_grace_seconds=self.close_grace_seconds,
        )

    def argon2_profile(self) -> Argon2Profile:
        return Argon2Profile(self.argon2_memory_kib, self.argon2_time_cost, self.argon2_parallelism)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


# Settings holding secrets: never sealed, printed or logged.
SECRET_SETTINGS = frozenset({"local_secrets", "portal_test_issuer_key"})


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings and the rules derived from them, without any secret (what the seal records)."""
    values = {k: v for k, v in settings.model_dump().items() if k not in SECRET_SETTINGS}
    rules = json.loads(json.dumps(dataclasses.asdict(settings.rules()), default=list))
    return {"settings": values, "rules": rules}
