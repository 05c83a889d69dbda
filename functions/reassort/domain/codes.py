"""New vote codes: 12 characters that are easy to read and to type on any keyboard."""

from __future__ import annotations

import secrets

from .ports import RandomSource

# No look-alikes (0 O o 1 l I), no accents, and specials typable without AltGr on AZERTY and QWERTY.
UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
LOWER = "abcdefghijkmnpqrstuvwxyz"
DIGITS = "23456789"
SPECIALS = "!$*%?+="
ALPHABET = UPPER + LOWER + DIGITS + SPECIALS
CLASSES = (UPPER, LOWER, DIGITS, SPECIALS)
CODE_LENGTH = 12


class SystemRandom:
    """The CSPRNG of the operating system."""

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def choice(self, seq: str) -> str:
        return secrets.choice(seq)


def generate_vote_code(random: RandomSource, length: int = CODE_LENGTH) -> str:
    """Uniform over the alphabet, redrawn until every class is present (about 1 draw in 3 is
    redrawn), which keeps each character uniform given the constraint."""
    while True:
        code = "".join(random.choice(ALPHABET) for _ in range(length))
        if all(any(ch in cls for ch in code) for cls in CLASSES):
            return code
