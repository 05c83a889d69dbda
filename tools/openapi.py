"""Generate docs/openapi.json from the three handlers' resolvers (`make openapi`).

Each function's document is Powertools' own (routes, pydantic bodies, the ``responses=`` each
route declares, error bodies included); ``OpenAPIMerge`` joins them into the one document of the
API. The only edit afterwards removes the answers Powertools adds on its own that this service
never sends (its ``detail`` validation body, its response-validation body): refusals are the
project's ``ErrorBody`` (docs/errors.md).

`python -m tools.openapi --check` exits non-zero when the committed document is stale.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "openapi.json"
HANDLERS = ("request_reassort.handler", "redeem.handler", "fc_callback.handler")
# Bodies Powertools documents by default; the service answers with ErrorBody instead.
_FOREIGN_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
SESSION_SCHEME = "portalSession"


def build_document() -> dict[str, Any]:
    for path in (ROOT / "functions", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, SecurityScheme

    schemes: dict[str, SecurityScheme] = {
        SESSION_SCHEME: APIKey(
            name="portal_session",
            in_=APIKeyIn.cookie,
            description="The Elections portal session (a signed JWT, `sub` = elector id)",
        )
    }
    merge = OpenAPIMerge(
        title="Réassort du code de vote",
        version="1.0.0",
        description=(
            "Reissue of a lost vote code. Every refusal is an `ErrorBody` whose `code` is listed in "
            "docs/errors.md. State-changing routes take `application/json` from this site only."
        ),
        security_schemes=schemes,
        on_conflict="error",
    )
    for module_name in HANDLERS:
        merge.add_schema(
            importlib.import_module(module_name).app.get_openapi_schema(security_schemes=schemes)
        )
    document = json.loads(merge.get_openapi_json_schema())
    _prune_foreign_answers(document)
    return document


def _prune_foreign_answers(document: dict[str, Any]) -> None:
    refs = {f"#/components/schemas/{name}" for name in _FOREIGN_SCHEMAS}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            for status in list(responses):
                schema = responses[status].get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") in refs:
                    del responses[status]
    schemas = document.get("components", {}).get("schemas", {})
    for name in _FOREIGN_SCHEMAS:
        schemas.pop(name, None)


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="write docs/openapi.json")
    parser.add_argument("--check", action="store_true", help="fail when docs/openapi.json is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print("docs/openapi.json is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    if args.write:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
