"""Generate docs/openapi.json from the three handlers' resolvers (`make openapi`).

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

ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "Stable machine code (docs/errors.md)"},
        "message": {"type": "string", "description": "French message for the elector"},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
        "remaining_attempts": {"type": "integer"},
        "locked_until": {"type": "string", "format": "date-time"},
        "retry_after_seconds": {"type": "integer"},
        "opens_at": {"type": "string", "format": "date-time"},
        "closes_at": {"type": "string", "format": "date-time"},
    },
}


def build_document() -> dict[str, Any]:
    for path in (ROOT / "functions", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Réassort du code de vote",
            "version": "1.0.0",
            "description": "Reissue of a lost vote code. Errors follow docs/errors.md.",
        },
        "paths": {},
        "components": {"schemas": {"Error": ERROR_SCHEMA}},
    }
    for module_name in HANDLERS:
        app = importlib.import_module(module_name).app
        schema = json.loads(app.get_openapi_json_schema(title="part", version="0"))
        document["paths"].update(schema.get("paths", {}))
        document["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.setdefault("responses", {})["default"] = {
                "description": "Error (see docs/errors.md)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
    return document


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
