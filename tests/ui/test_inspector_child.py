"""The inspection child process answers with the installed packages alone (no test extras),
and without torchinfo: the live table is the app's own pass (torchinfo's time doubles with
each level of nesting)."""

from __future__ import annotations

import subprocess
import sys

from explorer.core.presets import preset_spec
from explorer.ui.inspector_child import read_frame, write_frame

# the test extra is not installed by `pip install .`, and torchinfo must not be needed: hide them
_WITHOUT_TEST_EXTRAS = """
import sys
for name in ("torchinfo", "hypothesis", "pytest", "onnx", "onnxruntime", "onnxscript"):
    sys.modules[name] = None
from explorer.ui.inspector_child import main
main()
"""


def test_the_child_inspects_without_the_test_extras():
    child = subprocess.Popen([sys.executable, "-c", _WITHOUT_TEST_EXTRAS],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        write_frame(child.stdin, ("spec", preset_spec("lenet").to_json()))
        status, summary, _seconds = read_frame(child.stdout)
    finally:
        child.stdin.close()
        child.wait(30)
        child.stdout.close()
    assert status == "ok"
    assert summary.total_params == 61_706
