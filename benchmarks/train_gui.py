"""Training in the window: GUI-thread stalls and throughput against the headless engine, and
the canvas's stroke-to-prediction time.

course-resnet trains on the bundled MNIST sample with the same settings (Adam, batch 64, one
thread budget) two ways, in interleaved rounds in this one process:

(a) headless: ``explorer.training.train`` consumed in a plain loop on the main thread (what
    ``explorer train`` does);
(a') headless in a thread: the same loop in a plain ``threading.Thread`` — the app's own
    threading without its window, so (b) / (a') is what the window costs;
(b) app: the main window (offscreen) starts the same run from its training panel; the run is
    in the training thread, the curves are on screen and redraw at 10 Hz.

During (b) a 5 ms timer on the GUI thread records how late each tick comes: the longest and
the 99th-percentile stall (targets: longest < 50 ms). Throughput is the engine's own
``Finished.samples_per_second`` (training batches only) in both; target: (b) within 10 % of
(a). Then, on the canvas, mouse moves extend a stroke one at a time and the time from the
move to the updated prediction on screen is recorded (target < 30 ms).

    python benchmarks/train_gui.py [--epochs 2] [--rounds 2] [--moves 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SETTINGS = {"dataset": "mnist-sample", "optimizer": "adam", "lr": 0.003, "batch_size": 64,
            "device": "cpu", "seed": 0}


def headless(spec, epochs: int) -> float:
    from explorer.training import Finished, TrainConfig, train

    config = TrainConfig(epochs=epochs, **SETTINGS)
    finished = [e for e in train(spec, config) if isinstance(e, Finished)][-1]
    return finished.samples_per_second


def headless_thread(spec, epochs: int) -> float:
    import threading

    result = []
    thread = threading.Thread(target=lambda: result.append(headless(spec, epochs)))
    thread.start()
    thread.join()
    return result[0]


def wait(app, condition, timeout=600.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("timed out")
        app.processEvents()
        time.sleep(0.002)


class StallProbe:
    """A timer on the GUI thread; each tick's lateness is a stall."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000
        self.stalls: list[float] = []
        self._last = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.stalls.append(max(0.0, now - self._last - self.interval))
        self._last = now


def in_app(app, window, epochs: int) -> tuple[float, list[float]]:
    training = window.training
    panel = training.panel
    for name, value in SETTINGS.items():
        panel.set_value(name, value)
    panel.set_value("epochs", epochs)
    finished = []
    started = []

    def on_event(event):
        name = type(event).__name__
        if name == "Started":
            started.append(event)
            probe.start()
        elif name == "Finished":
            probe.stop()
            finished.append(event)

    probe = StallProbe()
    training.runner.event.connect(on_event)
    panel.start_action.trigger()
    wait(app, lambda: finished and not training.runner.running)
    training.runner.event.disconnect(on_event)
    return finished[0].samples_per_second, probe.stalls


def canvas_latency(app, window, moves: int) -> list[float]:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    training = window.training
    training.show_view("canvas")
    canvas = training.canvas.canvas
    shown = []
    original = training.canvas.set_prediction

    def set_prediction(prediction):
        original(prediction)
        shown.append(time.perf_counter())

    training.canvas.set_prediction = set_prediction
    times = []
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(140, 40))
    wait(app, lambda: shown)
    for i in range(moves):
        y = 40 + int(200 * (i + 1) / moves)
        count = len(shown)
        start = time.perf_counter()
        QTest.mouseMove(canvas, QPoint(140 + (i % 7) - 3, y))
        wait(app, lambda c=count: len(shown) > c, timeout=10)
        times.append(shown[-1] - start)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(140, 240))
    training.canvas.set_prediction = original
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--moves", type=int, default=60)
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="explorer-bench-"))
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = str(home / var.lower())

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    import torch

    from explorer.core.presets import preset_spec
    from explorer.ui.main_window import MainWindow

    window = MainWindow(QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1400, 900)
    window.show()
    window.start(None)
    wait(app, lambda: window.training is not None and window.latest_summary is not None)
    spec = preset_spec("course-resnet")
    window.document.open_spec(spec, undoable=False)
    window.training.show_view("curves")
    wait(app, lambda: window.latest_summary.name == "course-resnet")

    print(f"course-resnet on mnist-sample, {args.epochs} epochs × 4,000 images, batch 64, "
          f"Adam; torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs")
    idle = StallProbe()
    idle.start()
    end = time.monotonic() + 3
    wait(app, lambda: time.monotonic() > end)
    idle.stop()
    idle.stalls.sort()
    print(f"GUI thread idle (no training), 3 s: longest stall {1000 * idle.stalls[-1]:.1f} ms, "
          f"99th percentile {1000 * idle.stalls[int(0.99 * (len(idle.stalls) - 1))]:.1f} ms "
          "(the machine's own noise)")
    rates = {"main": [], "thread": [], "app": []}
    stalls = []
    for round_ in range(1, args.rounds + 1):
        order = ["main", "thread", "app"]
        order = order[round_ % 3:] + order[: round_ % 3]  # rotate: no one always goes first
        for kind in order:
            if kind == "main":
                rates["main"].append(headless(spec, args.epochs))
            elif kind == "thread":
                rates["thread"].append(headless_thread(spec, args.epochs))
            else:
                rate, round_stalls = in_app(app, window, args.epochs)
                rates["app"].append(rate)
                stalls += round_stalls
        a, t, b = rates["main"][-1], rates["thread"][-1], rates["app"][-1]
        print(f"round {round_}: headless {a:,.0f} · headless in a thread {t:,.0f} · in the app "
              f"{b:,.0f} samples/s · app/thread {b / t:.2f}× · longest GUI stall "
              f"{1000 * max(round_stalls):.1f} ms")
    stalls.sort()
    p99 = stalls[min(len(stalls) - 1, int(0.99 * len(stalls)))]
    vs_thread = statistics.median(b / t for t, b in zip(rates["thread"], rates["app"]))
    vs_main = statistics.median(b / a for a, b in zip(rates["main"], rates["app"]))
    print(f"throughput (medians): headless {statistics.median(rates['main']):,.0f}, headless in a "
          f"thread {statistics.median(rates['thread']):,.0f}, in the app "
          f"{statistics.median(rates['app']):,.0f} samples/s; app / headless-in-a-thread "
          f"{vs_thread:.2f}×, app / headless {vs_main:.2f}× (target ≥ 0.90)")
    print(f"GUI thread during training: {len(stalls)} ticks of 5 ms, longest stall "
          f"{1000 * stalls[-1]:.1f} ms, 99th percentile {1000 * p99:.1f} ms, median "
          f"{1000 * statistics.median(stalls):.1f} ms (target: longest < 50 ms)")
    times = canvas_latency(app, window, args.moves)
    times.sort()
    print(f"canvas: stroke → updated prediction over {len(times)} moves: median "
          f"{1000 * statistics.median(times):.1f} ms, 95th percentile "
          f"{1000 * times[int(0.95 * (len(times) - 1))]:.1f} ms, longest "
          f"{1000 * times[-1]:.1f} ms (target < 30 ms; read by {window.training.snapshot.label})")
    window.document.undo_stack.setClean()
    window.close()
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
