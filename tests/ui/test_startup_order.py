"""Start-up order: the window's first frame is on screen before the loader starts (loading
PyTorch's libraries holds the interpreter lock and would delay it); at a launch the first
table comes from the inspection process, and PyTorch is loaded here only after it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget
from explorer.ui.app import create_app
app = create_app([])
marks = []

class Probe(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Expose:
            marks.append("expose")
        elif (event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
              and obj.window().objectName() == "MainWindow"):
            marks.append("paint")
        return False

probe = Probe()
app.installEventFilter(probe)
from explorer.ui import main_window

def start(self, path=None):
    marks.append("start" if "torch" not in sys.modules else "start after torch")
    app.quit()

main_window.MainWindow.start = start
from explorer.ui.app import launch
app, window = launch([])
app.exec()
print(" ".join(m for i, m in enumerate(marks) if i == 0 or marks[i - 1] != m))
"""


def test_the_loader_starts_after_the_first_frame(isolated_folders):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    marks = out.stdout.split()
    assert "start" in marks, out.stderr
    assert marks[:marks.index("start") + 1] == ["expose", "paint", "start"], out.stdout


LAUNCH = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from explorer.ui.app import launch
from explorer.ui.background import wait_detached
app, window = launch([])
seen = []

def table(summary):
    if not seen:
        seen.append(f"table {window.table.model.rowCount() > 0} {summary.total_params} "
                    f"torch-here {'torch' in sys.modules} training {window.training is not None}")

def loaded():
    seen.append(f"loaded torch-here {'torch' in sys.modules} "
                f"training {window.training is not None} device {window.device_name}")
    window.close()

window.summary_ready.connect(table)
window.loaded.connect(loaded)
app.exec()
wait_detached()
print("|".join(seen))
"""


def test_at_a_launch_the_first_table_comes_before_pytorch_is_loaded_here(isolated_folders):
    """The inspection process, started first, makes the first table while this process has
    not imported PyTorch; the training views follow, once it is loaded here."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", LAUNCH], env=env, capture_output=True,
                         text=True, timeout=180, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().split("|") == [
        "table True 97298 torch-here False training False",  # course-inception
        "loaded torch-here True training True device CPU",
    ], out.stderr



@pytest.fixture
def inspection_requests(monkeypatch):
    """What the window asks its inspection process (nothing is sent to it)."""
    from explorer.ui.background import Inspector

    asked = []
    monkeypatch.setattr(Inspector, "request", lambda self, job: asked.append(job))
    return asked


def test_the_first_network_is_summarised_once(qtbot, inspection_requests, window):
    """The loader's summary of the first network is the first table: the inspection process
    is not asked for the same network again (it only warms up after that table)."""
    shown = []
    window.summary_ready.connect(shown.append)
    qtbot.wait(500)  # time for a second result, if one were coming
    assert inspection_requests == [] and shown == [] and window.inspections == 1
    assert window.latest_summary.total_params == 97_298  # course-inception


def test_a_python_file_named_at_a_launch_opens_after_a_start_up_question(qtbot, tmp_path):
    """At a launch PyTorch loads here while the window may still be asking a start-up
    question (restore a crashed window's work?); the Python file named on the command line
    still opens once the training views are in."""
    from pyfile_sources import COURSE_NET, write
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox
    from ui_helpers import close_window, crashed_instance

    from explorer.core.presets import preset_spec
    from explorer.core.spec import ArchitectureSpec
    from explorer.session import Work, sessions_folder
    from explorer.ui.background import wait_detached
    from explorer.ui.inspection_process import InspectionProcess
    from explorer.ui.main_window import MainWindow

    lost = ArchitectureSpec.from_dict({**preset_spec("lenet").to_dict(), "num_classes": 3})
    crashed_instance(sessions_folder(), "crashed", Work(lost, None, True, time=time.time()))
    path = write(tmp_path, "net.py", COURSE_NET)
    window = MainWindow(QSettings(), inspection_process=InspectionProcess())
    window.show()
    asked = []

    def not_now_once_pytorch_is_in() -> None:  # the question stays while PyTorch loads
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and window.training is not None:
            asked.append(box.text())
            next(b for b in box.buttons() if b.text() == "Not now").click()
        else:
            QTimer.singleShot(50, not_now_once_pytorch_is_in)

    QTimer.singleShot(50, not_now_once_pytorch_is_in)
    try:
        with qtbot.waitSignal(window.loaded, timeout=120_000):
            window.start(f"{path}:Net")
        qtbot.waitUntil(lambda: bool(asked) and window.file_report is not None,
                        timeout=120_000)
        assert "did not close properly" in asked[0]
        assert window.document.view.path == str(path.resolve())
        assert window.file_report.target == "Net"
    finally:
        close_window(window, qtbot)
        window.shutdown()
        wait_detached()


def test_a_saved_block_that_cannot_be_read_is_reported_after_start_up(qtbot):
    from ui_helpers import make_window

    from explorer.core.library import library_folder
    from explorer.ui.background import wait_detached

    library_folder().mkdir(parents=True)
    (library_folder() / "mine.json").write_text("{not json")
    window = make_window(qtbot)
    try:
        assert window.training is not None  # everything is in: "Ready" did not cover it
        message = window.statusBar().currentMessage()
        assert message.startswith("Skipped a saved block") and "mine.json" in message
    finally:
        window.close()
        window.shutdown()
        wait_detached()
