"""The quick commands answer without importing torch (benchmarks/cli_startup.py times them
against a bare Python start)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_RUN = """
import contextlib, io, json, sys
from explorer.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
print(json.dumps({"code": code, "out": out.getvalue(),
                  "heavy": sorted(m for m in ("torch", "torchvision", "numpy", "PySide6")
                                  if m in sys.modules)}))
"""


@pytest.mark.parametrize(("argv", "expected"), [
    (["--help"], "summary"),
    (["presets"], "course-inception"),
    (["presets", "--json"], '"name": "lenet"'),
    (["blocks"], "inception_a"),
    (["blocks", "res*", "--json"], '"name": "residual"'),
    (["spec", "lenet"], '"type": "conv2d"'),
    (["spec", "resnet18", "--input", "3,64,64", "--classes", "5"], '"num_classes": 5'),
    (["--version"], "explorer "),
])
def test_quick_commands_do_not_import_torch(argv, expected):
    done = subprocess.run([sys.executable, "-c", _RUN, *argv], capture_output=True,
                          text=True, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] in (0, None) and expected in result["out"]
    assert result["heavy"] == []
