"""Render the workbench offscreen: first launch, GoogLeNet with an Inception block expanded,
and a shape error. Writes docs/screenshots/{first-launch,googlenet-inception,shape-error}.png.

    python scripts/ui_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp()  # a first launch: no settings, no last network, no user blocks
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        os.environ[var] = os.path.join(tmp, var)

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.core.edit import iter_blocks
    from explorer.ui.app import create_app
    from explorer.ui.main_window import MainWindow

    _app = create_app([])  # kept alive for the whole run
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, tmp)
    window = MainWindow(QSettings())
    window.resize(1500, 900)
    window.show()

    def settle(predicate=lambda: True, timeout: float = 60.0) -> None:
        loop = QEventLoop()
        end = time.perf_counter() + timeout
        while not predicate() or time.perf_counter() < end - timeout + 0.3:
            if time.perf_counter() > end:
                raise TimeoutError
            QTimer.singleShot(20, loop.quit)
            loop.exec()

    def shot(name: str) -> None:
        settle()
        window.grab().save(str(args.out / f"{name}.png"))
        print("wrote", args.out / f"{name}.png")

    window.start()
    settle(lambda: window.latest_summary is not None)
    window.tree.select_block((3,))
    window._tree_selected((3,))
    window.diagram.fit()
    shot("first-launch")

    window.open_preset("googlenet")
    settle(lambda: window.latest_summary.name == "googlenet")
    path = next(p for p, b in iter_blocks(window.document.spec) if b.type == "inception")
    window.tree.select_block(path)
    window._tree_selected(path)
    window.tree.expand_path(path[:-2] if len(path) > 2 else path)
    box = next(b for b in window.diagram.diagram_layout().boxes
               if b.path == path and b.expandable)
    window.diagram.set_expanded(box.key, True)
    settle()
    window.diagram.zoom_out()
    window.diagram.select_block(path)
    shot("googlenet-inception")

    window.open_preset("course-inception")
    settle(lambda: window.latest_summary.name == "course-inception")
    generation = window.document.generation
    window._param_edited((4,), "kernel_size", 13)
    settle(lambda: window.latest_summary.error is not None
           and window.document.generation > generation)
    window.tree.select_block(None)   # the tree's red row, not the selection colour
    window._show_block((4,))
    window.table.select_block(None)
    window.diagram.select_block(None)
    window.diagram.fit()
    shot("shape-error")

    window.document.undo_stack.setClean()
    window.close()
    window.shutdown()
    QApplication.processEvents()


if __name__ == "__main__":
    main()
