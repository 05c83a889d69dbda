"""Load kit (never imports locust here: it monkey-patches the test process): the journey helpers, the election-day shape, and a short headless run."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.load import journeys

ROOT = Path(__file__).resolve().parents[2]


def test_given_an_outbox_when_searched_then_the_newest_link_to_the_destination_is_found():
    outbox = {
        "messages": [
            {"seq": 1, "to": ["a@example.org"], "body": "", "links": ["https://x/reassort/code-vote#t=old"]},
            {
                "seq": 2,
                "to": ["b@example.org"],
                "body": "",
                "links": ["https://x/reassort/code-vote#t=other"],
            },
            {"seq": 3, "to": ["a@example.org"], "body": "https://x/reassort/code-vote#t=new_-1", "links": []},
        ]
    }
    assert journeys.find_token(outbox, "a@example.org") == ("new_-1", 3)
    assert journeys.find_token(outbox, "a@example.org", after_seq=3) == (None, 3)
    assert journeys.find_token(outbox, "c@example.org") == (None, 0)


def test_given_two_workers_when_loading_the_roll_then_each_gets_a_disjoint_half(tmp_path):
    from tools.synthetic_roll import write_roll

    write_roll(10, tmp_path / "r.csv", tmp_path / "s.csv", plaintext=True)
    first = journeys.load_electors(tmp_path / "s.csv", 0, 2)
    second = journeys.load_electors(tmp_path / "s.csv", 1, 2)
    assert len(first) == len(second) == 5
    assert not {e.elector_id for e in first} & {e.elector_id for e in second}
    pool = journeys.ElectorPool(first)
    assert [pool.take().elector_id for _ in range(6)][5] == first[0].elector_id
    assert "demo-" not in repr(first[0])


def test_given_the_election_day_shape_when_sampled_then_opening_and_last_hour_peak():
    total, base = 1000, 10
    assert journeys.users_at(10, total, base) == 10
    assert journeys.users_at(100, total, base) == 30  # opening rush ×3
    assert journeys.users_at(400, total, base) == 10
    assert journeys.users_at(700, total, base) == 45  # last hour ×4.5
    assert journeys.users_at(980, total, base) == 5
    assert journeys.users_at(1000, total, base) is None


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_given_the_local_stack_when_a_short_headless_run_is_made_then_journeys_complete_without_failure(
    tmp_path,
):
    out = tmp_path / "load"
    command = [
        sys.executable, "-m", "tools.load.run",
        "--electors", "40", "--duration", "12s", "--users", "2", "--spawn-rate", "2",
        "--think", "0.2", "--out", str(out),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=85)
    assert result.returncode == 0, result.stderr[-2000:]
    with (out / "load_stats.csv").open(newline="") as handle:
        stats = {row["Name"]: row for row in csv.DictReader(handle)}
    assert int(stats["Aggregated"]["Failure Count"]) == 0
    assert int(stats["POST /api/links/redeem"]["Request Count"]) > 0
    assert (out / "report.html").stat().st_size > 0
    run = json.loads((out / "run.json").read_text())
    assert run["argon2"]["verify_ms"] > 0
