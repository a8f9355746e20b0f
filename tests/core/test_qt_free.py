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


def test_summary_types_import_without_torch():
    """Views and reports type a Summary without loading torch (the window's first frame)."""
    code = (
        "import sys\n"
        "from explorer.core.summary import LayerRow, Summary, format_table\n"
        "row = LayerRow('conv', 'Conv2d', 1, 0, (1, 6, 28, 28), 156, True, 122304, 5, 1)\n"
        "s = Summary('net', (1, 28, 28), 10, [row], (1, 6, 28, 28), 156, 156, 122304, 0, 624)\n"
        "assert '122,304' in format_table(s), format_table(s)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_inspection_process_starts_without_qt_or_torch_here():
    """A launch starts the inspection process before importing Qt (it loads PyTorch while the
    window starts): its side of the window's code imports neither, and it answers."""
    code = (
        "import sys\n"
        "from explorer.ui.inspection_process import InspectJob, start_inspection_process\n"
        "from explorer.core.presets import preset_spec\n"
        "process = start_inspection_process()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch')]\n"
        "assert not bad, bad\n"
        "result = process.inspect(InspectJob(3, preset_spec('lenet')))\n"
        "process.close()\n"
        "assert (result.generation, result.summary.total_params) == (3, 61_706), result\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
