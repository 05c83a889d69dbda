"""The service against moto, driven through the real handlers with API Gateway v2 events."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from local.iam_guard import IamGuard
from local.lambda_adapter import HttpRequest, LambdaContext, build_event
from local.tables import create_tables, put_roll_record
from reassort import wiring
from reassort.adapters.system import SecretHasher
from reassort.config import get_settings
from reassort.domain.model import ElectorRecord
from reassort.domain.normalise import normalise_answer, parse_identifier

from .fakes import FakeClock
from .keys import portal_session

REGION = "eu-west-3"
SENDER = "no-reply@elections.test.gouv.fr"


@dataclass
class Elector:
    """A roll entry together with the secrets the elector knows."""

    elector_id: str
    display_name: str
    pro_email: str
    question: str
    answer: str
    numen: str | None = None
    nir10: str | None = None
    vote_code: str = "Ab3!Cd4$Ef5%"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    cookies: list[str] = field(default_factory=list)


class Stack:
    def __init__(self, guard: IamGuard | None = None) -> None:
        self.guard = guard
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_tables(self.dynamodb, get_settings())
        boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity=SENDER)
        self.hasher = SecretHasher(get_settings().argon2_profile())

    # -- roll -------------------------------------------------------------------------------
    def add_elector(self, elector: Elector) -> Elector:
        put_roll_record(
            self.dynamodb,
            get_settings().electors_table,
            ElectorRecord(
                elector_id=elector.elector_id,
                display_name=elector.display_name,
                pro_email=elector.pro_email,
                question=elector.question,
                answer_hash=self.hasher.hash(normalise_answer(elector.answer)),
                numen_hash=self.hasher.hash(parse_identifier(elector.numen).value) if elector.numen else None,
                nir_hash=self.hasher.hash(parse_identifier(elector.nir10).value) if elector.nir10 else None,
                vote_code_hash=self.hasher.hash(elector.vote_code),
            ),
        )
        return elector

    def elector_item(self, elector_id: str) -> dict[str, Any]:
        return self.dynamodb.get_item(
            TableName=get_settings().electors_table, Key={"elector_id": {"S": elector_id}}
        )["Item"]

    def vote_code_accepted(self, elector_id: str, code: str) -> bool:
        return self.hasher.verify(self.elector_item(elector_id)["vote_code_hash"]["S"], code)

    def scan(self, table: str) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=table)["Items"]

    # -- what was sent ------------------------------------------------------------------------
    def emails(self) -> list[dict[str, Any]]:
        backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
        out = []
        for message in backend.sent_messages:
            body = getattr(message, "body", None) or getattr(message, "raw_data", "")
            out.append(
                {
                    "to": list(message.destinations.get("ToAddresses", [])),
                    "subject": getattr(message, "subject", ""),
                    "body": body,
                }
            )
        return out

    def sms(self) -> list[tuple[str, str]]:
        backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
        return [(number, text) for number, text, *_ in backend.sms_messages.values()]

    # -- calls ----------------------------------------------------------------------------------
    @property
    def clock(self) -> FakeClock:
        if not isinstance(wiring.get_clock(), FakeClock):
            import time

            wiring.use_clock(FakeClock(time.time()))
        clock = wiring.get_clock()
        assert isinstance(clock, FakeClock)
        return clock

    def call(
        self,
        module: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        session: str | None = None,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        import importlib

        handler = importlib.import_module(f"{module}.handler").lambda_handler
        request_headers = [("host", "reassort.test"), ("content-type", "application/json")]
        request_headers += list((headers or {}).items())
        if session:
            request_headers.append(("cookie", f"portal_session={session}"))
        payload = raw_body if raw_body is not None else (json.dumps(body) if body is not None else "")
        event = build_event(HttpRequest(method, path, "", request_headers, payload.encode()))
        context = LambdaContext(function_name=module, aws_request_id=str(uuid.uuid4()))
        if self.guard is None:
            result = handler(event, context)
        else:
            with self.guard.acting_as(module):
                result = handler(event, context)
        text = result.get("body") or "{}"
        return Reply(
            status=result["statusCode"],
            headers={k.lower(): v for k, v in (result.get("headers") or {}).items()},
            body=json.loads(text) if text.startswith(("{", "[")) else {"raw": text},
            cookies=result.get("cookies") or [],
        )

    def session(self, elector_id: str) -> str:
        return portal_session(elector_id)

    def challenge(self, elector: Elector, **overrides: Any) -> Reply:
        body = {
            "answer": elector.answer,
            "identifier": elector.numen or elector.nir10,
            "channel": "email",
            "destination": "marie.perso@gmail.com",
            **overrides,
        }
        return self.call(
            "request_reassort",
            "POST",
            "/api/reassort/challenge",
            body,
            session=self.session(elector.elector_id),
        )

    def redeem(self, token: str) -> Reply:
        return self.call("redeem", "POST", "/api/links/redeem", {"token": token})

    def check(self, token: str) -> Reply:
        return self.call("redeem", "POST", "/api/links/check", {"token": token})


def fail_sends(service: str, operation: str, *, on_calls: set[int], code: str = "Throttling") -> None:
    """Make the n-th call (1-based) of an AWS operation fail at the SDK boundary, as SES or SNS
    would under throttling or an outage."""
    from botocore.exceptions import ClientError

    from reassort import wiring

    notifier = wiring.get_notifier()
    sender = notifier._email_sender() if service == "sesv2" else notifier._sms_sender()  # type: ignore[attr-defined]
    calls = {"n": 0}

    def hook(**_: object) -> None:
        calls["n"] += 1
        if calls["n"] in on_calls:
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    sender.client.meta.events.register(f"before-call.{service}.{operation}", hook)
