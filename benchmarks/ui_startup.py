"""Launch to window mapped and to the first layer table, against importing Qt alone.

Targets (2-core machine): window mapped within 1 s, first table within 3 s. Each launch is a
fresh process running the app's own start-up (``explorer.ui.app.launch``); the baseline
``python -c "import PySide6.QtWidgets"`` runs in the same session, and the ratio is printed.
Offscreen by default; set ``QT_QPA_PLATFORM=xcb`` with a ``DISPLAY`` for a real window.

    python benchmarks/ui_startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child() -> None:
    """One launch: print when the window was first painted and when its first table filled."""
    from PySide6.QtCore import QEvent, QObject

    from explorer.ui.app import launch

    marks: dict[str, float] = {}

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            if event.type() in (QEvent.Type.Paint, QEvent.Type.Expose) and "mapped" not in marks:
                marks["mapped"] = time.time()
            return False

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    probe = FirstPaint()
    app.installEventFilter(probe)
    app, window = launch([])

    def first_table(summary) -> None:
        marks.setdefault("table", time.time())
        marks["rows"] = window.table.model.rowCount()
        window.document.undo_stack.setClean()
        window.close()

    window.summary_ready.connect(first_table)
    app.exec()
    print(json.dumps(marks))


def run(cmd: list[str], env: dict) -> tuple[float, dict]:
    start = time.time()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    end = time.time()
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    marks = json.loads(lines[-1]) if lines else {}
    return end - start, {k: v - start if k != "rows" else v for k, v in marks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as tmp:  # first launch: no settings, no last network
        for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
            env[var] = str(Path(tmp) / var)
        baseline, mapped, table = [], [], []
        for _ in range(args.runs):
            baseline.append(run([sys.executable, "-c", "import PySide6.QtWidgets"], env)[0])
            _, marks = run([sys.executable, __file__, "--child"], env)
            mapped.append(marks["mapped"])
            table.append(marks["table"])
    base = statistics.median(baseline)
    print(f"platform {env['QT_QPA_PLATFORM']}, {os.cpu_count()} CPUs, {args.runs} runs (medians)")
    print(f"import PySide6.QtWidgets        {base:6.2f} s")
    print(f"launch → window mapped          {statistics.median(mapped):6.2f} s"
          f"  ({statistics.median(mapped) / base:4.1f}× the Qt import; target 1 s)")
    print(f"launch → first table filled     {statistics.median(table):6.2f} s"
          f"  ({statistics.median(table) / base:4.1f}× the Qt import; target 3 s)")


if __name__ == "__main__":
    main()
