"""docs/errors.md and docs/openapi.json stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from reassort.domain.errors import ErrorCatalogue

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_error_code_is_documented_with_its_status() -> None:
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (\d{3}) \|", (DOCS / "errors.md").read_text(), re.M))
    for cls in ErrorCatalogue().classes:
        assert rows.get(cls.code) == str(cls.status), cls.code


def test_openapi_document_is_up_to_date() -> None:
    from tools.openapi import TARGET, render

    assert TARGET.read_text(encoding="utf-8") == render(), "docs/openapi.json is stale: run `make openapi`"
