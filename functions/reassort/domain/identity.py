"""Civil identity normalisation and the keyed identity digest.

The roll loader and the FranceConnect callback both call :func:`identity_digest`, so an elector
matches when FranceConnect's civil identity and the roll describe the same person even if they
are written differently (accents, case, hyphens, apostrophes, several given names, presumed
birthdates). Only the digest is stored; the identity in clear never reaches a table or a log.

What is compared (SPEC §5): birth family name, first given name, birthdate and gender. Never
the e-mail address.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = [
    "CivilIdentity",
    "IncompleteIdentityError",
    "civil_identity_from_claims",
    "first_given_name",
    "identity_digest",
    "normalise_birthdate",
    "normalise_gender",
    "normalise_name",
]

# Bumped if the normalisation ever changes: every stored digest must then be recomputed.
_DIGEST_VERSION = "v1"
# Unit separator: cannot appear in a normalised field, so fields never run into each other.
_FIELD_SEPARATOR = "\x1f"

# Letters that NFKD does not decompose into a base letter plus marks.
_SPECIAL_LETTERS = {
    "Œ": "OE",
    "Æ": "AE",
    "Ø": "O",
    "Ł": "L",
    "Đ": "D",
    "Ð": "D",
    "Þ": "TH",
    "ẞ": "SS",
    "ı": "I",
}
# Hyphens, dashes, apostrophes and other punctuation found in names become a single space.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―'’‘ʼ`´.,_/]+")
_NOT_NAME = re.compile(r"[^A-Z0-9 ]")
_ISO_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")

_GENDERS = {
    "male": "M",
    "m": "M",
    "h": "M",
    "homme": "M",
    "masculin": "M",
    "1": "M",
    "female": "F",
    "f": "F",
    "femme": "F",
    "feminin": "F",
    "2": "F",
}


class IncompleteIdentityError(ValueError):
    """A civil identity field is missing or cannot be normalised."""

    def __init__(self, field: str) -> None:
        # Only the field name: the value is personal data and must not end up in a log line.
        super().__init__(f"civil identity field missing or invalid: {field}")
        self.field = field


@dataclass(frozen=True, slots=True)
class CivilIdentity:
    """A normalised civil identity, ready to be digested."""

    family_name: str
    first_given_name: str
    birthdate: str
    gender: str

    def __repr__(self) -> str:  # keep personal data out of tracebacks and logs
        return "CivilIdentity(<redacted>)"

    __str__ = __repr__


def _strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_name(value: str) -> str:
    """Upper-case ASCII letters and digits, words separated by one space.

    « Lefèvre-D'Ornano » and « LEFEVRE D ORNANO » give the same result.
    """
    text = _strip_accents(value).casefold().upper()
    text = "".join(_SPECIAL_LETTERS.get(ch, ch) for ch in text)
    text = _strip_accents(text)
    text = _SEPARATORS.sub(" ", text)
    text = _NOT_NAME.sub("", text)
    return " ".join(text.split())


def first_given_name(
    given_names: str | Sequence[str] | None, given_name_array: Sequence[str] | None = None
) -> str:
    """The first given name, normalised.

    FranceConnect sends ``given_name`` as the given names separated by spaces and, in v2,
    ``given_name_array`` as a list; a compound given name (« Jean-Pierre ») is one given name.
    The list wins when both are present because it keeps given names that contain a space.
    """
    candidates: list[str] = []
    if given_name_array:
        candidates = [str(name) for name in given_name_array]
    elif isinstance(given_names, str):
        candidates = given_names.split()
    elif given_names:
        candidates = [str(name) for name in given_names]
    for candidate in candidates:
        normalised = normalise_name(candidate)
        if normalised:
            return normalised
    raise IncompleteIdentityError("given_name")


def normalise_birthdate(value: str | date) -> str:
    """ISO date ``YYYY-MM-DD``; an unknown month or day (``00``, a presumed date) becomes ``01``.

    FranceConnect writes presumed birthdates with ``01`` for the unknown parts; some rolls use
    ``00``. Both forms therefore give the same result.
    """
    if isinstance(value, date):
        return value.isoformat()
    match = _ISO_DATE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise IncompleteIdentityError("birthdate")
    year, month, day = (int(part) for part in match.groups())
    month = month or 1
    day = day or 1
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise IncompleteIdentityError("birthdate") from None


def normalise_gender(value: str) -> str:
    """``M`` or ``F`` (FranceConnect sends ``male`` / ``female``)."""
    key = _strip_accents(str(value)).strip().casefold()
    try:
        return _GENDERS[key]
    except KeyError:
        raise IncompleteIdentityError("gender") from None


def normalise_identity(
    family_name: str,
    given_names: str | Sequence[str] | None,
    birthdate: str | date,
    gender: str,
    given_name_array: Sequence[str] | None = None,
) -> CivilIdentity:
    family = normalise_name(family_name or "")
    if not family:
        raise IncompleteIdentityError("family_name")
    return CivilIdentity(
        family_name=family,
        first_given_name=first_given_name(given_names, given_name_array),
        birthdate=normalise_birthdate(birthdate),
        gender=normalise_gender(gender),
    )


def digest_identity(key: bytes, identity: CivilIdentity) -> str:
    """Hex HMAC-SHA256 of a normalised identity."""
    if not key:
        raise ValueError("identity key must not be empty")
    # Spaces are dropped from names: « D'ALMEIDA », « D ALMEIDA » and « DALMEIDA » are written
    # for the same person by different registers; the birthdate and gender still have to agree.
    message = _FIELD_SEPARATOR.join(
        (
            _DIGEST_VERSION,
            identity.family_name.replace(" ", ""),
            identity.first_given_name.replace(" ", ""),
            identity.birthdate,
            identity.gender,
        )
    )
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).hexdigest()


def identity_digest(
    key: bytes,
    family_name: str,
    given_names: str | Sequence[str] | None,
    birthdate: str | date,
    gender: str,
) -> str:
    """Keyed digest of a civil identity (hex HMAC-SHA256), stored on the elector record.

    ``given_names``: the given names as one space-separated string or as a list; only the first
    one is used. Raises :class:`IncompleteIdentityError` when a field is missing or invalid.
    """
    return digest_identity(key, normalise_identity(family_name, given_names, birthdate, gender))


def civil_identity_from_claims(claims: Mapping[str, Any]) -> CivilIdentity:
    """Normalise FranceConnect v2 userinfo claims (``family_name`` is the birth name)."""

    def text(name: str) -> str:
        value = claims.get(name)
        if not isinstance(value, str) or not value.strip():
            raise IncompleteIdentityError(name)
        return value

    array = claims.get("given_name_array")
    given_name_array = [str(v) for v in array] if isinstance(array, list) else None
    given = claims.get("given_name")
    return normalise_identity(
        family_name=text("family_name"),
        given_names=given if isinstance(given, str) else None,
        birthdate=text("birthdate"),
        gender=text("gender"),
        given_name_array=given_name_array,
    )
