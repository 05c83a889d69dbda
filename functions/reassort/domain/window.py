"""The election window, checked by every path that sends or redeems."""

from __future__ import annotations

from .errors import ElectionClosed
from .rules import Rules


def check_window(rules: Rules, now: float) -> None:
    """Raise ElectionClosed outside the election window."""
    opens, closes = rules.opens_at, rules.closes_at
    if (opens is not None and now < opens) or (closes is not None and now >= closes):
        raise ElectionClosed(opens, closes)
