"""`make smoke` runs against the local stack too, so it cannot rot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.demo_roll import DEMO_ELECTORS
from local.stack import LocalStack
from tools import smoke


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalStack]:
    stack = LocalStack(port=0, with_franceconnect=False).start()
    yield stack
    stack.stop()


def test_given_the_local_stack_when_smoke_tested_then_every_check_passes(local_stack: LocalStack) -> None:
    elector = DEMO_ELECTORS[0]
    args = smoke.parser().parse_args(
        [
            local_stack.base_url,
            "--session",
            local_stack.portal.issue(elector.elector_id),
            "--answer",
            elector.answer or "",
            "--identifier",
            elector.numen or elector.nir10 or "",
            "--burst",
            "12",
        ]
    )

    results = smoke.run(args)

    assert [(c.name, c.ok) for c in results] == [
        ("pages", True),
        ("api-contract", True),
        ("journey", True),
        ("burst", True),
    ], results
    assert "12 x 401 UNAUTHENTICATED" in results[-1].detail


def test_given_a_wrong_answer_when_smoke_tested_then_the_journey_check_fails(local_stack: LocalStack) -> None:
    elector = DEMO_ELECTORS[1]
    args = smoke.parser().parse_args(
        [
            local_stack.base_url,
            "--session",
            local_stack.portal.issue(elector.elector_id),
            "--answer",
            "not the answer",
            "--identifier",
            elector.numen or elector.nir10 or "",
            "--burst",
            "0",
        ]
    )

    results = {c.name: c for c in smoke.run(args)}

    assert results["pages"].ok and results["api-contract"].ok
    assert not results["journey"].ok and "WRONG_CREDENTIALS" in results["journey"].detail
