"""New vote codes: 12 characters that are easy to read and to type on any keyboard."""

from __future__ import annotations

import math

from .ports import RandomSource

# Codes are copied by hand. No look-alikes (0 O o 1 l I); one case only of the letters whose
# capital and small forms look the same when written (C K P S U V W X Z are kept capital); no
# accents; specials typable without AltGr on AZERTY and QWERTY keyboards.
UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
LOWER = "abdefghijmnqrty"
DIGITS = "23456789"
SPECIALS = "!$*%?+="
ALPHABET = UPPER + LOWER + DIGITS + SPECIALS
CLASSES = (UPPER, LOWER, DIGITS, SPECIALS)
CODE_LENGTH = 12


def code_count(length: int = CODE_LENGTH, classes: tuple[str, ...] = CLASSES) -> int:
    """How many codes hold at least one character of every class (inclusion-exclusion)."""
    total = 0
    for mask in range(1 << len(classes)):
        left_out = [cls for i, cls in enumerate(classes) if mask >> i & 1]
        size = sum(len(cls) for cls in classes) - sum(len(cls) for cls in left_out)
        total += (-1) ** len(left_out) * size**length
    return total


def entropy_bits(length: int = CODE_LENGTH) -> float:
    """Entropy of a code drawn uniformly among the valid ones: 68.5 bits for 12 characters (54 symbols)."""
    return math.log2(code_count(length))


def generate_vote_code(random: RandomSource, length: int = CODE_LENGTH) -> str:
    """Uniform over the alphabet, redrawn until every class is present (about 1 draw in 3 is
    redrawn), which keeps each character uniform given the constraint."""
    while True:
        code = "".join(random.choice(ALPHABET) for _ in range(length))
        if all(any(ch in cls for ch in code) for cls in CLASSES):
            return code
