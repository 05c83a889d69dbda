"""Reading an elector every use case needs on the roll."""

from __future__ import annotations

from .errors import ElectorUnknown
from .model import ElectorRecord
from .ports import ElectorStore


def known_elector(electors: ElectorStore, elector_id: str) -> ElectorRecord:
    """The elector, or ElectorUnknown."""
    elector = electors.get(elector_id)
    if elector is None:
        raise ElectorUnknown()
    return elector
