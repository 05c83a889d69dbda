"""docs/errors.md and docs/openapi.json stay in step with the code, both ways."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from reassort.domain.errors import ErrorCatalogue, FieldCode
from reassort.http import _field_problems

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _documented_errors() -> dict[str, str]:
    return dict(re.findall(r"^\| `([A-Z_]+)` \| (\d{3}) \|", (DOCS / "errors.md").read_text(), re.M))


def _documented_field_codes() -> set[str]:
    section = (DOCS / "errors.md").read_text().split("## Field codes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)` \|", section, re.M))


def test_given_the_error_catalogue_then_docs_errors_md_lists_each_code_with_its_status_and_no_other() -> None:
    catalogue = {cls.code: str(cls.status) for cls in ErrorCatalogue().classes}
    assert _documented_errors() == catalogue


def test_given_the_field_codes_then_docs_errors_md_lists_each_and_no_other() -> None:
    assert _documented_field_codes() == FieldCode.all()


def test_given_a_validation_error_kind_without_a_code_of_its_own_then_value_invalid() -> None:
    error = RequestValidationError([{"type": "uuid_parsing", "loc": ("body", "token"), "msg": "x"}])
    assert [(p.name, p.code) for p in _field_problems(error)] == [("token", "VALUE_INVALID")]


def test_given_pydantic_error_kinds_then_never_pydantics_names_in_field_codes() -> None:
    kinds = ["missing", "string_too_short", "string_too_long", "enum", "string_type", "string_unicode"]
    error = RequestValidationError([{"type": k, "loc": ("body", k), "msg": "x"} for k in kinds])
    assert {p.code for p in _field_problems(error)} <= FieldCode.all()


def test_given_the_code_when_the_openapi_document_is_rendered_then_docs_openapi_json_is_identical() -> None:
    from tools.openapi import TARGET, render

    assert TARGET.read_text(encoding="utf-8") == render(), "docs/openapi.json is stale: run `make openapi`"


def test_given_docs_openapi_json_then_it_lists_the_statuses_the_routes_answer_and_no_default_error_schema() -> (
    None
):
    document = json.loads((DOCS / "openapi.json").read_text(encoding="utf-8"))
    paths = document["paths"]
    assert set(paths["/api/reassort/challenge"]["post"]["responses"]) >= {"202", "415", "422", "429"}
    assert "200" not in paths["/api/reassort/challenge"]["post"]["responses"]
    for route in ("/api/fc/login", "/api/fc/callback", "/api/fc/logout-return"):
        assert set(paths[route]["get"]["responses"]) == {"302"}
        assert "Location" in paths[route]["get"]["responses"]["302"]["headers"]
    text = json.dumps(document)
    assert "HTTPValidationError" not in text and '"detail"' not in text
