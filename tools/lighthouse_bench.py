"""`make lighthouse`: Lighthouse (mobile, simulated slow 4G) on every elector page of the local stack.

The local stack serves the pages as CloudFront does (gzip, same headers). This script starts it
on a free port, walks an elector through the question Défi to get a real link, then runs the
Lighthouse CLI (`node_modules/.bin/lighthouse`, Debian's Chromium) on each page, cold cache, and
prints the performance score, LCP, FCP, total weight and the number of requests. A benchmark,
not a test: figures vary with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ELECTOR = "100001"
PAGES = {
    "Choix": "/reassort/",
    "Question Défi": "/reassort/question-defi",
    "Demande envoyée": "/reassort/demande-envoyee",
    "Lien (code de vote)": None,  # the real link, found in the outbox
    "FranceConnect : lien envoyé": "/reassort/franceconnect/envoye",
    "Accessibilité": "/reassort/accessibilite",
}


def start_stack(ready: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", "0", "--ready-file", str(ready), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not ready.is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the local stack did not start")
        time.sleep(0.1)
    return process


def post(url: str, body: dict[str, Any], cookie: str = "") -> tuple[Any, str]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json", "cookie": cookie}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return json.loads(response.read() or b"{}"), response.headers.get("set-cookie", "")


def elector_session(base: str, summary: dict[str, Any]) -> tuple[str, str]:
    """A portal session cookie and a fresh link, through the question Défi."""
    elector = next(e for e in summary["electors"] if e["elector_id"] == ELECTOR)
    _, set_cookie = post(f"{base}/local/login", {"elector_id": ELECTOR, "password": elector["password"]})
    cookie = set_cookie.split(";", 1)[0]
    post(
        f"{base}/api/reassort/challenge",
        {
            "answer": elector["answer"],
            "identifier": elector["numen"] or elector["nir10"],
            "channel": "email",
            "destination": "lighthouse.perso@exemple.fr",
        },
        cookie,
    )
    with urllib.request.urlopen(f"{base}/local/outbox.json", timeout=30) as response:  # noqa: S310
        messages = json.loads(response.read())["messages"]
    link = next(m["links"][0] for m in reversed(messages) if m["links"])
    return cookie, link


def lighthouse(url: str, cookie: str, out: Path) -> dict[str, Any]:
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--only-categories=performance",
            "--output=json",
            f"--output-path={out}",
            "--quiet",
            f"--extra-headers={json.dumps({'Cookie': cookie})}",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        ],
        check=True,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    audits = report["audits"]
    return {
        "score": round(report["categories"]["performance"]["score"] * 100),
        "lcp_s": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "fcp_s": audits["first-contentful-paint"]["numericValue"] / 1000,
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "weight_kb": audits["total-byte-weight"]["numericValue"] / 1024,
        "requests": len(audits["network-requests"]["details"]["items"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--page", action="append", choices=list(PAGES), help="only these pages (repeatable)")
    args = parser.parse_args(argv)
    if not LIGHTHOUSE.exists():
        raise SystemExit("Lighthouse is missing: run `make node`")
    subprocess.run(
        [sys.executable, "-m", "local.web_assets"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL
    )
    with tempfile.TemporaryDirectory() as scratch:
        ready = Path(scratch) / "ready.json"
        stack = start_stack(ready)
        try:
            summary = json.loads(ready.read_text(encoding="utf-8"))
            base = summary["base_url"]
            cookie, link = elector_session(base, summary)
            figures: dict[str, dict[str, Any]] = {}
            for name, path in PAGES.items():
                if args.page and name not in args.page:
                    continue
                url = link if path is None else base + path
                figures[name] = lighthouse(url, cookie, Path(scratch) / f"{len(figures)}.json")
                shown = re.sub(r"#t=.*", "#t=…", url.removeprefix(base))
                row = figures[name]
                print(
                    f"| {name} | `{shown}` | {row['score']} | {row['lcp_s']:.1f} s | {row['fcp_s']:.1f} s "
                    f"| {row['cls']:.2f} | {row['tbt_ms']:.0f} ms | {row['weight_kb']:.0f} KB | {row['requests']} |",
                    flush=True,
                )
        finally:
            stack.terminate()
            stack.wait(timeout=30)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
