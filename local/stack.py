"""Assembles the local stack: moto, configuration, tables, demo roll, FranceConnect emulator, server.

Everything listens on 127.0.0.1 only and nothing reaches AWS: boto3 follows `AWS_ENDPOINT_URL`
to the moto server started here, with dummy credentials.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
# The handlers import `reassort` from the Lambda code asset, as in AWS.
for _path in (ROOT / "functions", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from local.lambda_adapter import HttpRequest, HttpResponse, LambdaRouter  # noqa: E402
from local.outbox import Outbox  # noqa: E402
from local.portal import SESSION_COOKIE, DemoPortal  # noqa: E402
from local.server import (  # noqa: E402
    LOCAL_PAGES,
    LocalApp,
    LocalServer,
    html_response,
    json_response,
    redirect,
)
from local.supervision import supervision_routes  # noqa: E402

log = logging.getLogger("local")

REGION = "eu-west-3"
ACCOUNT_ID = "123456789012"


def _cookie(request: HttpRequest, name: str) -> str | None:
    for header, value in request.headers:
        if header.lower() != "cookie":
            continue
        for part in value.split(";"):
            key, _, val = part.strip().partition("=")
            if key == name:
                return val
    return None


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def password_for_imported(elector_id: str) -> str:
    """Demonstration portal password of an imported roll's elector."""
    return f"demo-{elector_id}"


class LocalClock:
    """The service's clock, shiftable from `/local/clock` to try link expiry without waiting an
    hour. The offset lives in shared memory: every function's worker processes read it."""

    def __init__(self) -> None:
        from multiprocessing import get_context

        self.offset = get_context("spawn").Value("d", 0.0)

    @property
    def offset_seconds(self) -> float:
        return float(self.offset.value)

    def shift(self, seconds: float) -> None:
        self.offset.value = seconds

    def now(self) -> float:
        return time.time() + self.offset_seconds


@dataclass(frozen=True)
class OpenIdProvider:
    """Any OpenID provider the local stack logs in with instead of its emulator (for example
    FranceConnect's integration platform). Read from ``LOCAL_FC_*`` or ``python -m local`` flags
    (docs/operations.md); the redirect URIs default to this stack's own routes."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str | None = None
    post_logout_redirect_uri: str | None = None
    id_token_alg: str = "ES256"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> OpenIdProvider | None:
        env = dict(os.environ) if env is None else env
        issuer = env.get("LOCAL_FC_ISSUER", "").strip()
        if not issuer:
            return None
        missing = [n for n in ("LOCAL_FC_CLIENT_ID", "LOCAL_FC_CLIENT_SECRET") if not env.get(n)]
        if missing:
            raise ValueError(f"LOCAL_FC_ISSUER is set: {', '.join(missing)} must be set too")
        return cls(
            issuer=issuer,
            client_id=env["LOCAL_FC_CLIENT_ID"],
            client_secret=env["LOCAL_FC_CLIENT_SECRET"],
            redirect_uri=env.get("LOCAL_FC_REDIRECT_URI") or None,
            post_logout_redirect_uri=env.get("LOCAL_FC_POST_LOGOUT_REDIRECT_URI") or None,
            id_token_alg=env.get("LOCAL_FC_ID_TOKEN_ALG") or "ES256",
        )


@dataclass
class LocalStack:
    host: str = "127.0.0.1"
    port: int = 8000
    with_franceconnect: bool = True
    # Execution environments per function (concurrent requests a function serves at once).
    workers_per_function: int = 2
    # When set, FranceConnect logins go to this provider and the emulator is not started.
    openid_provider: OpenIdProvider | None = field(default_factory=OpenIdProvider.from_env)
    base_url: str = ""
    moto_url: str = ""
    dynamodb_url: str = ""
    franceconnect_url: str | None = None
    electors: list[Any] = field(default_factory=list)
    _moto: Any = None
    _engine: Any = None
    _fc: Any = None
    _http: LocalServer | None = None
    clock: LocalClock = field(default_factory=LocalClock)
    portal: DemoPortal = field(default_factory=DemoPortal)
    # elector id → demonstration portal password (demo roll and rolls added with add_roll)
    passwords: dict[str, str] = field(default_factory=dict)
    _identity_key: bytes = b""

    # ---- start -------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        try:
            self._start_engine()
            self._start_moto()
            app = LocalApp()
            # Bind first: the public base URL (links in e-mails) needs the real port.
            self._http = LocalServer(app, self.host, self.port)
            self.port = self._http.port
            self.base_url = f"http://{self.host}:{self.port}"
            self._start_franceconnect()
            self._configure()
            self._provision()
            # The workers are spawned with the environment configured above.
            self.router = app.router = LambdaRouter(
                workers_per_function=self.workers_per_function,
                worker_setup={"clock_offset": self.clock.offset},
            )
            app.local_routes = self._local_routes()
            if self.franceconnect_url:
                # The FranceConnect login is a navigation to the emulator's origin.
                parts = urlsplit(self.franceconnect_url)
                self._http.wsgi.form_action = f"'self' {parts.scheme}://{parts.netloc}"
            self.router.warm()
            self._http.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_engine(self) -> None:
        from local.dynamodb_engine import DynamoEngine

        self._engine = DynamoEngine().start()
        self.dynamodb_url = self._engine.url
        # boto3's per-service endpoint wins over AWS_ENDPOINT_URL (moto, for the other services).
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = self.dynamodb_url

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }.items():
            os.environ[name] = value
        os.environ.pop("AWS_PROFILE", None)
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        os.environ["AWS_ENDPOINT_URL"] = self.moto_url

    def _start_franceconnect(self) -> None:
        if not self.with_franceconnect:
            return
        if self.openid_provider is not None:
            self._use_provider(self.openid_provider)
            return
        try:
            from local.fc_emulator import FranceConnectEmulator
        except ImportError:
            log.info("FranceConnect emulator not available: the FranceConnect button will not work")
            return
        client_id = "reassort-local"
        client_secret = secrets.token_urlsafe(32)
        self._fc_secret = client_secret
        self._fc = FranceConnectEmulator(
            host="127.0.0.1",
            port=0,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=[f"{self.base_url}/api/fc/callback"],
            post_logout_redirect_uris=[f"{self.base_url}/api/fc/logout-return"],
        )
        self.franceconnect_url = str(self._fc.start()).rstrip("/")
        os.environ["FC_ISSUER"] = self.franceconnect_url
        os.environ["FC_CLIENT_ID"] = client_id
        os.environ["FC_REDIRECT_URI"] = f"{self.base_url}/api/fc/callback"
        os.environ["FC_POST_LOGOUT_REDIRECT_URI"] = f"{self.base_url}/api/fc/logout-return"

    def _use_provider(self, provider: OpenIdProvider) -> None:
        self._fc_secret = provider.client_secret
        self.franceconnect_url = provider.issuer.rstrip("/")
        os.environ["FC_ISSUER"] = provider.issuer
        os.environ["FC_CLIENT_ID"] = provider.client_id
        os.environ["FC_ID_TOKEN_ALG"] = provider.id_token_alg
        os.environ["FC_REDIRECT_URI"] = provider.redirect_uri or f"{self.base_url}/api/fc/callback"
        os.environ["FC_POST_LOGOUT_REDIRECT_URI"] = (
            provider.post_logout_redirect_uri or f"{self.base_url}/api/fc/logout-return"
        )

    def _configure(self) -> None:
        from local.demo_roll import PROFESSIONAL_DOMAINS

        now = datetime.now(UTC)
        local_secrets: dict[str, str] = {
            "link_hmac_key": base64.b64encode(secrets.token_bytes(32)).decode(),
            "identity_hmac_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        if getattr(self, "_fc_secret", None):
            local_secrets["fc_client_secret"] = self._fc_secret
        self._identity_key = base64.b64decode(local_secrets["identity_hmac_key"])
        env = {
            "STAGE": "local",
            "LOCAL_SECRETS": json.dumps(local_secrets),
            "PUBLIC_BASE_URL": self.base_url,
            **self.portal.environment(),
            # the load kit's signed sessions (tools/load/plugins.py), as on a rehearsal stage
            "PORTAL_TEST_ISSUER": "https://load-test.local.invalid",
            "PORTAL_TEST_ISSUER_KEY": secrets.token_urlsafe(48),
        }
        defaults = {
            "ELECTION_OPENS_AT": (now - timedelta(days=1)).isoformat(timespec="seconds"),
            "ELECTION_CLOSES_AT": (now + timedelta(days=7)).isoformat(timespec="seconds"),
            "PROFESSIONAL_DOMAINS": ",".join(PROFESSIONAL_DOMAINS),
            "POWERTOOLS_SERVICE_NAME": "reassort",
            "POWERTOOLS_METRICS_NAMESPACE": "ReassortLocal",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            # Metrics go to stdout as EMF lines in Lambda; locally they only drown the console.
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        os.environ.update(env)
        for name, value in defaults.items():
            os.environ.setdefault(name, value)

    def _provision(self) -> None:
        import boto3

        import reassort.wiring as wiring
        from local.demo_roll import build_roll, load_roll
        from local.tables import create_tables
        from reassort.adapters.dynamodb import DynamoElectorStore
        from reassort.adapters.system import SecretHasher
        from reassort.config import get_settings

        wiring.reset()
        settings = get_settings()
        create_tables(boto3.client("dynamodb", region_name=REGION), settings)
        ses = boto3.client("sesv2", region_name=REGION)
        sender = parseaddr(settings.mail_from)[1]
        ses.create_email_identity(EmailIdentity=sender)
        ses.create_email_identity(EmailIdentity=sender.rsplit("@", 1)[1])
        self.outbox = Outbox(ACCOUNT_ID, REGION)
        self.outbox.install()
        self.hasher = SecretHasher(settings.argon2_profile())
        roll = build_roll(self.hasher, self._identity_key)
        client = boto3.client("dynamodb", region_name=REGION)
        self.store = DynamoElectorStore(settings.electors_table, client)
        load_roll(client, settings.electors_table, roll)
        self.electors = [elector for elector, _ in roll]
        self.passwords.update({e.elector_id: e.password for e in self.electors})

    # ---- synthetic rolls ---------------------------------------------------------------------------
    def add_roll(self, path: Path, *, processes: int = 1) -> int:
        """Import a roll CSV (docs/roll-import.md, e.g. from `tools/synthetic_roll.py`) with the
        roll import's reader and per-chunk worker and the stack's keys; its electors log in on
        the demonstration portal with `demo-<elector id>`. Returns the number of electors
        imported; raises ValueError when the file cannot be read or rows were rejected
        (``processes`` is accepted for compatibility: one process imports here)."""
        import boto3

        from reassort.config import get_settings
        from reassort.roll.source import RollFileError, open_roll, read_chunks
        from reassort.roll.worker import WorkerConfig, process_chunk

        settings = get_settings()
        config = WorkerConfig(
            electors_table=settings.electors_table,
            identity_key=self._identity_key,
            profile=settings.argon2_profile(),
        )
        client = boto3.client("dynamodb", region_name=REGION)
        hasher = self.hasher
        try:
            roll = open_roll(path)
        except RollFileError as exc:
            raise ValueError(str(exc)) from None
        ids: list[str] = []
        rejected = 0
        with roll.open() as handle:
            for _index, rows, _read, duplicates in read_chunks(roll, handle, 500):
                result = process_chunk(rows, config, client, hasher)
                rejected += result.counts["rejected"] + len(duplicates)
                ids += [str(row.get("elector_id") or "").strip() for _line, row in rows]
        if rejected:
            raise ValueError(
                f"{rejected} lignes rejetées : contrôlez le fichier avec reassort-import-roll --dry-run"
            )
        self.passwords.update({elector_id: password_for_imported(elector_id) for elector_id in ids})
        return len(ids)

    # ---- local-only routes (demonstration portal and outbox) ------------------------------------
    def _local_routes(self) -> dict[tuple[str, str], Any]:
        return {
            ("GET", "/"): self._home,
            ("GET", "/local/login"): self._page("login.html"),
            ("POST", "/local/login"): self._login,
            ("POST", "/local/logout"): self._logout,
            ("GET", "/local/vote"): self._vote_page,
            ("POST", "/local/vote"): self._vote,
            ("GET", "/local/outbox"): self._outbox_page,
            ("GET", "/local/outbox.json"): self._outbox_json,
            ("GET", "/local/stats.json"): lambda _r: json_response(200, self.router.stats()),
            ("GET", "/local/demo.json"): self._demo,
            ("GET", "/local/clock"): self._clock,
            ("POST", "/local/clock"): self._clock,
            **supervision_routes(),
        }

    def _session(self, request: HttpRequest) -> str | None:
        return self.portal.subject(_cookie(request, SESSION_COOKIE))

    def _home(self, request: HttpRequest) -> HttpResponse:
        return redirect("/local/vote" if self._session(request) else "/local/login")

    @staticmethod
    def _page(name: str) -> Any:
        def serve(_request: HttpRequest) -> HttpResponse:
            return html_response(200, (LOCAL_PAGES / name).read_text(encoding="utf-8"))

        return serve

    def _login(self, request: HttpRequest) -> HttpResponse:
        import hmac

        data = _json_body(request)
        elector_id = str(data.get("elector_id") or "").strip()
        password = str(data.get("password") or "")
        fields = []
        if not elector_id:
            fields.append(
                {"name": "elector_id", "code": "REQUIRED", "message": "Saisissez votre identifiant."}
            )
        if not password:
            fields.append(
                {"name": "password", "code": "REQUIRED", "message": "Saisissez votre mot de passe."}
            )
        if fields:
            return json_response(
                422,
                {
                    "code": "INVALID_FIELDS",
                    "message": "Le formulaire contient des erreurs. Corrigez les champs signalés.",
                    "fields": fields,
                },
            )
        expected = self.passwords.get(elector_id) or self._imported_password(elector_id)
        if not expected or not hmac.compare_digest(expected.encode(), password.encode()):
            return json_response(
                401,
                {"code": "BAD_LOGIN", "message": "Identifiant ou mot de passe de démonstration incorrect."},
            )
        token = self.portal.issue(elector_id)
        return json_response(200, {"elector_id": elector_id}, [("set-cookie", self.portal.cookie(token))])

    def _imported_password(self, elector_id: str) -> str:
        """Electors imported by `reassort-import-roll` after the start log in like add_roll's."""
        return password_for_imported(elector_id) if self.store.get(elector_id) is not None else ""

    def _logout(self, _request: HttpRequest) -> HttpResponse:
        return json_response(200, {}, [("set-cookie", self.portal.clear_cookie())])

    def _vote_page(self, request: HttpRequest) -> HttpResponse:
        if not self._session(request):
            return redirect("/local/login")
        return self._page("vote.html")(request)

    def _vote(self, request: HttpRequest) -> HttpResponse:
        elector_id = self._session(request)
        if not elector_id:
            return json_response(
                401, {"code": "UNAUTHENTICATED", "message": "Votre session a expiré. Reconnectez-vous."}
            )
        code = "".join(str(_json_body(request).get("code") or "").split())
        if not code:
            return json_response(
                422,
                {
                    "code": "INVALID_FIELDS",
                    "message": "Le formulaire contient des erreurs. Corrigez les champs signalés.",
                    "fields": [
                        {"name": "code", "code": "REQUIRED", "message": "Saisissez votre code de vote."}
                    ],
                },
            )
        record = self.store.get(elector_id)
        if record is None or not self.hasher.verify(record.vote_code_hash, code):
            return json_response(
                403,
                {
                    "code": "WRONG_VOTE_CODE",
                    "message": "Le code de vote saisi est incorrect.",
                    "fields": [
                        {
                            "name": "code",
                            "code": "WRONG_VOTE_CODE",
                            "message": "Le code de vote saisi est incorrect.",
                        }
                    ],
                },
            )
        return json_response(200, {"accepted": True, "display_name": record.display_name})

    def _outbox_json(self, request: HttpRequest) -> HttpResponse:
        """`?after=<seq>`: only messages sent after that one; `?to=<recipient>`: only those sent
        to that address or number. `last_seq` is the newest message's, whatever the filters."""
        query = parse_qs(request.query)
        after_text = (query.get("after") or ["0"])[-1]
        to = query["to"][-1] if query.get("to") else None
        if not after_text.isdigit():
            return json_response(
                422, {"code": "INVALID_FIELDS", "message": "after : numéro de message attendu."}
            )
        return json_response(200, self.outbox.as_json(int(after_text), to))

    def _outbox_page(self, _request: HttpRequest) -> HttpResponse:
        template = (LOCAL_PAGES / "outbox.html").read_text(encoding="utf-8")
        rows = self.outbox.as_html()
        empty = "" if rows else '<p id="outbox-empty">Aucun message envoyé pour le moment.</p>'
        return html_response(200, template.replace("{{rows}}", rows).replace("{{empty}}", empty))

    def _clock(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            offset = _json_body(request).get("offset_seconds", 0)
            if not isinstance(offset, int | float) or isinstance(offset, bool):
                return json_response(
                    422, {"code": "INVALID_FIELDS", "message": "offset_seconds: nombre attendu."}
                )
            self.clock.shift(float(offset))
        return json_response(200, {"offset_seconds": self.clock.offset_seconds, "now": self.clock.now()})

    def _demo(self, _request: HttpRequest) -> HttpResponse:
        return json_response(200, self.summary())

    def summary(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "moto_url": self.moto_url,
            "dynamodb_url": self.dynamodb_url,
            "franceconnect_url": self.franceconnect_url,
            "electors": [e.public() for e in self.electors],
            "import_environment": self.import_environment(),
        }

    def import_environment(self) -> dict[str, str]:
        """What `reassort-import-roll` and the load kit need to work against this stack: its
        table, endpoint, keys (random per start, local only) and load-test session issuer."""
        from reassort.config import get_settings

        settings = get_settings()
        return {
            "ELECTORS_TABLE": settings.electors_table,
            "LOCAL_SECRETS": os.environ["LOCAL_SECRETS"],
            "ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
            "ARGON2_TIME_COST": str(settings.argon2_time_cost),
            "ARGON2_PARALLELISM": str(settings.argon2_parallelism),
            "STAGE": "local",
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "LOAD_TEST_ISSUER": os.environ["PORTAL_TEST_ISSUER"],
            "LOAD_TEST_ISSUER_KEY": os.environ["PORTAL_TEST_ISSUER_KEY"],
            "LOAD_PORTAL_AUDIENCE": self.portal.audience,
        }

    # ---- stop ----------------------------------------------------------------------------------
    def stop(self) -> None:
        if self._http is not None:
            self._http.stop()
            self._http = None
        router = getattr(self, "router", None)
        if router is not None:
            router.stop()
        if self._fc is not None:
            try:
                self._fc.stop()
            finally:
                self._fc = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._engine is not None:
            self._engine.stop()
            self._engine = None

    def credentials_text(self) -> str:
        lines = []
        for e in self.electors:
            ident = " / ".join(
                x for x in (f"NUMEN {e.numen}" if e.numen else "", f"NIR {e.nir10}" if e.nir10 else "") if x
            )
            lines.append(
                f"  {e.elector_id:<22} mot de passe {e.password:<12} code de vote {e.vote_code}\n"
                f"      question : {e.question}  réponse : {e.answer}  {ident}"
                + (f"\n      FranceConnect : identité « {e.fc_identity} »" if e.fc_identity else "")
            )
        return "\n".join(lines)
