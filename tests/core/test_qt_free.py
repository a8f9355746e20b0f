"""The core never imports Qt: it must run where no display or Qt library exists."""

from __future__ import annotations

import subprocess
import sys


def test_core_packages_import_without_qt():
    code = (
        "import sys\n"
        "import explorer.core, explorer.blocks, explorer.data, explorer.training, explorer.cli\n"
        "from explorer.core.inspector import inspect_spec\n"
        "from explorer.core.presets import preset_spec\n"
        "inspect_spec(preset_spec('course-inception'))\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'superqt')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
