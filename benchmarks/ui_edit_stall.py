"""50 quick edits to ResNet-18 in the window: the GUI thread's longest stall and edit → table.

A 1 ms timer on the GUI thread records the gaps between its ticks (a gap is a stall: the
thread was busy or waiting for the GIL). Edits go through the same path as the property
form (one document command each). Two phases:

- *burst*: 50 edits 20 ms apart (faster than the inspector: stale results are dropped);
- *paced*: 50 edits, each made once the previous one's table is shown: edit → table time.

Targets: longest stall under 50 ms; edit → table under 150 ms.

    python benchmarks/ui_edit_stall.py [--preset resnet18] [--edits 50]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="resnet18")
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--no-freeze", action="store_true",
                        help="skip gc.freeze() after start-up (to compare)")
    parser.add_argument("--switch-ms", type=float, default=None,
                        help="sys.setswitchinterval for the run (Python's default is 5 ms)")
    args = parser.parse_args()
    if args.switch_ms is not None:
        import sys

        sys.setswitchinterval(args.switch_ms / 1000)
    tmp = tempfile.mkdtemp()
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        os.environ[var] = os.path.join(tmp, var)

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.ui.main_window import MainWindow

    app = QApplication([])
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, tmp)
    window = MainWindow(QSettings())
    window.resize(1400, 860)
    window.show()

    def wait_for(predicate, timeout: float = 60.0) -> None:
        end = time.perf_counter() + timeout
        while not predicate():
            if time.perf_counter() > end:
                raise TimeoutError
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)

    window.start()
    wait_for(lambda: window.latest_summary is not None)
    window.open_preset(args.preset)
    wait_for(lambda: window.latest_summary.name == args.preset)
    if not args.no_freeze:
        gc.collect()
        gc.freeze()

    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    probe = QTimer()
    probe.setInterval(1)
    probe.timeout.connect(tick)

    spec = window.document.spec
    from explorer.core.edit import iter_blocks

    conv = next(path for path, b in iter_blocks(spec) if b.type == "conv2d")
    widths = [64 + 8 * (i % 2 + 1) for i in range(args.edits)]

    shown = [0]  # the generation whose table is on screen
    window.summary_ready.connect(lambda _s: shown.__setitem__(0, window.document.generation))

    # burst: edits 20 ms apart, driven by a timer on the GUI thread
    probe.start()
    last[0] = time.perf_counter()
    pending = list(widths)

    def burst_edit() -> None:
        if pending:
            window._param_edited(conv, "out_channels", pending.pop())
        else:
            burst.stop()

    burst = QTimer()
    burst.setInterval(20)
    burst.timeout.connect(burst_edit)
    burst.start()
    wait_for(lambda: not pending and shown[0] == window.document.generation)
    burst_gaps, gaps[:] = list(gaps), []
    dropped = window.dropped_results

    # paced: each edit waits for its own table
    latencies = []
    for i in range(args.edits):
        start = time.perf_counter()
        window._param_edited(conv, "out_channels", 96 + (i % 2) * 8)
        wait_for(lambda: shown[0] == window.document.generation)
        latencies.append(time.perf_counter() - start)
        pause = time.perf_counter() + 0.02
        wait_for(lambda p=pause: time.perf_counter() > p)
    probe.stop()
    paced_gaps = list(gaps)
    window.document.undo_stack.setClean()
    window.close()
    window.shutdown()

    ms = 1000
    print(f"{args.preset}: editing {conv}, {args.edits} edits per phase, "
          f"gc.freeze {'off' if args.no_freeze else 'on'}")
    print(f"burst (20 ms apart): longest GUI stall {max(burst_gaps) * ms:6.1f} ms, "
          f"p99 {percentile(burst_gaps, 0.99) * ms:5.1f} ms; {dropped} stale results dropped")
    print(f"paced:               longest GUI stall {max(paced_gaps) * ms:6.1f} ms, "
          f"p99 {percentile(paced_gaps, 0.99) * ms:5.1f} ms")
    print(f"edit → table:        median {statistics.median(latencies) * ms:6.1f} ms, "
          f"p90 {percentile(latencies, 0.9) * ms:6.1f} ms, max {max(latencies) * ms:6.1f} ms "
          f"(inspection alone: {window.last_inspection_seconds * ms:.1f} ms)")
    print("targets: longest stall < 50 ms, edit → table < 150 ms")


if __name__ == "__main__":
    main()
