"""The settings schema and the events load without torch (a form or --help reads them)."""

from __future__ import annotations

import subprocess
import sys


def test_settings_and_events_import_without_torch():
    code = (
        "import sys\n"
        "from explorer.training.config import SETTINGS, TrainConfig\n"
        "from explorer.training import Finished, TrainConfig as Again\n"
        "assert Again is TrainConfig and TrainConfig(lr=0.1).lr == 0.1 and SETTINGS\n"
        "print(','.join(m for m in ('torch', 'PySide6') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == ""
