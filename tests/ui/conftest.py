"""Qt test set-up: offscreen rendering, an isolated settings/state/data folder per test, a
window fixture, and a check that fails any test that leaves a thread running."""

from __future__ import annotations

import os
import threading
import weakref

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest
from PySide6.QtCore import QSettings, QThread
from PySide6.QtWidgets import QApplication
from ui_helpers import TINY, cancel_dialog_answers, close_window, make_window

from explorer.ui.background import THREAD_PREFIX

_started: list[weakref.ref] = []
_original_start = QThread.start


def _tracking_start(self, *args):
    _started.append(weakref.ref(self))
    return _original_start(self, *args)


QThread.start = _tracking_start


@pytest.fixture(autouse=True)
def no_answer_left():
    """An answer to a dialog that never opened stops waiting when its test ends."""
    yield
    cancel_dialog_answers()


@pytest.fixture(autouse=True)
def no_thread_left():
    """Fail the test if a QThread or a Python thread it started is still running after it."""
    before = set(threading.enumerate())
    _started.clear()
    yield
    app = QApplication.instance()
    if app is not None:
        app.processEvents()
    running = [t for ref in _started if (t := ref()) is not None and t.isRunning()]
    extra = [t for t in threading.enumerate() if t not in before and t.is_alive()
             and (not t.daemon or t.name.startswith(THREAD_PREFIX))]
    for t in running:  # stop them so the next test starts clean, then fail
        t.quit()
        t.wait(5000)
    assert not running, f"threads left running: {[t.objectName() for t in running]}"
    assert not extra, f"Python threads left running: {extra}"


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch):
    """Settings, state (autosave) and data (user blocks) in the test's own folder."""
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                     ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "config"))
    QApplication.setOrganizationName("network-explorer-tests")
    QApplication.setApplicationName("Network Explorer")
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def window(qtbot):
    """The main window, started and with its first table filled; closed (changes discarded)
    and its threads joined at the end."""
    win = make_window(qtbot)
    yield win
    if win.isVisible():
        close_window(win, qtbot)
    win.shutdown()
    from explorer.ui.background import wait_detached

    wait_detached()  # what the app does after its event loop: join threads left to end


@pytest.fixture
def one_torch_thread():
    """Training tests compute on one thread: the suite shares two cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def app_window(window, isolated_folders, one_torch_thread):
    """The main window (see conftest) holding a tiny digit network; runs go to the test's
    own data folder."""
    from explorer.core.spec import ArchitectureSpec

    window.document.open_spec(ArchitectureSpec.from_dict(TINY), undoable=False)
    controller = window.training
    assert controller.runs_root == isolated_folders / "data" / "network-explorer" / "runs"
    return window, controller


def _inspected(name: str):
    from explorer.core.inspector import inspect_spec
    from explorer.core.presets import preset_spec

    spec = preset_spec(name)
    return spec, inspect_spec(spec, depth=8)


@pytest.fixture(scope="module")
def course():
    """The course Inception net and its summary (depth 8, as the window inspects)."""
    return _inspected("course-inception")


@pytest.fixture(scope="module")
def googlenet():
    """GoogLeNet and its summary."""
    return _inspected("googlenet")


@pytest.fixture(scope="module")
def resnet56():
    """ResNet-56 and its summary."""
    return _inspected("resnet56")
