"""Shape of the code: imports run one way, no function above grade C, the documented layout
names every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from radon.complexity import cc_rank, cc_visit

ROOT = Path(__file__).resolve().parents[2]
# Everything that is not a test: the Lambda code, the local stack, the ops tools, the CDK app.
MEASURED = sorted(
    path
    for part in ("functions", "local", "tools", "infra")
    for path in (ROOT / part).rglob("*.py")
    if "cdk.out" not in path.parts
)


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


def _layout_block() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return text.split("## Layout", 1)[1].split("```")[1]


def test_given_the_architecture_page_when_read_then_its_layout_names_every_module_of_the_functions():
    layout = _layout_block()
    reassort = ROOT / "functions" / "reassort"
    expected = [p.name for p in reassort.glob("*.py") if p.name != "__init__.py"]
    expected += [p.name for p in (reassort / "domain").glob("*.py") if p.name != "__init__.py"]
    expected += [p.name for p in (reassort / "adapters").glob("*.py") if p.name != "__init__.py"]
    expected += [f"{p.name}/" for p in reassort.iterdir() if (p / "__init__.py").exists()]
    expected += [
        f"{p.name}/handler.py" for p in (ROOT / "functions").iterdir() if (p / "handler.py").exists()
    ]
    expected += [
        p.name for p in (ROOT / "local").glob("*.py") if p.name not in ("__init__.py", "__main__.py")
    ]
    missing = sorted(name for name in expected if name not in layout)
    assert missing == []
