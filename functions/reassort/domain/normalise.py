"""Normalisation of what electors type, identical at enrolment (roll import) and at check time."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

_WHITESPACE = re.compile(r"\s+")
# ASCII only: `\d` would also take Arabic-Indic, Devanagari… digits (docs/decisions.md).
_NUMEN = re.compile(r"^[0-9A-Z]{13}$", re.ASCII)
# Sex digit, birth year and month, département (two digits, or 2A / 2B for Corsica), commune.
_NIR10 = re.compile(r"^[1-8][0-9]{4}([0-9]{2}|2[AB])[0-9]{3}$", re.ASCII)
# Spaces (any Unicode space), dots and hyphens, the dashes NFKC leaves as they are included.
_IDENTIFIER_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015\u2212]+")


def drop_invisible(text: str) -> str:
    """Remove format characters (Unicode category Cf: zero-width space and joiners, soft hyphen,
    byte-order mark, direction marks): invisible, they come from copy and paste, never from
    what the elector meant to type."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_answer(answer: str) -> str:
    """NFKC, accents removed, case-folded, whitespace collapsed and trimmed.

    "  Éléphant   Rose " and "elephant rose" give the same answer: electors type it on phones,
    with or without accents and capitals, months after enrolling.
    """
    text = unicodedata.normalize("NFKC", drop_invisible(answer))
    text = strip_accents(text)
    text = text.casefold()
    text = _WHITESPACE.sub(" ", text)
    return unicodedata.normalize("NFC", text.strip())


@dataclass(frozen=True)
class Identifier:
    kind: Literal["numen", "nir10"]
    value: str


def parse_identifier(raw: str) -> Identifier:
    """Tell a NUMEN from the first 10 characters of a NIR by their shape.

    Spaces, dots and hyphens are ignored and letters upper-cased, as electors copy them from
    pay slips and cards in many ways. Fullwidth forms become ASCII (NFKC), invisible characters
    are dropped; what is left must be ASCII letters and digits. Raises ValueError when neither
    shape matches.
    """
    compact = _IDENTIFIER_SEPARATORS.sub("", unicodedata.normalize("NFKC", drop_invisible(raw))).upper()
    if _NIR10.fullmatch(compact):
        return Identifier("nir10", compact)
    if _NUMEN.fullmatch(compact):
        return Identifier("numen", compact)
    raise ValueError("identifier shape")
