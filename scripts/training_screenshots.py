"""Render the training views offscreen into PNGs, to look at them and to show in the README.

    python scripts/training_screenshots.py [OUT_DIR]

In the real main window (settings and runs in a temporary folder): a digit "3" drawn on the
canvas and read by the bundled digit model (``training-canvas.png``), the feature maps of
that drawing (``training-feature-maps.png``), and course-resnet training on the MNIST sample,
caught mid-run: the panel beside its live curves (``training-panel.png``). Default
``OUT_DIR``: ``docs/screenshots``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def three() -> list[list[tuple[float, float]]]:
    """A hand-drawn looking 3 in canvas coordinates (280×280): two arcs."""
    def arc(cx, cy, r, start, stop, n=28):
        return [(cx + r * math.cos(math.radians(start + (stop - start) * i / n)),
                 cy + r * math.sin(math.radians(start + (stop - start) * i / n)))
                for i in range(n + 1)]

    return [arc(138, 92, 48, -165, 95), arc(138, 190, 52, -95, 165)]


def wait(app, condition, timeout=120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="docs/screenshots")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="explorer-shots-"))
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = str(home / var.lower())

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from explorer.ui.main_window import MainWindow

    window = MainWindow(QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    window.start(None)
    wait(app, lambda: window.training is not None and window.latest_summary is not None)
    from explorer.core.presets import preset_spec

    window.document.open_spec(preset_spec("course-resnet"), undoable=False)
    training = window.training

    # the canvas and the feature maps of a drawing, read by the bundled digit model
    training.show_view("canvas")
    training.canvas.canvas.set_strokes(three(), width=20)
    wait(app, lambda: training.canvas.prediction is not None)
    app.processEvents()
    training.canvas.grab().save(str(out / "training-canvas.png"))
    maps = training.feature_maps
    training.show_view("feature_maps")
    maps.refresh()
    wait(app, lambda: maps.result is not None and maps.result.maps is not None)
    maps.select_layer("conv1")
    wait(app, lambda: maps.result.layer == "conv1")
    app.processEvents()
    maps.grab().save(str(out / "training-feature-maps.png"))

    # course-resnet training on the sample, caught mid-run
    panel = training.panel
    for name, value in (("dataset", "mnist-sample"), ("epochs", 12), ("optimizer", "adam"),
                        ("lr", 0.003), ("schedule", "onecycle"), ("augment", True),
                        ("device", "cpu")):
        panel.set_value(name, value)
    epochs = []
    training.runner.event.connect(
        lambda e: epochs.append(e) if type(e).__name__ == "EpochEnd" else None)
    panel.start_action.trigger()
    wait(app, lambda: len(epochs) >= 5, timeout=600)
    wait(app, lambda: panel.progress.value() % max(1, panel.total_steps // 12) > 20)
    training.curves.redraw()
    app.processEvents()
    window.grab().save(str(out / "training-panel.png"))
    training.stop()
    wait(app, lambda: not training.runner.running)
    window.document.undo_stack.setClean()
    window.close()
    window.shutdown()
    for name in ("training-canvas.png", "training-feature-maps.png", "training-panel.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
