"""metrics/ is the domain: standard library only, no clock, no environment, no I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

METRICS = Path(__file__).resolve().parents[2] / "metrics"
FILES = sorted(METRICS.glob("*.py"))
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("os", "getenv"),
}
FORBIDDEN_NAMES = {"open", "input", "print"}


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_there_are_domain_modules_to_check() -> None:
    assert {"outcomes.py", "rates.py", "periods.py", "calendar.py"} <= {f.name for f in FILES}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_domain_module_imports_only_the_standard_library(path: Path) -> None:
    outer = _imports(ast.parse(path.read_text())) - set(sys.stdlib_module_names) - {"metrics"}
    assert not outer, f"{path.name} imports {sorted(outer)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_domain_module_reads_no_clock_environment_or_files(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                assert (func.value.id, func.attr) not in FORBIDDEN_CALLS, (
                    f"{path.name}:{node.lineno}"
                )
            if isinstance(func, ast.Name):
                assert func.id not in FORBIDDEN_NAMES, f"{path.name}:{node.lineno}"
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            pytest.fail(f"{path.name}:{node.lineno} reads the environment")
