"""Post-deploy smoke test of a stage, end to end, without touching a real elector.

    make smoke URL=https://reassort.recette.elections.example.gouv.fr
    python -m tools.smoke URL [--session JWT --answer A --identifier I] [--api-origin URL] [--burst N]

Checks, each reported on one line (nothing personal is printed):
- pages: HTML served with the security headers (CSP without inline script, nosniff, no-referrer,
  no framing; HSTS over HTTPS);
- API contract: refusals are JSON with a machine code, a French message and `no-store`;
- journey (with `--session`, a portal session of the stage's declared test elector): the challenge
  question, then a link sent to SES's mailbox simulator (`success@simulator.amazonses.com`) — it
  uses one of the test elector's daily links, never a real address;
- burst: N parallel calls answer only with the contract's codes or the WAF's French 429, never
  5xx (run it in count mode, then read the WAF's counted requests);
- edge (with `--api-origin`, the HTTP API's execute-api URL): a call around CloudFront reaches
  no route.
Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

SIMULATOR_SUCCESS = "success@simulator.amazonses.com"
PAGES = ("/", "/reassort/", "/reassort/code-vote")
TIMEOUT = 15
FRENCH_MARKERS = (" le ", " la ", " de ", " votre ", " vous ", "é", "è")
MALFORMED_TOKEN = "A" * 43


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class Smoke:
    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = session or requests.Session()
        self.results: list[Check] = []

    def record(self, name: str, run: Callable[[], str]) -> None:
        try:
            self.results.append(Check(name, True, run()))
        except (AssertionError, requests.RequestException, ValueError, KeyError) as failure:
            self.results.append(Check(name, False, str(failure) or type(failure).__name__))

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=TIMEOUT, allow_redirects=False, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.http.post(
            self.base_url + path, json=body, timeout=TIMEOUT, allow_redirects=False, **kwargs
        )

    # -- checks ----------------------------------------------------------------------------
    def pages(self) -> str:
        for path in PAGES:
            response = self.get(path)
            if response.status_code in (301, 302, 307, 308):
                response = self.get(response.headers["Location"].removeprefix(self.base_url))
            assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
            assert "text/html" in response.headers.get("Content-Type", ""), f"{path}: not HTML"
            headers = {k.lower(): v for k, v in response.headers.items()}
            csp = headers.get("content-security-policy", "")
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, f"{path}: CSP {csp!r}"
            assert "frame-ancestors 'none'" in csp or headers.get("x-frame-options") == "DENY", path
            assert headers.get("x-content-type-options") == "nosniff", f"{path}: nosniff missing"
            assert headers.get("referrer-policy") == "no-referrer", f"{path}: Referrer-Policy"
            if self.base_url.startswith("https://"):
                assert "max-age=" in headers.get("strict-transport-security", ""), f"{path}: no HSTS"
        return f"{len(PAGES)} pages, security headers present"

    def api_contract(self) -> str:
        unauthenticated = self.get("/api/reassort/challenge")
        _refusal(unauthenticated, 401, "UNAUTHENTICATED")
        invalid = self.post("/api/links/check", {"token": MALFORMED_TOKEN})
        _refusal(invalid, 410, "LINK_INVALID")
        return "401 UNAUTHENTICATED and 410 LINK_INVALID, French, no-store"

    def journey(self, session_token: str, answer: str, identifier: str) -> str:
        cookies = {"portal_session": session_token}
        challenge = self.get("/api/reassort/challenge", cookies=cookies)
        assert challenge.status_code == 200, f"challenge question: HTTP {challenge.status_code}"
        assert challenge.json().get("question"), "no question in the challenge"
        sent = self.post(
            "/api/reassort/challenge",
            {
                "answer": answer,
                "identifier": identifier,
                "channel": "email",
                "destination": SIMULATOR_SUCCESS,
            },
            cookies=cookies,
        )
        body = sent.json()
        assert sent.status_code == 202, f"challenge answer: HTTP {sent.status_code} {body.get('code')}"
        assert body.get("channel") == "email" and "@" in body.get("masked_destination", ""), body
        return "question shown, link sent to the SES mailbox simulator"

    def burst(self, calls: int) -> str:
        def one(_: int) -> tuple[int, str]:
            response = self.get("/api/reassort/challenge")
            try:
                code = str(response.json().get("code", ""))
            except ValueError:
                code = ""
            return response.status_code, code

        with ThreadPoolExecutor(max_workers=min(calls, 16)) as pool:
            answers = Counter(pool.map(one, range(calls)))
        allowed = {(401, "UNAUTHENTICATED"), (429, "RATE_LIMITED")}
        unexpected = {answer: n for answer, n in answers.items() if answer not in allowed}
        assert not unexpected, f"unexpected answers: {unexpected}"
        return ", ".join(f"{n} x {status} {code}" for (status, code), n in sorted(answers.items()))

    def around_the_edge(self, api_origin: str) -> str:
        response = self.http.post(
            api_origin.rstrip("/") + "/api/links/check", json={"token": MALFORMED_TOKEN}, timeout=TIMEOUT
        )
        _refusal(response, 404, "NOT_FOUND")
        return "a call straight to the API reaches no route"


def _refusal(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, f"expected HTTP {status}, got {response.status_code}"
    body = response.json()
    assert body.get("code") == code, f"expected {code}, got {body.get('code')}"
    message = f" {body.get('message', '')} ".lower()
    assert any(marker in message for marker in FRENCH_MARKERS), f"{code}: message not in French"
    assert "no-store" in response.headers.get("Cache-Control", ""), f"{code}: cacheable"


def run(args: argparse.Namespace, session: requests.Session | None = None) -> list[Check]:
    smoke = Smoke(args.url, session)
    smoke.record("pages", smoke.pages)
    smoke.record("api-contract", smoke.api_contract)
    if args.session:
        smoke.record("journey", lambda: smoke.journey(args.session, args.answer, args.identifier))
    if args.burst:
        smoke.record("burst", lambda: smoke.burst(args.burst))
    if args.api_origin:
        smoke.record("around-the-edge", lambda: smoke.around_the_edge(args.api_origin))
    return smoke.results


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description="Post-deploy smoke test of a stage (no real elector).")
    result.add_argument("url", help="the stage's public base URL")
    result.add_argument("--session", help="portal session (JWT) of the stage's test elector")
    result.add_argument("--answer", default="", help="the test elector's challenge answer")
    result.add_argument("--identifier", default="", help="the test elector's NUMEN or NIR10")
    result.add_argument("--burst", type=int, default=20, help="parallel calls of the burst check (0: none)")
    result.add_argument("--api-origin", help="the HTTP API's execute-api URL (checks the origin gate)")
    return result


def main(argv: list[str] | None = None) -> int:
    results = run(parser().parse_args(argv))
    for check in results:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name:<16} {check.detail}")
    print(json.dumps({"passed": sum(c.ok for c in results), "failed": sum(not c.ok for c in results)}))
    return 0 if all(check.ok for check in results) else 1


if __name__ == "__main__":
    sys.exit(main())
