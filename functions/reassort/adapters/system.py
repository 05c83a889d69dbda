"""The machine's own services: its clock, its CSPRNG and argon2id hashing."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import cached_property

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class SystemClock:
    def now(self) -> float:
        return time.time()


class SystemRandom:
    """The CSPRNG of the operating system."""

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def choice(self, seq: str) -> str:
        return secrets.choice(seq)


@dataclass(frozen=True)
class Argon2Profile:
    memory_kib: int = 19456  # OWASP: 19 MiB, t=2, p=1
    time_cost: int = 2
    parallelism: int = 1


class SecretHasher:
    """argon2id hashing of answers, identifiers and vote codes (rehash on parameter change)."""

    def __init__(self, profile: Argon2Profile | None = None) -> None:
        self.profile = profile or Argon2Profile()
        self._hasher = PasswordHasher(
            time_cost=self.profile.time_cost,
            memory_cost=self.profile.memory_kib,
            parallelism=self.profile.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, stored_hash: str | None, secret: str) -> bool:
        """True when the secret matches. A missing hash costs one verification all the same,
        so that timing does not tell whether an elector has, say, a NIR on record."""
        target = stored_hash or self._absent_hash
        try:
            ok = self._hasher.verify(target, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return ok and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return False

    @cached_property
    def _absent_hash(self) -> str:
        return self._hasher.hash("absent-secret-placeholder")
