"""Screenshots of the Train & look workspace in the real window: the app launched on a virtual
X desktop (Xvfb + openbox), maximized at its default layout, settings and runs in a
temporary folder.

    python scripts/training_screenshots.py [--out docs/screenshots] [--size 1366x768]

Writes ``training-canvas.png`` (a digit "3" drawn on the canvas, read by the bundled digit
model), ``training-feature-maps.png`` (the feature maps of that drawing) and
``training-panel.png`` (course-resnet training on the MNIST sample, caught mid-run with its
live curves, F5 having brought them forward).
"""

from __future__ import annotations

import math
from pathlib import Path

from virtual_desktop import screenshot_options, screenshot_session, shot, wait


def three() -> list[list[tuple[float, float]]]:
    """A hand-drawn looking 3 in canvas coordinates (280×280): two arcs."""
    def arc(cx, cy, r, start, stop, n=28):
        return [(cx + r * math.cos(math.radians(start + (stop - start) * i / n)),
                 cy + r * math.sin(math.radians(start + (stop - start) * i / n)))
                for i in range(n + 1)]

    return [arc(138, 92, 48, -165, 95), arc(138, 190, 52, -95, 165)]


def main() -> None:
    args = screenshot_options(__doc__).parse_args()
    with screenshot_session(args) as (app, window):
        from explorer.core.presets import preset_spec

        window.document.open_spec(preset_spec("course-resnet"), undoable=False)
        wait(app, lambda: window.latest_summary.name == "course-resnet")
        drawing(app, window, args.out)
        training(app, window, args.out)


def drawing(app, window, out: Path) -> None:
    views = window.training
    views.show_view("canvas")
    views.canvas.canvas.set_strokes(three(), width=20)
    wait(app, lambda: views.canvas.prediction is not None)
    shot(app, out / "training-canvas.png")
    maps = views.feature_maps
    views.show_view("feature_maps")
    maps.refresh()
    wait(app, lambda: maps.result is not None and maps.result.maps is not None)
    maps.select_layer("conv1")
    wait(app, lambda: maps.result.layer == "conv1")
    shot(app, out / "training-feature-maps.png")


def training(app, window, out: Path) -> None:
    views = window.training
    panel = views.panel
    for name, value in (("dataset", "mnist-sample"), ("epochs", 8), ("optimizer", "adam"),
                        ("lr", 0.003), ("schedule", "onecycle"), ("augment", True),
                        ("device", "cpu")):
        panel.set_value(name, value)
    window.show_view("Code")                       # F5 from anywhere brings the curves
    epochs = []
    views.runner.event.connect(
        lambda e: epochs.append(e) if type(e).__name__ == "EpochEnd" else None)
    panel.start_action.trigger()
    wait(app, lambda: len(epochs) >= 4, timeout=1200)
    wait(app, lambda: panel.progress.value() % max(1, panel.total_steps // 8) > 20)
    views.curves.redraw()
    shot(app, out / "training-panel.png")
    views.stop()
    wait(app, lambda: not views.runner.running, timeout=120)


if __name__ == "__main__":
    main()
