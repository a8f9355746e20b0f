"""explorer.data stays Qt-free and leaves torchvision for when a download needs it."""

from __future__ import annotations

import subprocess
import sys


def test_no_qt_and_no_torchvision_on_import():
    code = (
        "import sys, explorer.data\n"
        "heavy = [m for m in ('PySide6', 'pyqtgraph', 'torchvision') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == ""
