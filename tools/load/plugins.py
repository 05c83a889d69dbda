"""How a load journey logs in and reads the link it triggered: one interface, local or stage.

* Login: ``LocalPortalLogin`` posts to the local stack's demonstration portal;
  ``SignedSessionLogin`` signs a portal session itself with the load-test issuer's key (from
  Secrets Manager on a stage; only non-production stages trust that issuer).
* Links: ``OutboxLinks`` reads the local stack's outbox; ``S3InboxLinks`` reads the e-mails
  that SES receiving stored in S3 for the rehearsal's test sub-domain (no one's mailbox).

``from_env`` chooses them (``LOAD_LOGIN`` = ``local`` | ``test-issuer``, ``LOAD_LINKS`` =
``outbox`` | ``s3``); the locustfile only talks to the two interfaces. No Locust import here.
"""

from __future__ import annotations

import email
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email import policy
from typing import Any, Protocol
from urllib.parse import urlsplit

from tools.load.journeys import LINK, find_token

SESSION_COOKIE = "portal_session"
# AWS End User Messaging SMS simulator destinations (France): they never reach a carrier.
SMS_SIMULATOR_SUCCESS = "+33755512501"
SMS_SIMULATOR_FAILURE = "+33755512502"


# Locust's HttpSession (a requests.Session with ``name`` and ``catch_response``).
HttpClient = Any


class Login(Protocol):
    def login(self, client: HttpClient, elector_id: str, password: str) -> bool: ...


class LinkReader(Protocol):
    # whether an SMS link can be read back (the SMS simulator delivers nothing on a stage)
    reads_sms: bool

    def cursor(self, client: HttpClient, destination: str) -> int: ...

    def await_token(self, client: HttpClient, destination: str, cursor: int) -> str | None: ...


def describe_failure(response: Any) -> str:
    """Status and cause of a failed request: a connection error says which, not ``0``."""
    status = int(getattr(response, "status_code", 0) or 0)
    if status:
        return f"{status}"
    error = getattr(response, "error", None)
    return f"pas de réponse ({type(error).__name__}: {error})" if error else "pas de réponse"


# ---------------------------------------------------------------- login
class LocalPortalLogin:
    """The local stack's demonstration portal (``POST /local/login``)."""

    def login(self, client: HttpClient, elector_id: str, password: str) -> bool:
        client.cookies.clear()
        with client.post(
            "/local/login",
            json={"elector_id": elector_id, "password": password},
            name="[local] POST /local/login",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"login {describe_failure(response)}")
                return False
            response.success()
            return True


@dataclass
class SignedSessionLogin:
    """Signs the portal session of a synthetic elector with the load-test issuer's key."""

    issuer: str
    audience: str
    key: bytes
    host: str
    session_seconds: int = 3600

    def token(self, elector_id: str, now: float | None = None) -> str:
        from joserfc import jwt
        from joserfc.jwk import OctKey

        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": elector_id,
            "iat": issued,
            "exp": issued + self.session_seconds,
        }
        return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, OctKey.import_key(self.key))

    def login(self, client: HttpClient, elector_id: str, password: str) -> bool:
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, self.token(elector_id), domain=self.host, path="/")
        return True


# ---------------------------------------------------------------- links
@dataclass
class OutboxLinks:
    """The local stack's outbox (``/local/outbox.json?to=…&after=…``).

    SMS links are not read back, as on a stage: every synthetic elector has the same SMS
    simulator number, so a link read there could be another journey's."""

    polls: int = 20
    reads_sms: bool = False

    def _outbox(self, client: HttpClient, destination: str, after: int | None = None) -> dict[str, Any]:
        params = {"to": destination} if after is None else {"to": destination, "after": str(after)}
        with client.get(
            "/local/outbox.json", params=params, name="[local] GET /local/outbox.json", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"outbox {describe_failure(response)}")
                return {}
            response.success()
            return dict(response.json())

    def cursor(self, client: HttpClient, destination: str) -> int:
        return int(self._outbox(client, destination).get("last_seq", 0))

    def await_token(self, client: HttpClient, destination: str, cursor: int) -> str | None:
        for attempt in range(self.polls):
            token, _seq = find_token(self._outbox(client, destination, cursor), destination, cursor)
            if token:
                return token
            time.sleep(0.1 * (attempt + 1))
        return None


@dataclass
class S3InboxLinks:
    """E-mails stored by SES receiving under ``s3://bucket/prefix``: one raw MIME object each.

    One listing is shared by the users of a process: new objects are read once, their links
    indexed by recipient; a journey waits for a link to its own address received after it
    asked (the cursor is a local sequence of what was read)."""

    s3: Any
    bucket: str
    prefix: str = "inbox/"
    timeout_seconds: float = 60.0
    poll_seconds: float = 1.0
    reads_sms: bool = False
    _seen: set[str] = field(default_factory=set)
    _links: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    _seq: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_poll: float = 0.0

    def cursor(self, client: HttpClient, destination: str) -> int:
        with self._lock:
            return self._seq

    def await_token(self, client: HttpClient, destination: str, cursor: int) -> str | None:
        deadline = time.monotonic() + self.timeout_seconds
        wanted = destination.casefold()
        while time.monotonic() < deadline:
            self.poll()
            with self._lock:
                found = [token for seq, token in self._links.get(wanted, []) if seq > cursor]
            if found:
                return found[-1]
            time.sleep(self.poll_seconds)
        return None

    def poll(self) -> None:
        with self._lock:
            if time.monotonic() - self._last_poll < self.poll_seconds:
                return
            self._last_poll = time.monotonic()
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            keys = [
                o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"] not in self._seen
            ]
            for key in keys:
                self._seen.add(key)
                raw = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                for recipient, token in links_in_mail(raw):
                    self._seq += 1
                    self._links.setdefault(recipient, []).append((self._seq, token))


def links_in_mail(raw: bytes) -> list[tuple[str, str]]:
    """(recipient, token) of each link in a raw e-mail, recipients case-folded."""
    message = email.message_from_bytes(raw, policy=policy.default)
    recipients = [
        address.addr_spec.casefold()
        for header in ("To", "Cc")
        for address in getattr(message.get(header), "addresses", ())
    ]
    texts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            texts.append(str(part.get_content()))
    tokens = [m.group(1) for text in texts for m in LINK.finditer(text)]
    return [(recipient, token) for recipient in recipients for token in dict.fromkeys(tokens)]


# ---------------------------------------------------------------- choice
def from_env(
    environ: Mapping[str, str] | None = None,
    base_url: str = "",
    secrets_client: Callable[[], Any] | None = None,
    s3_client: Callable[[], Any] | None = None,
) -> tuple[Login, LinkReader]:
    """The login and link reader a run asks for (see the module docstring)."""
    env = os.environ if environ is None else environ
    login_kind = env.get("LOAD_LOGIN", "local")
    links_kind = env.get("LOAD_LINKS", "outbox")
    login: Login
    if login_kind == "local":
        login = LocalPortalLogin()
    elif login_kind == "test-issuer":
        login = SignedSessionLogin(
            issuer=env["LOAD_TEST_ISSUER"],
            audience=env["LOAD_PORTAL_AUDIENCE"],
            key=_test_issuer_key(env, secrets_client),
            host=urlsplit(base_url or env.get("LOAD_HOST", "")).hostname or "",
        )
    else:
        raise ValueError(f"LOAD_LOGIN={login_kind!r}: local or test-issuer expected")
    links: LinkReader
    if links_kind == "outbox":
        links = OutboxLinks()
    elif links_kind == "s3":
        s3 = s3_client() if s3_client else _boto3_client("s3")
        links = S3InboxLinks(s3, env["LOAD_INBOX_BUCKET"], env.get("LOAD_INBOX_PREFIX", "inbox/"))
    else:
        raise ValueError(f"LOAD_LINKS={links_kind!r}: outbox or s3 expected")
    return login, links


def _test_issuer_key(env: Mapping[str, str], secrets_client: Callable[[], Any] | None) -> bytes:
    if env.get("LOAD_TEST_ISSUER_KEY"):
        return env["LOAD_TEST_ISSUER_KEY"].encode()
    client = secrets_client() if secrets_client else _boto3_client("secretsmanager")
    return str(client.get_secret_value(SecretId=env["LOAD_TEST_ISSUER_SECRET_ID"])["SecretString"]).encode()


def _boto3_client(service: str) -> Any:
    import boto3

    return getattr(boto3, "client")(service)  # noqa: B009 - one client per service name
