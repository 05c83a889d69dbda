"""Every runtime dependency (the Lambda layer) is imported by the Lambda code: nothing ships unused."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Distribution name -> the module the code imports.
MODULES = {"aws-lambda-powertools": "aws_lambda_powertools", "argon2-cffi": "argon2"}


def test_given_the_runtime_dependencies_then_each_is_imported_by_the_functions() -> None:
    requirements = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = [re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0] for r in requirements]
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "functions").rglob("*.py"))
    for name in names:
        module = MODULES.get(name, name.replace("-", "_"))
        assert re.search(rf"^\s*(from|import) {module}\b", source, re.M), f"{name} is never imported"
