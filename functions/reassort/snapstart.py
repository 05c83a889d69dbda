"""What Lambda SnapStart must not share between environments restored from one snapshot.

The snapshot is taken after the modules are imported; every client, key and cache is built
lazily on the first request, so the only shared state is the `random` module's generator. botocore
draws its retry jitter from it: environments restored together would retry in lockstep. It is
re-seeded from the OS after each restore. (Tokens and vote codes come from `secrets`, which reads
the OS entropy each time and is never part of a snapshot.)
"""

from __future__ import annotations

import random


def reseed() -> None:
    random.seed()


def register() -> bool:
    """Register the restore hook; False outside Lambda (no `snapshot_restore_py` module)."""
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return False
    register_after_restore(reseed)
    return True
