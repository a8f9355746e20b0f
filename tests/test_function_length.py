"""No function over ~60 lines in the modules people read most (docstrings included): the
command line, the engine, checkpoints, the whole window and every export."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 60


MODULES = sorted({
    "explorer/cli.py", "explorer/training/engine.py", "explorer/training/checkpoint.py",
    *(str(p.relative_to(ROOT)) for folder in ("explorer/ui", "explorer/export")
      for p in (ROOT / folder).rglob("*.py")),
})


def test_the_window_and_the_exports_are_covered():
    assert "explorer/ui/main_window.py" in MODULES
    assert "explorer/ui/widgets/diagram.py" in MODULES
    assert "explorer/export/pytorch.py" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_functions_are_short(module):
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, from line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > LIMIT
    ]
    assert not long, f"split these functions of {module}: {', '.join(long)}"
