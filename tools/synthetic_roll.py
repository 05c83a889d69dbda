"""Synthetic electoral roll: N electors with known secrets, for tests, benchmarks and load runs.

    python -m tools.synthetic_roll --count 1000000 --out build/roll/roll.csv \
        --secrets build/roll/secrets.csv

Two files are written:

* the roll, in the import format (docs/roll-import.md). By default the secrets are argon2id
  hashes; a small pool of secret sets is hashed once and reused across electors, so that a
  million rows take seconds instead of core-days. ``--plaintext`` writes the secrets in clear
  instead (to measure the import's hashing).
* the secrets file for the load kit: for each elector, what they type (answer, identifier),
  their initial vote code, their civil identity (for the FranceConnect emulator) and a
  personal e-mail address and mobile number to receive the link.

Electors sharing a secret set also share the same hash strings (same salt): acceptable for
synthetic data only. Names are fictitious, and by default no address or number can reach
anyone: e-mail addresses are SES mailbox simulator addresses with the elector id as label
(``success+<id>@simulator.amazonses.com``: SES accepts and drops them) and every mobile is an
AWS End User Messaging SMS simulator number (France: +33 7 55 51 25 01 succeeds, …02 fails;
they never reach a carrier). For a rehearsal, ``--personal-domain`` puts the personal
addresses on the test sub-domain whose mail SES receives into S3 (tools/load/README.md).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from reassort.adapters.system import Argon2Profile, SecretHasher
from reassort.domain.codes import generate_vote_code
from reassort.domain.normalise import normalise_answer, parse_identifier
from reassort.roll.schema import COLUMNS, SECRETS

SECRETS_COLUMNS = (
    "elector_id",
    "answer",
    "identifier",
    "numen",
    "nir10",
    "vote_code",
    "personal_email",
    "mobile",
    "birth_family_name",
    "given_names",
    "birthdate",
    "gender",
    "pro_email",
)
QUESTIONS = (
    "Quel est le nom de votre premier animal de compagnie ?",
    "Dans quelle ville êtes-vous né(e) ?",
    "Quel est le prénom de votre meilleur(e) ami(e) d'enfance ?",
    "Quel était le nom de votre école primaire ?",
)
ANSWER_WORDS = ("Éléphant", "Grenoble", "Mistral", "Zoé", "Cévennes", "Noël", "Brocéliande", "Île d'Oléron")
GIVEN_NAMES = ("Camille", "Dominique", "Jean-Pierre", "Anaïs", "Hélène", "Noé", "Maëlle", "Jérôme")
FAMILY_NAMES = ("Martin", "Lefèvre", "D'Almeida", "Bernard", "Nguyen", "Le Goff", "Muller", "Fabre")
SES_SIMULATOR_DOMAIN = "simulator.amazonses.com"
SMS_SIMULATOR_SUCCESS = "+33755512501"
SMS_SIMULATOR_FAILURE = "+33755512502"


@dataclass(frozen=True)
class Destinations:
    """Where the synthetic electors' mail and SMS go. ``None`` domain: the SES simulator."""

    pro_domain: str | None = None
    personal_domain: str | None = None
    simulator_outcome: str = "success"  # success | bounce | complaint | suppressionlist | ooto
    sms_failure_every: int = 0  # every Nth elector gets the simulator's failure number

    def pro_email(self, elector_id: str) -> str:
        label = elector_id.lower()
        if self.pro_domain:
            return f"{label}@{self.pro_domain}"
        return f"{self.simulator_outcome}+pro-{label}@{SES_SIMULATOR_DOMAIN}"

    def personal_email(self, elector_id: str) -> str:
        label = elector_id.lower()
        if self.personal_domain:
            return f"perso.{label}@{self.personal_domain}"
        return f"{self.simulator_outcome}+{label}@{SES_SIMULATOR_DOMAIN}"

    def mobile(self, index: int) -> str:
        every = self.sms_failure_every
        return SMS_SIMULATOR_FAILURE if every and (index + 1) % every == 0 else SMS_SIMULATOR_SUCCESS


@dataclass(frozen=True)
class SecretSet:
    question: str
    answer: str  # as typed (accents, capitals): normalisation is exercised
    numen: str
    nir10: str
    vote_code: str


@dataclass(frozen=True)
class HashedSet:
    answer_hash: str
    numen_hash: str
    nir_hash: str
    vote_code_hash: str


class _SeededRandom:
    """RandomSource over random.Random: reproducible synthetic codes (never for real codes)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def token_bytes(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def choice(self, seq: str) -> str:
        return self.rng.choice(seq)


def make_pool(size: int, seed: int) -> list[SecretSet]:
    rng = random.Random(seed)
    source = _SeededRandom(rng)
    alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    pool = []
    for n in range(size):
        numen = f"{rng.randrange(10, 99)}E{''.join(rng.choice(alphanumeric) for _ in range(10))}"
        department = rng.choice(["75", "69", "13", "2A", "2B", "33", "59", "97"])
        department = "974"[:2] if department == "97" else department
        nir10 = f"{rng.choice('12')}{rng.randrange(60, 99):02d}{rng.randrange(1, 13):02d}{department}{rng.randrange(1, 999):03d}"
        pool.append(
            SecretSet(
                question=QUESTIONS[n % len(QUESTIONS)],
                answer=f"{ANSWER_WORDS[n % len(ANSWER_WORDS)]} {n}",
                numen=numen,
                nir10=nir10,
                vote_code=generate_vote_code(source),
            )
        )
    return pool


def hash_pool(pool: Sequence[SecretSet], hasher: SecretHasher) -> list[HashedSet]:
    return [
        HashedSet(
            answer_hash=hasher.hash(normalise_answer(s.answer)),
            numen_hash=hasher.hash(parse_identifier(s.numen).value),
            nir_hash=hasher.hash(parse_identifier(s.nir10).value),
            vote_code_hash=hasher.hash(s.vote_code),
        )
        for s in pool
    ]


def _letters(n: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "BA": a unique letter suffix so every identity differs."""
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = chr(65 + r) + out
        if n == 0:
            return out.capitalize()


def electors(
    count: int,
    pool: Sequence[SecretSet],
    seed: int,
    prefix: str = "E",
    destinations: Destinations | None = None,
) -> Iterator[dict[str, str]]:
    """One dict per elector with every value, plaintext included (split into the two files)."""
    to = destinations or Destinations()
    width = max(7, len(str(count)))
    rng = random.Random(seed + 1)
    for i in range(count):
        s = pool[i % len(pool)]
        elector_id = f"{prefix}{i:0{width}d}"
        given = GIVEN_NAMES[i % len(GIVEN_NAMES)]
        family = f"{FAMILY_NAMES[(i // len(GIVEN_NAMES)) % len(FAMILY_NAMES)]} {_letters(i)}"
        # a third of the electors have only a NUMEN, a third only a NIR, a third both
        kind = i % 3
        yield {
            "elector_id": elector_id,
            "display_name": f"{given} {family}",
            "pro_email": to.pro_email(elector_id),
            "question": s.question,
            "answer": s.answer,
            "numen": s.numen if kind in (0, 2) else "",
            "nir10": s.nir10 if kind in (1, 2) else "",
            "identifier": s.numen if kind in (0, 2) else s.nir10,
            "vote_code": s.vote_code,
            "birth_family_name": family,
            "given_names": f"{given} {GIVEN_NAMES[(i + 3) % len(GIVEN_NAMES)]}",
            "birthdate": f"{rng.randrange(1960, 2002)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            "gender": "F" if i % 2 else "M",
            "personal_email": to.personal_email(elector_id),
            "mobile": to.mobile(i),
            "pool_index": str(i % len(pool)),
        }


def write_roll(
    count: int,
    out: Path,
    secrets_out: Path | None,
    *,
    plaintext: bool = False,
    pool_size: int = 16,
    seed: int = 2026,
    profile: Argon2Profile | None = None,
    prefix: str = "E",
    destinations: Destinations | None = None,
) -> dict[str, float]:
    started = time.perf_counter()
    pool = make_pool(pool_size, seed)
    hashed = [] if plaintext else hash_pool(pool, SecretHasher(profile))
    hashing = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    dropped = (
        {plain for plain, _h, _a in SECRETS.values()}
        if not plaintext
        else {h for _p, h, _a in SECRETS.values()}
    )
    columns = [c for c in COLUMNS if c not in dropped]
    secrets_file = None
    try:
        with out.open("w", newline="", encoding="utf-8") as roll_file:
            roll = csv.DictWriter(roll_file, fieldnames=columns, extrasaction="ignore")
            roll.writeheader()
            secrets_writer = None
            if secrets_out is not None:
                secrets_out.parent.mkdir(parents=True, exist_ok=True)
                secrets_file = secrets_out.open("w", newline="", encoding="utf-8")
                secrets_writer = csv.DictWriter(
                    secrets_file, fieldnames=SECRETS_COLUMNS, extrasaction="ignore"
                )
                secrets_writer.writeheader()
            for elector in electors(count, pool, seed, prefix, destinations):
                row = dict(elector)
                if not plaintext:
                    h = hashed[int(elector["pool_index"])]
                    row.update(
                        answer_hash=h.answer_hash,
                        numen_hash=h.numen_hash if elector["numen"] else "",
                        nir_hash=h.nir_hash if elector["nir10"] else "",
                        vote_code_hash=h.vote_code_hash,
                    )
                roll.writerow(row)
                if secrets_writer is not None:
                    secrets_writer.writerow(elector)
    finally:
        if secrets_file is not None:
            secrets_file.close()
    return {"rows": count, "pool_hashing_s": hashing, "total_s": time.perf_counter() - started}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("build/roll/roll.csv"))
    parser.add_argument("--secrets", type=Path, default=Path("build/roll/secrets.csv"))
    parser.add_argument("--no-secrets", action="store_true", help="do not write the secrets file")
    parser.add_argument("--plaintext", action="store_true", help="secrets in clear (import benchmark)")
    parser.add_argument("--pool", type=int, default=16, help="distinct secret sets (hashed once each)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--prefix", default="E", help="elector id prefix")
    parser.add_argument(
        "--pro-domain", help="professional addresses on this domain (default: SES mailbox simulator)"
    )
    parser.add_argument(
        "--personal-domain",
        help="personal addresses on this domain, e.g. the rehearsal's receiving sub-domain "
        "(default: SES mailbox simulator)",
    )
    parser.add_argument(
        "--simulator-outcome",
        default="success",
        choices=("success", "bounce", "complaint", "suppressionlist", "ooto"),
        help="SES mailbox simulator outcome of the simulator addresses",
    )
    parser.add_argument(
        "--sms-failure-every",
        type=int,
        default=0,
        help="every Nth elector gets the SMS simulator's failure number",
    )
    parser.add_argument("--argon2-memory-kib", type=int, default=Argon2Profile.memory_kib)
    parser.add_argument("--argon2-time-cost", type=int, default=Argon2Profile.time_cost)
    parser.add_argument("--argon2-parallelism", type=int, default=Argon2Profile.parallelism)
    args = parser.parse_args(argv)
    if args.count < 0 or args.pool < 1:
        parser.error("--count must be >= 0 and --pool >= 1")
    profile = Argon2Profile(args.argon2_memory_kib, args.argon2_time_cost, args.argon2_parallelism)
    stats = write_roll(
        args.count,
        args.out,
        None if args.no_secrets else args.secrets,
        plaintext=args.plaintext,
        pool_size=args.pool,
        seed=args.seed,
        profile=profile,
        prefix=args.prefix,
        destinations=Destinations(
            pro_domain=args.pro_domain,
            personal_domain=args.personal_domain,
            simulator_outcome=args.simulator_outcome,
            sms_failure_every=args.sms_failure_every,
        ),
    )
    print(
        f"{stats['rows']:,} electors written to {args.out} in {stats['total_s']:.1f} s "
        f"(pool hashing {stats['pool_hashing_s']:.1f} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
