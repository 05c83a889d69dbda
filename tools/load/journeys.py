"""Plain helpers of the load journeys (no Locust import: unit-testable and reusable)."""

from __future__ import annotations

import csv
import itertools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LINK = re.compile(r"/reassort/code-vote#t=([A-Za-z0-9_\-]+)")


@dataclass(frozen=True)
class Elector:
    elector_id: str
    password: str
    answer: str
    identifier: str
    personal_email: str
    mobile: str

    def __repr__(self) -> str:
        return f"Elector({self.elector_id})"


def password_for(elector_id: str) -> str:
    """The local demonstration portal's password rule."""
    return f"demo-{elector_id}"


def load_electors(path: Path, worker_index: int = 0, worker_count: int = 1) -> list[Elector]:
    """This worker's share of the secrets file: each elector is used by one worker only, so
    that link quotas and locks of one worker never hit another's journeys."""
    out = []
    with path.open(newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle)):
            if n % worker_count != worker_index:
                continue
            out.append(
                Elector(
                    elector_id=row["elector_id"],
                    password=password_for(row["elector_id"]),
                    answer=row["answer"],
                    identifier=row["identifier"],
                    personal_email=row["personal_email"],
                    mobile=row["mobile"],
                )
            )
    return out


class ElectorPool:
    """Hands out each elector once per round (thread- and greenlet-safe enough for Locust)."""

    def __init__(self, electors: list[Elector]) -> None:
        if not electors:
            raise ValueError("no elector for this worker: generate a bigger roll")
        self._cycle: Iterator[Elector] = itertools.cycle(electors)
        self._lock = threading.Lock()
        self.size = len(electors)

    def take(self) -> Elector:
        with self._lock:
            return next(self._cycle)


def find_token(outbox: dict[str, Any], destination: str, after_seq: int = 0) -> tuple[str | None, int]:
    """Token of the newest link sent to ``destination`` after message ``after_seq``."""
    token, newest = None, after_seq
    for message in outbox.get("messages", []):
        seq = int(message.get("seq", 0))
        if seq <= newest or destination not in message.get("to", []):
            continue
        texts = [*(message.get("links") or []), message.get("body", "")]
        found = next((m.group(1) for m in map(LINK.search, texts) if m), None)
        if found:
            token, newest = found, seq
    return token, newest


def wrong(answer: str) -> str:
    return answer + " faux"


# Election-day shape (fractions of the run, factor of the average): see tools/load/shape.py.
STAGES: tuple[tuple[float, float], ...] = ((0.05, 1.0), (0.30, 3.0), (0.60, 1.0), (0.95, 4.5), (1.0, 0.5))


def users_at(elapsed: float, total: float, base: int) -> int | None:
    """Users wanted ``elapsed`` seconds into a run of ``total`` seconds (None: stop)."""
    if elapsed >= total:
        return None
    fraction = elapsed / total
    for end, factor in STAGES:
        if fraction < end:
            return max(1, round(base * factor))
    return None
