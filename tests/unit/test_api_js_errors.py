"""Answers the service did not write itself (API Gateway's throttle, the firewall) reach the
elector in French, with a machine code, never as "Too Many Requests"."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

API_JS = Path(__file__).resolve().parents[2] / "web" / "assets" / "js" / "api.js"

SCRIPT = """
const { callApi } = await import("file://" + process.argv[1]);
const cases = JSON.parse(process.argv[2]);
const results = [];
for (const [status, body] of cases) {
  globalThis.fetch = async () => new Response(body, { status, headers: { "Content-Type": "application/json" } });
  results.push(await callApi("POST", "/api/reassort/challenge", {}));
}
console.log(JSON.stringify(results));
"""


def _call(tmp_path: Path, cases: list[tuple[int, str]]) -> list[dict[str, object]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required (make node)")
    module = tmp_path / "api.mjs"
    module.write_text(API_JS.read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, str(module), json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def test_given_throttle_and_firewall_answers_when_called_then_the_elector_reads_french(
    tmp_path: Path,
) -> None:
    api_gateway_429, waf_429, waf_403, ours = _call(
        tmp_path,
        [
            (429, '{"message":"Too Many Requests"}'),
            (429, ""),
            (403, "<html>Forbidden</html>"),
            (503, '{"code":"SEND_FAILED","message":"Aucun lien n\'a été émis."}'),
        ],
    )

    assert api_gateway_429["error"]["code"] == "RATE_LIMITED"  # type: ignore[index]
    assert "beaucoup de demandes" in api_gateway_429["error"]["message"]  # type: ignore[index]
    assert waf_429["error"]["code"] == "RATE_LIMITED"  # type: ignore[index]
    assert waf_403["error"]["code"] == "REQUEST_BLOCKED"  # type: ignore[index]
    assert "bloquée" in waf_403["error"]["message"]  # type: ignore[index]
    assert ours["error"] == {"code": "SEND_FAILED", "message": "Aucun lien n'a été émis."}
