"""Locust journeys: login → challenge → link → check → redeem, locally or against a stage.

    locust -f tools/load/locustfile.py --host http://127.0.0.1:8000        # flat load
    locust -f tools/load/locustfile.py,tools/load/shape.py --host ...      # election-day shape

Environment:
  LOAD_SECRETS        secrets file of the synthetic roll (tools/synthetic_roll.py)
  LOAD_SMS_SHARE      share of question-path journeys asking for an SMS        (default 0.3)
  LOAD_WRONG_SHARE    share of journeys starting with a wrong answer           (default 0.2)
  LOAD_FC_SHARE       share of FranceConnect journeys (emulator identities)    (default 0)
  LOAD_FC_ELECTORS    JSON list of {"elector_id", "fc_identity", "email"} for the FC journey
  LOAD_WORKER_COUNT   number of Locust workers (each takes its own slice of the roll)
  LOAD_THINK_SECONDS  pause between journeys of one user                      (default 1)
  LOAD_PACE_SECONDS   if set, one journey per user every N seconds (a fixed arrival rate:
                      users / N journeys per second, whatever the latency)
  LOAD_RECORD         file where the links' tokens and the new vote codes are appended, for
                      the privacy scan after the run (tools/privacy_scan.py)     (default none)
  LOAD_LOGIN          local (demonstration portal) | test-issuer (stage)        (default local)
  LOAD_LINKS          outbox (local stack) | s3 (SES receiving on a stage)      (default outbox)
  LOAD_TEST_ISSUER, LOAD_PORTAL_AUDIENCE, LOAD_TEST_ISSUER_SECRET_ID (or LOAD_TEST_ISSUER_KEY),
  LOAD_INBOX_BUCKET, LOAD_INBOX_PREFIX: see tools/load/plugins.py and tools/load/README.md

Login and link reading are plug-ins (tools/load/plugins.py): the local run and a stage run
go through the same two interfaces. Request names are the product's routes; the local helpers
(login, outbox) are named ``[local] …`` so they can be told apart in the report. A refusal the journey asked for (wrong
answer: 401/403 ``WRONG_CREDENTIALS``) counts as a success under its own name; anything else
unexpected is a failure. The outbox is read with ``?to=<destination>&after=<seq>``: each poll
returns this journey's new messages only, however many the run has sent.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import HttpUser, between, constant_pacing, events, task
from locust.env import Environment

from tools.load.journeys import Elector, ElectorPool, load_electors, password_for, wrong
from tools.load.plugins import LinkReader, Login, describe_failure, from_env

SMS_SHARE = float(os.environ.get("LOAD_SMS_SHARE", "0.3"))
WRONG_SHARE = float(os.environ.get("LOAD_WRONG_SHARE", "0.2"))
FC_SHARE = float(os.environ.get("LOAD_FC_SHARE", "0"))
THINK = float(os.environ.get("LOAD_THINK_SECONDS", "1"))
PACE = float(os.environ.get("LOAD_PACE_SECONDS", "0"))
RECORD = os.environ.get("LOAD_RECORD", "")
# The emulator has a handful of identities and each elector may get 5 links a day: beyond
# that, FranceConnect journeys would only measure the quota refusal.
FC_QUOTA = int(os.environ.get("LOAD_FC_QUOTA", "5"))
_fc_used: dict[str, int] = {}
# One journey at a time per FranceConnect elector: a second link redeemed first would revoke
# this one (the product's rule), which is not what the journey measures.
_fc_busy: set[str] = set()

_pool: ElectorPool | None = None
_plugins: tuple[Login, LinkReader] | None = None
_environment: Environment | None = None
FINAL_STATS = os.environ.get("LOAD_FINAL_STATS", "")


@events.quit.add_listener
def _write_final_stats(**_kwargs: Any) -> None:
    """Locust rewrites its stats CSV every few seconds only: the requests that end after the
    last rewrite (while users stop) are missing from it. The figures Locust prints at the end
    are written here once every user has stopped, for the run's summary."""
    if not FINAL_STATS or _environment is None or _environment.runner is None:
        return
    if type(_environment.runner).__name__ == "WorkerRunner":
        return
    stats = _environment.runner.stats
    entries = [*stats.entries.values(), stats.total]
    Path(FINAL_STATS).write_text(json.dumps({entry.name: _figures(entry) for entry in entries}))


def _figures(entry: Any) -> dict[str, float]:
    return {
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": round(entry.total_rps, 3),
        "p50_ms": entry.get_response_time_percentile(0.5) or 0,
        "p95_ms": entry.get_response_time_percentile(0.95) or 0,
        "p99_ms": entry.get_response_time_percentile(0.99) or 0,
    }


@events.init.add_listener
def _load_roll(environment: Environment, **_kwargs: Any) -> None:
    """Each worker (or the single local process) loads its slice of the synthetic roll."""
    global _pool, _plugins, _environment
    _environment = environment
    runner = environment.runner
    if runner is not None and type(runner).__name__ == "MasterRunner":
        return
    _plugins = from_env(base_url=environment.host or "")
    path = Path(os.environ.get("LOAD_SECRETS", "build/load/secrets.csv"))
    index = int(getattr(runner, "worker_index", 0) or 0)
    count = int(os.environ.get("LOAD_WORKER_COUNT", "1"))
    _pool = ElectorPool(load_electors(path, index, count))


class ReissueUser(HttpUser):
    wait_time = constant_pacing(PACE) if PACE else between(THINK * 0.5, THINK * 1.5)

    # ---- the journeys ---------------------------------------------------------------------------
    @task
    def reissue(self) -> None:
        assert _pool is not None
        elector = _pool.take()
        if FC_SHARE and random.random() < FC_SHARE and self._fc_journey():
            return
        if not self._login(elector.elector_id, elector.password):
            return
        channel = "sms" if random.random() < SMS_SHARE else "email"
        destination = elector.mobile if channel == "sms" else elector.personal_email
        if random.random() < WRONG_SHARE:
            self._challenge(elector, channel, destination, wrong_answer=True)
        after = self._outbox_seq(destination)
        assert _plugins is not None
        if self._challenge(elector, channel, destination, wrong_answer=False):
            if channel == "sms" and not _plugins[1].reads_sms:
                return  # the SMS simulator accepted it; nothing comes back to read
            token = self._await_link(destination, after)
            if token:
                self._redeem(token)

    # ---- steps ------------------------------------------------------------------------------------
    def _login(self, elector_id: str, password: str) -> bool:
        assert _plugins is not None
        return _plugins[0].login(self.client, elector_id, password)

    def _challenge(self, elector: Elector, channel: str, destination: str, *, wrong_answer: bool) -> bool:
        self.client.get("/api/reassort/challenge", name="GET /api/reassort/challenge")
        body = {
            "answer": wrong(elector.answer) if wrong_answer else elector.answer,
            "identifier": elector.identifier,
            "channel": channel,
            "destination": destination,
        }
        name = "POST /api/reassort/challenge" + (" (wrong answer)" if wrong_answer else "")
        with self.client.post("/api/reassort/challenge", json=body, name=name, catch_response=True) as r:
            code = _code(r)
            if wrong_answer:
                if r.status_code < 500 and code == "WRONG_CREDENTIALS":
                    r.success()
                else:
                    r.failure(f"expected WRONG_CREDENTIALS, got {r.status_code} {code}")
                return False
            if r.status_code == 202:
                r.success()
                return True
            r.failure(f"{describe_failure(r)} {code}")
            return False

    def _outbox_seq(self, destination: str) -> int:
        """Where the link reader stands now: the link of this journey comes after it."""
        assert _plugins is not None
        return _plugins[1].cursor(self.client, destination)

    def _await_link(self, destination: str, after: int) -> str | None:
        assert _plugins is not None
        token = _plugins[1].await_token(self.client, destination, after)
        if token:
            _record("token", token)
            return token
        events.request.fire(
            request_type="LINK",
            name="link delivered",
            response_time=0,
            response_length=0,
            exception=RuntimeError("no link received"),
            context={},
        )
        return None

    def _redeem(self, token: str) -> None:
        with self.client.post(
            "/api/links/check", json={"token": token}, name="POST /api/links/check", catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"{describe_failure(r)} {_code(r)}")
                return
            r.success()
        with self.client.post(
            "/api/links/redeem", json={"token": token}, name="POST /api/links/redeem", catch_response=True
        ) as r:
            code = r.json().get("vote_code") if r.status_code == 200 else None
            if code:
                _record("code", str(code))
                r.success()
            else:
                r.failure(f"{describe_failure(r)} {_code(r)}")

    # ---- FranceConnect (emulator) ----------------------------------------------------------------
    def _fc_journey(self) -> bool:
        """Login → emulator identity → callback → logout → link e-mail → redeem. Returns False
        when no FranceConnect elector is configured (the question path runs instead)."""
        candidates = [
            c
            for c in json.loads(os.environ.get("LOAD_FC_ELECTORS", "[]"))
            if _fc_used.get(c["elector_id"], 0) < FC_QUOTA and c["elector_id"] not in _fc_busy
        ]
        if not candidates:
            return False
        chosen = random.choice(candidates)
        _fc_used[chosen["elector_id"]] = _fc_used.get(chosen["elector_id"], 0) + 1
        _fc_busy.add(chosen["elector_id"])
        try:
            self._fc_steps(chosen)
        finally:
            _fc_busy.discard(chosen["elector_id"])
        return True

    def _fc_steps(self, chosen: dict[str, str]) -> None:
        if not self._login(chosen["elector_id"], password_for(chosen["elector_id"])):
            return
        after = self._outbox_seq(chosen["email"])
        r = self.client.get("/api/fc/login", name="GET /api/fc/login", allow_redirects=False)
        authorize = r.headers.get("Location", "")
        if r.status_code != 302 or not authorize:
            events.request.fire(
                request_type="GET",
                name="GET /api/fc/login",
                response_time=0,
                response_length=0,
                exception=RuntimeError(f"no redirect ({r.status_code})"),
                context={},
            )
            return
        page = self.client.get(authorize, name="[emulator] authorize")
        uid = page.headers.get("X-Interaction-Id", "")
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(authorize))
        r = self.client.post(
            f"{origin}/interaction/{uid}/login",
            data={"identity": chosen["fc_identity"]},
            name="[emulator] login",
            allow_redirects=False,
        )
        location = r.headers.get("Location", "")
        # callback → FranceConnect logout → logout-return → result page
        for name in ("GET /api/fc/callback", "[emulator] session/end", "GET /api/fc/logout-return"):
            if not location:
                break
            r = self.client.get(location, name=name, allow_redirects=False)
            location = r.headers.get("Location", "")
        token = self._await_link(chosen["email"], after)
        if token:
            self._redeem(token)


def _record(kind: str, value: str) -> None:
    if RECORD:
        with open(RECORD, "a", encoding="utf-8") as handle:
            handle.write(f"{kind}\t{value}\n")


def _code(response: Any) -> str:
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return ""
