"""Environments restored from one SnapStart snapshot do not share the `random` generator."""

from __future__ import annotations

import random
import sys
import types

import pytest

from reassort import snapstart


def test_given_a_restore_then_random_is_reseeded_so_retry_jitter_differs() -> None:
    random.seed(42)
    snapshot_state = random.getstate()

    snapstart.reseed()

    assert random.getstate() != snapshot_state


def test_given_the_lambda_runtime_then_the_reseed_is_registered_after_restore(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooks: list[object] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = hooks.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)

    assert snapstart.register() is True
    assert hooks == [snapstart.reseed]


def test_given_no_lambda_runtime_then_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)

    assert snapstart.register() is False
