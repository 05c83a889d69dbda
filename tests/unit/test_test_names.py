"""Every test is named Given/When/Then: test_given_<situation>[_when_<action>]_then_<outcome>."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def collected_functions(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions pytest looks at: module-level ones and those of classes, nested or not."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from collected_functions(node.body)


def off_style_tests(root: Path) -> list[str]:
    """`path:line name` of each test function under `root` not named test_given_…"""
    found = []
    for path in sorted(root.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in collected_functions(tree.body):
            if node.name.startswith("test") and not node.name.startswith("test_given_"):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}")
    return found


def test_given_the_test_modules_when_walked_then_every_test_function_is_named_test_given() -> None:
    off_style = "\n".join(off_style_tests(TESTS))
    assert not off_style, f"not named test_given_<situation>[_when_<action>]_then_<outcome>:\n{off_style}"


def test_given_off_style_tests_in_modules_and_classes_when_walked_then_each_is_named(tmp_path: Path) -> None:
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    (tmp_path / "tests" / "unit" / "test_sample.py").write_text(
        "def test_given_x_then_y(): ...\n"
        "def test_old_style(): ...\n"
        "class TestGroup:\n"
        "    async def test_also_old(self): ...\n"
        "    def test_given_a_then_b(self): ...\n"
        "    class TestInner:\n"
        "        def test_inner_old(self): ...\n"
        "def helper_test():\n"
        "    def test_nested_is_not_collected(): ...\n",
        encoding="utf-8",
    )
    (tmp_path / "tests" / "unit" / "helpers.py").write_text(
        "def test_not_collected(): ...\n", encoding="utf-8"
    )

    assert off_style_tests(tmp_path / "tests") == [
        "tests/unit/test_sample.py:2 test_old_style",
        "tests/unit/test_sample.py:4 test_also_old",
        "tests/unit/test_sample.py:7 test_inner_old",
    ]
