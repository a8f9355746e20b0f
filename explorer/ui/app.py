"""Start the desktop app: window first, PyTorch once its first frame is on screen.

Start-up order: the inspection process is started first (it loads PyTorch on another core);
the QApplication and the main window are created and shown with nothing heavier than Qt
imported; once the first frame is presented (the window's expose, then one turn of the event
loop) a loader thread reads the block registries and the first network, without PyTorch; the
window fills the palette and opens that network, whose first table the inspection process
makes; then a thread imports PyTorch here and the training views are installed. An exception
hook writes a crash log and, on the GUI thread, autosaves and shows the details in a dialog
the user can copy from.
"""

from __future__ import annotations

import gc
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path

ORGANIZATION = "network-explorer"
APPLICATION = "Network Explorer"


def icon_path() -> Path:
    from explorer.paths import resource_path

    return resource_path("icons/network-explorer.svg")


def apply_color_scheme(app) -> None:
    """Follow the system's light or dark scheme (Fusion with a dark palette when dark)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPalette

    if app.styleHints().colorScheme() != Qt.ColorScheme.Dark:
        return
    app.setStyle("Fusion")
    pal = QPalette()
    base, window, text = QColor(35, 35, 38), QColor(48, 48, 52), QColor(230, 230, 230)
    for role, color in (
        (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.ToolTipBase, window),
        (QPalette.ColorRole.ToolTipText, text), (QPalette.ColorRole.Highlight,
                                                 QColor(64, 128, 200)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
    ):
        pal.setColor(role, color)
    app.setPalette(pal)


def install_exception_hook(window) -> None:
    """Unhandled exceptions (GUI or worker threads): a crash log, then — on the GUI thread,
    whichever thread failed — an autosave and a dialog the user can copy the details from.

    The hook itself touches no Qt object and no window state: it writes the log (plain file
    I/O) and posts the rest to the GUI thread through a queued signal.
    """
    from PySide6.QtCore import QObject, Qt, Signal

    from explorer.crash import write_crash_log

    class _Relay(QObject):
        crashed = Signal(object, object)  # the exception, the crash log's path (or None)

    relay = _Relay(window)

    def show(value, log) -> None:
        text = "".join(traceback.format_exception(type(value), value, value.__traceback__))
        try:
            window.autosave_now()
            saved = "Your work was autosaved"
        except Exception:  # noqa: BLE001 (already reporting a crash; keep going)
            saved = "Autosave failed too"
        window.show_error(
            "Something went wrong",
            f"Network Explorer hit an internal error: {value}. {saved}"
            + (f"; the details are in {log}" if log else "") + ".\n\n" + text)

    relay.crashed.connect(show, Qt.ConnectionType.QueuedConnection)
    window._crash_relay = relay

    def report(kind, value, tb) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(text)
        log = write_crash_log(kind, value, tb, context="the window")
        if value is None:
            value = kind()
        relay.crashed.emit(value.with_traceback(tb), log)

    sys.excepthook = report
    threading.excepthook = lambda args: report(args.exc_type, args.exc_value,
                                               args.exc_traceback)


def create_app(argv: Sequence[str]):
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app = QApplication.instance() or QApplication(["explorer", *argv])
    app.setApplicationDisplayName(APPLICATION)
    app.setDesktopFileName("network-explorer")
    icon = QIcon(str(icon_path()))
    icon.addFile(str(icon_path().with_name("network-explorer-256.png")))
    app.setWindowIcon(icon)
    apply_color_scheme(app)
    return app


def after_first_frame(window, callback, fallback_ms: int = 2000) -> None:
    """Call ``callback`` once ``window`` is on screen: after its first expose (which paints
    and flushes the first frame) and one more turn of the event loop; or after
    ``fallback_ms`` if the platform never exposes it."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    done = []

    def fire() -> None:
        if not done:
            done.append(True)
            handle.removeEventFilter(watcher)
            if window.isVisible():  # not closed meanwhile
                callback()

    class Watcher(QObject):
        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Type.Expose and obj.isExposed():
                QTimer.singleShot(0, window, fire)  # runs after this expose is painted
            return False

    handle = window.windowHandle()
    watcher = Watcher(window)
    handle.installEventFilter(watcher)
    QTimer.singleShot(fallback_ms, window, fire)


def launch(argv: Sequence[str]):
    """Start the inspection process, create the app and show the window; the loader starts
    once its first frame is on screen (loading PyTorch's libraries holds the interpreter lock
    for a second or more: it is done here only after the first table).

    Returns ``(app, window)``; :func:`main` then runs the event loop.
    """
    from explorer.ui.inspection_process import start_inspection_process

    # first of all: it loads PyTorch on another core while this process shows the window,
    # and makes the first table
    process = start_inspection_process()
    app = create_app(argv)
    from explorer.ui.main_window import MainWindow

    window = MainWindow(inspection_process=process)
    install_exception_hook(window)
    if window.first_launch_layout:
        window.showMaximized()  # the default layout is designed for the whole screen
    else:
        window.show()
    path = argv[0] if argv else None
    after_first_frame(window, lambda: window.start(path))
    window.loaded.connect(_freeze_startup_garbage)
    return app, window


def main(argv: Sequence[str] | None = None) -> int:
    """Open the window; ``argv`` may name one architecture file to open."""
    app, _window = launch(list(sys.argv[1:] if argv is None else argv))
    from explorer.ui.background import wait_detached

    code = app.exec()
    wait_detached()  # a run or a start-up left to end by itself: the window is already gone
    return code


def _freeze_startup_garbage() -> None:
    """Move start-up objects out of the collector's reach: fewer, shorter GC pauses later."""
    gc.collect()
    gc.freeze()
