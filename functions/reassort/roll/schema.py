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

_ELECTOR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{16,}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_TEXT = {"display_name": 200, "question": 300, "answer": 200, "vote_code": 64}

# French: the report is read by the election team. A message never quotes a value of the file.
MESSAGES: dict[str, str] = {
    "missing": "valeur obligatoire absente",
    "too_long": "valeur trop longue",
    "control_characters": "la valeur contient des caractères de contrôle",
    "invalid_elector_id": "identifiant attendu : 1 à 64 caractères parmi lettres, chiffres et . _ : -",
    "duplicate_elector_id": "identifiant déjà présent plus haut dans le fichier (la première ligne l'emporte)",
    "invalid_email": "adresse électronique invalide",
    "both_plaintext_and_hash": "donnez la valeur en clair ou son empreinte, pas les deux",
    "invalid_hash": "empreinte argon2id attendue ($argon2id$v=19$m=…,t=…,p=…$sel$empreinte)",
    "invalid_numen": "un NUMEN compte 13 lettres ou chiffres",
    "invalid_nir10": "les 10 premiers caractères du NIR sont attendus (ex. 1 85 07 75 123)",
    "empty_after_normalisation": "il ne reste rien après normalisation",
    "answer_without_question": "une réponse est donnée sans question",
    "question_without_answer": "une question est donnée sans réponse",
    "question_without_identifier": "le parcours par question demande un NUMEN ou un NIR10",
    "identity_incomplete": "l'identité civile demande birth_family_name, given_names, birthdate et gender",
    "identity_invalid": "valeur d'identité civile impossible à normaliser",
    "no_reissue_path": "ni question ni identité civile : cet électeur ne pourra pas obtenir de nouveau code",
    "vote_code_kept_after_reissue": "le code de vote a été renouvelé depuis le dernier import : il est conservé",
    "unknown_column": "colonne inconnue du format de la liste électorale",
    "missing_column": "colonne obligatoire absente de l'en-tête",
    "extra_cells": "la ligne a plus de cellules que l'en-tête (séparateur dans une valeur non protégée par des guillemets ?)",
    "write_failed": "la ligne n'a pas pu être écrite (relancez l'import)",
}
WARNINGS = frozenset({"no_reissue_path", "vote_code_kept_after_reissue"})


@dataclass(frozen=True)
class Problem:
    row: int  # line number in the file (the header is line 1)
    field: str
    code: str
    # another line of the file the problem refers to (the first occurrence of a duplicate id)
    first_row: int | None = None

    @property
    def severity(self) -> str:
        return "warning" if self.code in WARNINGS else "error"

    @property
    def message(self) -> str:
        if self.first_row is not None:
            return f"{MESSAGES[self.code]} : première occurrence ligne {self.first_row}"
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


class _Checks:
    """The problems of one row, collected by the small checks of ``validate_row``."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.problems: list[Problem] = []

    def bad(self, name: str, code: str) -> None:
        self.problems.append(Problem(self.line, name, code))

    @property
    def has_error(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def validate_row(
    line: int, row: Mapping[str | None, str | list[str] | None], identity_key: bytes
) -> tuple[RollRow | None, list[Problem]]:
    """Check one row; return the normalised row (None when it has an error) and its problems.

    ``row`` is a ``csv.DictReader`` row: cells beyond the header are under the key ``None``."""
    checks = _Checks(line)
    if row.get(None):
        checks.bad("elector_id", "extra_cells")
    values = {name: _text(row, name) for name in COLUMNS}
    _check_text(values, checks)
    pro_email = _check_email(values, checks)
    secrets = _check_secrets(values, checks)
    question = _check_question(values, checks)
    digest_of_identity, has_identity = _check_identity(values, identity_key, checks)
    if not question and not has_identity:
        checks.bad("question", "no_reissue_path")
    if checks.has_error:
        return None, checks.problems
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
    return parsed, checks.problems


def _text(row: Mapping[str | None, str | list[str] | None], name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


def _check_text(values: dict[str, str], checks: _Checks) -> None:
    for name in REQUIRED_COLUMNS:
        if not values[name]:
            checks.bad(name, "missing")
    for name, limit in MAX_TEXT.items():
        if len(values[name]) > limit:
            checks.bad(name, "too_long")
    for name in ("display_name", "question", "answer", "birth_family_name", "given_names"):
        if _CONTROL.search(values[name]):
            checks.bad(name, "control_characters")
    if values["elector_id"] and not _ELECTOR_ID.match(values["elector_id"]):
        checks.bad("elector_id", "invalid_elector_id")


def _check_email(values: dict[str, str], checks: _Checks) -> str:
    if not values["pro_email"]:
        return ""
    try:
        return normalise_email(values["pro_email"])
    except DestinationError:
        checks.bad("pro_email", "invalid_email")
        return ""


def _check_secrets(values: dict[str, str], checks: _Checks) -> dict[str, tuple[str, str]]:
    secrets: dict[str, tuple[str, str]] = {}
    for secret, (plain_col, hash_col, attribute) in SECRETS.items():
        value = _check_secret(secret, values[plain_col], values[hash_col], checks)
        if value is not None:
            secrets[attribute] = value
    if not (values["vote_code"] or values["vote_code_hash"]):
        checks.bad("vote_code_hash", "missing")
    return secrets


def _check_secret(secret: str, plain: str, hashed: str, checks: _Checks) -> tuple[str, str] | None:
    plain_col, hash_col, _attribute = SECRETS[secret]
    if plain and hashed:
        checks.bad(plain_col, "both_plaintext_and_hash")
        return None
    if hashed:
        if _ARGON2ID.match(hashed):
            return ("hash", hashed)
        checks.bad(hash_col, "invalid_hash")
        return None
    if not plain:
        return None
    normalised = _normalise_secret(secret, plain)
    if normalised is None:
        checks.bad(plain_col, _INVALID_SECRET.get(secret, "empty_after_normalisation"))
        return None
    return ("plain", normalised)


_INVALID_SECRET = {"numen": "invalid_numen", "nir10": "invalid_nir10"}


def _check_question(values: dict[str, str], checks: _Checks) -> str | None:
    has_answer = bool(values["answer"] or values["answer_hash"])
    question = values["question"] or None
    if has_answer and not question:
        checks.bad("question", "answer_without_question")
    if question and not has_answer:
        checks.bad("answer", "question_without_answer")
    identifiers = ("numen", "numen_hash", "nir10", "nir_hash")
    if question and not any(values[name] for name in identifiers):
        checks.bad("numen", "question_without_identifier")
    return question


def _check_identity(values: dict[str, str], identity_key: bytes, checks: _Checks) -> tuple[str | None, bool]:
    """(digest of the civil identity or None, whether any identity column is filled)."""
    given = [name for name in IDENTITY_COLUMNS if values[name]]
    if not given:
        return None, False
    if len(given) < len(IDENTITY_COLUMNS):
        for name in IDENTITY_COLUMNS:
            if not values[name]:
                checks.bad(name, "identity_incomplete")
        return None, True
    try:
        digest = identity_digest(
            identity_key,
            values["birth_family_name"],
            values["given_names"],
            values["birthdate"],
            values["gender"],
        )
    except IncompleteIdentityError as exc:
        checks.bad(_identity_column(exc.field), "identity_invalid")
        return None, True
    return digest, True


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
