"""Save → table for a user's ResNet-18 written as a .py, against the same network as a spec.

The window (offscreen) shows ``resnet18.py`` — d2l's ResNet-18, the code the course writes —
and the file is saved 20 times the way editors save (a new file renamed over the old one),
each save changing the class count (10 ↔ 11) so that the table must change. The time is
from the rename to the table showing the new summary: the file watch (with its debounce),
reading the file, the inspection child forking a process that imports the file, builds the
network (on the meta device) and summarises it, and the table. Then the same network as the
``resnet18`` preset (a spec) is edited 20 times the same way (num_classes 10 ↔ 11, one
document command each): edit → table. Both in the same run, on the same machine.

    python benchmarks/pyfile_save.py [--saves 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RESNET18_PY = '''\
"""ResNet-18 as d2l §8.6 writes it, for a 1×96×96 input."""
import torch
from torch import nn
from torch.nn import functional as F

INPUT_SHAPE = (1, 96, 96)
NUM_CLASSES = {classes}


class Residual(nn.Module):
    def __init__(self, in_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, num_channels, kernel_size=3, padding=1,
                               stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(in_channels, num_channels, kernel_size=1, stride=strides) \\
            if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


def resnet_block(in_channels, num_channels, num_residuals, first_block=False):
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(in_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels, num_channels))
    return blk


def resnet18():
    b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3),
                       nn.BatchNorm2d(64), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b2 = nn.Sequential(*resnet_block(64, 64, 2, first_block=True))
    b3 = nn.Sequential(*resnet_block(64, 128, 2))
    b4 = nn.Sequential(*resnet_block(128, 256, 2))
    b5 = nn.Sequential(*resnet_block(256, 512, 2))
    return nn.Sequential(b1, b2, b3, b4, b5, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                         nn.Linear(512, NUM_CLASSES))


if __name__ == "__main__":
    X = torch.rand(size=(1, 1, 96, 96))
    for layer in resnet18():
        X = layer(X)
        print(layer.__class__.__name__, "output shape:\\t", X.shape)
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        os.environ[var] = str(tmp / var)

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.ui.main_window import MainWindow

    app = QApplication([])
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp))
    window = MainWindow(QSettings())
    window.resize(1400, 860)
    window.show()

    def wait_for(predicate, timeout: float = 120.0) -> float:
        end = time.perf_counter() + timeout
        while not predicate():
            if time.perf_counter() > end:
                raise TimeoutError
            # sleeps until the next event: no busy loop competing with the inspection
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        return time.perf_counter()

    tick = QTimer()  # wakes the wait now and then, whatever happens
    tick.start(100)
    window.start()
    wait_for(lambda: window.latest_summary is not None and window.python_files is not None)

    path = tmp / "resnet18.py"
    path.write_text(RESNET18_PY.format(classes=10), encoding="utf-8")
    window.open_file(path)
    wait_for(lambda: window.file_report is not None and window.file_report.problem is None
             and window.latest_summary.output_shape == (10,))
    py_params = window.latest_summary.total_params
    file_times, child_times = [], []
    for i in range(args.saves):
        classes = 11 if i % 2 == 0 else 10
        tmp_file = path.with_name(".resnet18.py.tmp")
        tmp_file.write_text(RESNET18_PY.format(classes=classes), encoding="utf-8")
        start = time.perf_counter()
        os.replace(tmp_file, path)
        end = wait_for(lambda c=classes: window.latest_summary.output_shape == (c,))
        file_times.append(end - start)
        child_times.append(window.file_report.seconds)

    window.open_preset("resnet18")
    wait_for(lambda: window.latest_summary.name == "resnet18"
             and window.latest_summary.output_shape == (10,))
    spec_params = window.latest_summary.total_params
    spec_times = []
    for i in range(args.saves):
        classes = 11 if i % 2 == 0 else 10
        new = dataclasses.replace(window.document.spec, num_classes=classes)
        start = time.perf_counter()
        window.document.edit(f"classes {classes}", new)
        end = wait_for(lambda c=classes: window.latest_summary.output_shape == (c,))
        spec_times.append(end - start)

    window.shutdown()
    _report(args.saves, py_params, spec_params, file_times, spec_times)
    print(f"of a save's time, in the forked child (import, build, summary): median "
          f"{statistics.median(child_times) * 1000:.0f} ms")


def _report(saves: int, py_params: int, spec_params: int, file_times: list[float],
            spec_times: list[float]) -> None:
    print(f"ResNet-18, 1×96×96: the .py has {py_params:,} parameters, the spec "
          f"{spec_params:,}")
    print(f"{'':28}{'median':>10}{'worst':>10}")
    for label, times in ((f".py saved ({saves} saves)", file_times),
                         (f"spec edited ({saves} edits)", spec_times)):
        print(f"{label:28}{statistics.median(times) * 1000:8.0f} ms"
              f"{max(times) * 1000:8.0f} ms")
    ratio = statistics.median(file_times) / statistics.median(spec_times)
    print(f"median ratio .py / spec: {ratio:.2f}")


if __name__ == "__main__":
    main()
