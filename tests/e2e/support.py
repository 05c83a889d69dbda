"""Helpers of the browser tests: the stack handle, the page wrapper, the axe-core check."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
SCREENSHOTS = BUILD / "screenshots"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DISPLAY_SECONDS = 3


@dataclass
class Stack:
    base_url: str
    electors: dict[str, dict[str, Any]]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url(path), timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.url(path), data=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def outbox(self) -> list[dict[str, Any]]:
        return list(self.get_json("/local/outbox.json")["messages"])

    def set_clock_offset(self, seconds: float) -> None:
        self.post_json("/local/clock", {"offset_seconds": seconds})


@dataclass
class BrowserPage:
    """A page in a fresh browser context, failing the test on CSP violations or script errors."""

    page: Any
    stack: Stack
    problems: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.stack.url(path))

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def check_accessibility(self, name: str) -> None:
        """axe-core in the page: no serious or critical violation."""
        violations = run_axe(self.page)
        bad = [v for v in violations if v["impact"] in {"serious", "critical"}]
        assert not bad, f"{name}: " + json.dumps(
            [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": v["nodes"][:3]} for v in bad],
            ensure_ascii=False,
            indent=1,
        )

    def capture(self, name: str) -> None:
        self.screenshot(name)
        self.check_accessibility(name)

    def login(self, elector_id: str) -> None:
        elector = self.stack.electors[elector_id]
        self.goto("/local/login")
        self.page.get_by_label("Identifiant électeur").fill(elector_id)
        self.page.get_by_label("Mot de passe de démonstration").fill(elector["password"])
        self.page.get_by_role("button", name="Se connecter").click()
        self.page.wait_for_url("**/local/vote")


_AXE_SOURCE: list[str] = []


def run_axe(page: Any) -> list[dict[str, Any]]:
    if not _AXE_SOURCE:
        _AXE_SOURCE.append(AXE_JS.read_text(encoding="utf-8"))
    # Evaluated through the DevTools protocol: the pages' CSP forbids injected <script> tags.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_AXE_SOURCE[0] + "\n;undefined")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" "))}));
        }"""
    )
    return list(result)
