"""Privacy scan: no destination, token, answer, NUMEN / NIR or vote code in the tables or the logs.

    python -m tools.privacy_scan --secrets build/load/secrets.csv --log build/load/stack.log \
        --endpoint http://127.0.0.1:PORT [--outbox build/load/outbox.json] [--seen build/load/seen.txt]

What is looked for comes from what the electors typed and received: the secrets file of the
synthetic roll (`tools/synthetic_roll.py`: answers, NUMEN, NIR10, initial vote codes, personal
e-mail addresses and mobile numbers), the link tokens of every message of the outbox, and the
tokens and new vote codes the load kit saw (one ``kind<TAB>value`` per line). The professional
e-mail address is part of the roll and is not a finding. Argon2 hash strings are skipped: they
are what the tables must hold.

Findings name the kind and the place (table and item key, or file and line), never the value.
Exit status 1 when something is found. The load run (`tools/load/run.py`) calls it at its end.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ARGON2 = re.compile(r"\$argon2id?\$[^\s\"',]*")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_-]{43,}")
_CODE_RUN = re.compile(r"[A-Za-z0-9!$*%?+=]{12,}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+")
_PHONE = re.compile(r"\+?\d[\d .]{7,}\d")
_LINK_TOKEN = re.compile(r"#t=([A-Za-z0-9_-]+)")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
TOKEN_LENGTH = 43
CODE_LENGTH = 12


def _fold(text: str) -> str:
    """Case and accents removed, spaces collapsed: the answer's normalisation, roughly."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def _phone_forms(number: str) -> set[str]:
    digits = re.sub(r"\D", "", number)
    forms = {number, digits}
    if digits.startswith("33") and len(digits) == 11:
        forms |= {"0" + digits[2:], "+" + digits}
    return forms


@dataclass
class Needles:
    """What must not appear, by kind."""

    literal: dict[str, set[str]] = field(default_factory=dict)  # few values, searched folded
    tokens: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)

    def add_literal(self, kind: str, value: str) -> None:
        if value.strip():
            self.literal.setdefault(kind, set()).add(_fold(value))

    def add_destination(self, value: str) -> None:
        value = value.strip()
        if "@" in value:
            self.emails.add(value.lower())
        elif value:
            self.phones |= _phone_forms(value)

    def counts(self) -> dict[str, int]:
        return {
            **{kind: len(values) for kind, values in sorted(self.literal.items())},
            "token": len(self.tokens),
            "vote_code": len(self.codes),
            "email": len(self.emails),
            "mobile": len({re.sub(r"\D", "", p)[-9:] for p in self.phones}),
        }


def needles_from(
    secrets_path: Path | None = None,
    outbox: dict[str, Any] | None = None,
    record_path: Path | None = None,
    extra_destinations: Iterable[str] = (),
) -> Needles:
    from reassort.domain.normalise import normalise_answer

    needles = Needles()
    if secrets_path is not None:
        with secrets_path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                answer = row.get("answer", "")
                needles.add_literal("answer", answer)
                if answer:
                    needles.add_literal("answer", normalise_answer(answer))
                needles.add_literal("numen", row.get("numen", ""))
                needles.add_literal("nir10", row.get("nir10", ""))
                if row.get("vote_code"):
                    needles.codes.add(row["vote_code"])
                needles.add_destination(row.get("personal_email", ""))
                needles.add_destination(row.get("mobile", ""))
    for message in (outbox or {}).get("messages", []):
        for text in [*(message.get("links") or []), message.get("body", "")]:
            needles.tokens.update(_LINK_TOKEN.findall(text))
    if record_path is not None and record_path.is_file():
        for line in record_path.read_text(encoding="utf-8").splitlines():
            kind, _, value = line.partition("\t")
            if kind == "token":
                needles.tokens.add(value)
            elif kind == "code":
                needles.codes.add(value)
    for destination in extra_destinations:
        needles.add_destination(destination)
    return needles


def scan_text(text: str, needles: Needles) -> Iterator[tuple[str, int]]:
    """(kind, offset) of every value of ``needles`` found in ``text``."""
    text = _ARGON2.sub(lambda m: " " * len(m.group(0)), text)
    folded = _fold_same_length(text)
    for kind, values in needles.literal.items():
        for value in values:
            start = folded.find(value)
            while start != -1:
                yield kind, start
                start = folded.find(value, start + 1)
    for match in _TOKEN_RUN.finditer(text):
        run = match.group(0)
        for i in range(len(run) - TOKEN_LENGTH + 1):
            if run[i : i + TOKEN_LENGTH] in needles.tokens:
                yield "token", match.start() + i
    for match in _CODE_RUN.finditer(text):
        run = match.group(0)
        for i in range(len(run) - CODE_LENGTH + 1):
            if run[i : i + CODE_LENGTH] in needles.codes:
                yield "vote_code", match.start() + i
    for match in _EMAIL.finditer(text):
        if match.group(0).lower() in needles.emails:
            yield "destination", match.start()
    for match in _PHONE.finditer(text):
        if re.sub(r"[ .]", "", match.group(0)) in needles.phones:
            yield "destination", match.start()


def _fold_same_length(text: str) -> str:
    """Case-folded text with accents dropped, character for character (offsets stay valid)."""
    out = []
    for c in text:
        base = unicodedata.normalize("NFKD", c)[:1] if ord(c) > 127 else c
        low = base.lower()
        out.append(low if len(low) == 1 else base)
    return "".join(out)


@dataclass
class TableScan:
    items: int
    findings: list[dict[str, Any]]
    needles: Needles
    needle_counts: dict[str, int]


def scan_tables(client: Any, needles: Needles) -> tuple[int, list[dict[str, Any]]]:
    """Every item of every table of the endpoint, as JSON, one per line."""
    findings: list[dict[str, Any]] = []
    items = 0
    for table in client.list_tables()["TableNames"]:
        keys = [k["AttributeName"] for k in client.describe_table(TableName=table)["Table"]["KeySchema"]]
        lines: list[str] = []
        item_keys: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                lines.append(json.dumps(item, ensure_ascii=False, default=str))
                item_keys.append({k: next(iter(item[k].values())) for k in keys if k in item})
        items += len(lines)
        text = "\n".join(lines)
        starts = _line_starts(text)
        for kind, offset in scan_text(text, needles):
            findings.append({"table": table, "key": item_keys[_line_of(starts, offset)], "kind": kind})
    return items, findings


def scan_files(paths: Sequence[Path], needles: Needles) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = []
    for path in paths:
        # JSON log lines may escape accents (\u00e9): searched as the characters they stand for
        text = _UNICODE_ESCAPE.sub(
            lambda m: chr(int(m.group(1), 16)), path.read_text(encoding="utf-8", errors="replace")
        )
        starts = _line_starts(text)
        for kind, offset in scan_text(text, needles):
            findings.append({"file": str(path), "line": _line_of(starts, offset) + 1, "kind": kind})
    return findings


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _line_of(starts: list[int], offset: int) -> int:
    from bisect import bisect_right

    return bisect_right(starts, offset) - 1


def scan_load_run(
    *,
    secrets_path: Path,
    endpoint_url: str,
    outbox: dict[str, Any] | None = None,
    record_path: Path | None = None,
    extra_destinations: Iterable[str] = (),
    region: str = "eu-west-3",
) -> TableScan:
    """The tables of a running local stack (its DynamoDB engine) against the load run's secrets."""
    import boto3

    needles = needles_from(secrets_path, outbox, record_path, extra_destinations)
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the local engine's dummy credentials
    )
    items, findings = scan_tables(client, needles)
    return TableScan(items, findings, needles, needles.counts())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--secrets", type=Path, required=True, help="secrets file of the synthetic roll")
    parser.add_argument("--log", type=Path, action="append", default=[], help="log file (repeatable)")
    parser.add_argument("--endpoint", help="DynamoDB endpoint of the local stack (its dynoxide URL)")
    parser.add_argument("--outbox", type=Path, help="/local/outbox.json saved to a file")
    parser.add_argument("--seen", type=Path, help="tokens and vote codes seen by the load kit")
    args = parser.parse_args(argv)
    outbox = json.loads(args.outbox.read_text(encoding="utf-8")) if args.outbox else None
    if args.endpoint:
        scan = scan_load_run(
            secrets_path=args.secrets, endpoint_url=args.endpoint, outbox=outbox, record_path=args.seen
        )
        needles, items, findings = scan.needles, scan.items, scan.findings
    else:
        needles, items, findings = needles_from(args.secrets, outbox, args.seen), 0, []
    findings += scan_files(args.log, needles)
    print(json.dumps({"items_scanned": items, "needles": needles.counts(), "findings": findings}, indent=2))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
