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


def test_a_frozen_app_starts_the_child_through_its_own_entry_point(tmp_path, monkeypatch):
    """In the desktop bundle ``sys.executable`` is the app, which has no ``-m``: the child is
    the app itself with a hidden flag (here a stand-in app: ``python -m explorer "$@"``)."""
    from explorer.ui import inspection_process, inspector_child

    app = tmp_path / "network-explorer"
    app.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m explorer "$@"\n')
    app.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    assert inspector_child.command() == [str(app), "--inspector-child"]
    child = inspection_process.InspectionProcess()
    try:
        result = child.inspect(inspection_process.InspectJob(7, preset_spec("lenet")))
    finally:
        child.close()
    assert result.generation == 7 and result.summary.total_params == 61_706
