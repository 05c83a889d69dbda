"""The roll CSV: columns, row validation and the keyed row digests.

Validation never copies a value into a problem: a problem names the row, the column and a
stable code, nothing else (values are secrets or personal data).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from reassort.domain.destinations import DestinationError, normalise_email
from reassort.domain.identity import IncompleteIdentityError, identity_digest
from reassort.domain.normalise import normalise_answer, parse_identifier

COLUMNS: tuple[str, ...] = (
    "elector_id",
    "display_name",
    "pro_email",
    "question",
    "answer",
    "answer_hash",
    "numen",
    "numen_hash",
    "nir10",
    "nir_hash",
    "vote_code",
    "vote_code_hash",
    "birth_family_name",
    "given_names",
    "birthdate",
    "gender",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("elector_id", "display_name", "pro_email")
IDENTITY_COLUMNS: tuple[str, ...] = ("birth_family_name", "given_names", "birthdate", "gender")
# secret -> (plaintext column, hash column, stored attribute)
SECRETS: dict[str, tuple[str, str, str]] = {
    "answer": ("answer", "answer_hash", "answer_hash"),
    "numen": ("numen", "numen_hash", "numen_hash"),
    "nir10": ("nir10", "nir_hash", "nir_hash"),
    "vote_code": ("vote_code", "vote_code_hash", "vote_code_hash"),
}
SECRET_COLUMNS = frozenset(c for pair in SECRETS.values() for c in pair[:2])

_ELECTOR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{16,}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_TEXT = {"display_name": 200, "question": 300, "answer": 200, "vote_code": 64}

MESSAGES: dict[str, str] = {
    "missing": "required value is empty",
    "too_long": "value is too long",
    "control_characters": "value contains control characters",
    "invalid_elector_id": "1 to 64 characters among letters, digits and . _ : - expected",
    "duplicate_elector_id": "elector id already seen earlier in the file",
    "invalid_email": "not a syntactically valid e-mail address",
    "both_plaintext_and_hash": "give either the plaintext or its hash, not both",
    "invalid_hash": "not an argon2id hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash)",
    "invalid_numen": "a NUMEN is 13 letters or digits",
    "invalid_nir10": "the first 10 characters of a NIR are expected (e.g. 1 85 07 75 123)",
    "empty_after_normalisation": "nothing left after normalisation",
    "answer_without_question": "an answer is given but no question",
    "question_without_answer": "a question is given but no answer",
    "question_without_identifier": "the question path needs a NUMEN or a NIR10",
    "identity_incomplete": "civil identity needs all of birth_family_name, given_names, birthdate, gender",
    "identity_invalid": "civil identity value cannot be normalised",
    "no_reissue_path": "neither a question nor a civil identity: this elector cannot reissue",
    "vote_code_kept_after_reissue": "the vote code was reissued since the last import: kept",
    "unknown_column": "column is not part of the roll format",
    "missing_column": "required column is absent from the header",
    "write_failed": "the row could not be written (retry the import)",
}
WARNINGS = frozenset({"no_reissue_path", "vote_code_kept_after_reissue"})


@dataclass(frozen=True)
class Problem:
    row: int  # line number in the file (the header is line 1)
    field: str
    code: str

    @property
    def severity(self) -> str:
        return "warning" if self.code in WARNINGS else "error"

    @property
    def message(self) -> str:
        return MESSAGES[self.code]

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "field": self.field,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class RollRow:
    """A valid row. ``secrets`` maps a stored attribute to ("plain", normalised value) or
    ("hash", argon2 string); it is never logged (see ``__repr__``)."""

    line: int
    elector_id: str
    display_name: str
    pro_email: str
    question: str | None
    identity_digest: str | None
    secrets: dict[str, tuple[str, str]] = field(default_factory=dict)
    digest: str = ""
    vote_code_digest: str = ""

    def __repr__(self) -> str:
        return f"RollRow(line={self.line}, elector_id={self.elector_id!r}, <redacted>)"

    __str__ = __repr__


def digest_key(identity_key: bytes) -> bytes:
    """Key of the row digests, derived from the identity key (domain-separated)."""
    return hmac.new(identity_key, b"reassort/roll-digest/v1", hashlib.sha256).digest()


def keyed_digest(key: bytes, payload: object) -> str:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hmac.new(key, data.encode(), hashlib.sha256).hexdigest()


def check_header(header: list[str] | None) -> list[Problem]:
    problems = []
    names = header or []
    for name in names:
        if name not in COLUMNS:
            # the column name comes from the header, never from a data row
            problems.append(Problem(1, name[:40], "unknown_column"))
    for name in REQUIRED_COLUMNS:
        if name not in names:
            problems.append(Problem(1, name, "missing_column"))
    return problems


def _text(row: Mapping[str, str | None], name: str) -> str:
    return (row.get(name) or "").strip()


def validate_row(
    line: int, row: Mapping[str, str | None], identity_key: bytes
) -> tuple[RollRow | None, list[Problem]]:
    """Check one row; return the normalised row (None when it has an error) and its problems."""
    problems: list[Problem] = []

    def bad(name: str, code: str) -> None:
        problems.append(Problem(line, name, code))

    values = {name: _text(row, name) for name in COLUMNS}
    for name in REQUIRED_COLUMNS:
        if not values[name]:
            bad(name, "missing")
    for name, limit in MAX_TEXT.items():
        if len(values[name]) > limit:
            bad(name, "too_long")
    for name in ("display_name", "question", "answer", "birth_family_name", "given_names"):
        if _CONTROL.search(values[name]):
            bad(name, "control_characters")
    if values["elector_id"] and not _ELECTOR_ID.match(values["elector_id"]):
        bad("elector_id", "invalid_elector_id")
    pro_email = ""
    if values["pro_email"]:
        try:
            pro_email = normalise_email(values["pro_email"])
        except DestinationError:
            bad("pro_email", "invalid_email")

    secrets: dict[str, tuple[str, str]] = {}
    for secret, (plain_col, hash_col, attribute) in SECRETS.items():
        plain, hashed = values[plain_col], values[hash_col]
        if plain and hashed:
            bad(plain_col, "both_plaintext_and_hash")
            continue
        if hashed:
            if _ARGON2ID.match(hashed):
                secrets[attribute] = ("hash", hashed)
            else:
                bad(hash_col, "invalid_hash")
        elif plain:
            normalised = _normalise_secret(secret, plain)
            if normalised is None:
                code = {"numen": "invalid_numen", "nir10": "invalid_nir10"}.get(
                    secret, "empty_after_normalisation"
                )
                bad(plain_col, code)
            else:
                secrets[attribute] = ("plain", normalised)

    has_answer = bool(values["answer"] or values["answer_hash"])
    question = values["question"] or None
    if has_answer and not question:
        bad("question", "answer_without_question")
    if question and not has_answer:
        bad("answer", "question_without_answer")
    if question and not (values["numen"] or values["numen_hash"] or values["nir10"] or values["nir_hash"]):
        bad("numen", "question_without_identifier")
    if not (values["vote_code"] or values["vote_code_hash"]):
        bad("vote_code_hash", "missing")

    digest_of_identity = None
    given = [name for name in IDENTITY_COLUMNS if values[name]]
    if given and len(given) < len(IDENTITY_COLUMNS):
        for name in IDENTITY_COLUMNS:
            if not values[name]:
                bad(name, "identity_incomplete")
    elif given:
        try:
            digest_of_identity = identity_digest(
                identity_key,
                values["birth_family_name"],
                values["given_names"],
                values["birthdate"],
                values["gender"],
            )
        except IncompleteIdentityError as exc:
            bad(_identity_column(exc.field), "identity_invalid")
    if not question and not given:
        bad("question", "no_reissue_path")

    if any(p.severity == "error" for p in problems):
        return None, problems
    key = digest_key(identity_key)
    vote_code = secrets["vote_code_hash"]
    parsed = RollRow(
        line=line,
        elector_id=values["elector_id"],
        display_name=values["display_name"],
        pro_email=pro_email,
        question=question,
        identity_digest=digest_of_identity,
        secrets=secrets,
        # keyed: a table dump alone cannot be used to test guesses against it
        digest=keyed_digest(key, [values[name] for name in COLUMNS]),
        vote_code_digest=keyed_digest(key, ["vote_code", vote_code[0], vote_code[1]]),
    )
    return parsed, problems


def _normalise_secret(kind: str, plain: str) -> str | None:
    if kind == "answer":
        return normalise_answer(plain) or None
    if kind in ("numen", "nir10"):
        try:
            parsed = parse_identifier(plain)
        except ValueError:
            return None
        return parsed.value if parsed.kind == kind else None
    return plain  # vote codes are compared exactly as issued


def _identity_column(identity_field: str) -> str:
    return {
        "family_name": "birth_family_name",
        "given_name": "given_names",
        "birthdate": "birthdate",
        "gender": "gender",
    }.get(identity_field, "birth_family_name")
