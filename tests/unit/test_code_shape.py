"""Shape of the roll import and ops code: imports run one way, no function above grade C."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from radon.complexity import cc_rank, cc_visit

ROOT = Path(__file__).resolve().parents[2]
# Roll import, its Lambda worker and the ops tools (the OpenAPI writer is kept elsewhere).
MEASURED = [
    *sorted((ROOT / "functions" / "reassort" / "roll").glob("*.py")),
    *sorted((ROOT / "functions" / "roll_import_worker").glob("*.py")),
    *sorted(p for p in (ROOT / "tools").rglob("*.py") if p.name != "openapi.py"),
    ROOT / "infra" / "roll_import.py",
]


def imported_packages(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", MEASURED, ids=lambda p: str(p.relative_to(ROOT)))
def test_given_a_module_when_measured_then_no_function_is_above_cyclomatic_grade_c(path):
    too_complex = [
        f"{block.name} ({block.complexity})"
        for block in cc_visit(path.read_text(encoding="utf-8"))
        if cc_rank(block.complexity) > "C"
    ]
    assert too_complex == []


def test_given_the_function_packages_when_read_then_they_import_neither_tools_nor_local():
    for path in (ROOT / "functions").rglob("*.py"):
        assert not imported_packages(path) & {"tools", "local"}, path.relative_to(ROOT)


def test_given_local_and_tools_when_read_then_local_never_imports_tools():
    for path in (ROOT / "local").rglob("*.py"):
        assert "tools" not in imported_packages(path), path.relative_to(ROOT)
