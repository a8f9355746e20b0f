"""Start the desktop app: window first, PyTorch after the first paint.

Start-up order: the QApplication and the main window are created and shown with nothing
heavier than Qt imported; right after the first paint a loader thread imports PyTorch and the
block registries, fills the palette and opens the first network, whose inspection then runs
on the inspector thread. An exception hook autosaves, writes a crash log and shows the
details in a dialog the user can copy from.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
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


def crash_log_folder() -> Path:
    from explorer.ui.main_window import state_folder

    return state_folder() / "crashes"


def install_exception_hook(window) -> None:
    """Unhandled exceptions (GUI or worker threads): autosave, crash log, copyable dialog."""

    def report(kind, value, tb) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(text)
        log = None
        try:
            window.autosave_now()
        except Exception:  # noqa: BLE001 (already reporting a crash; keep going)
            text += "\n(autosave failed too)"
        try:
            folder = crash_log_folder()
            folder.mkdir(parents=True, exist_ok=True)
            log = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
            log.write_text(text, encoding="utf-8")
        except OSError:
            log = None
        from PySide6.QtCore import QThread, QTimer
        from PySide6.QtWidgets import QApplication

        def show() -> None:
            window.show_error(
                "Something went wrong",
                f"Network Explorer hit an internal error: {value}. Your work was autosaved"
                + (f"; the details are in {log}" if log else "") + ".\n\n" + text)

        app = QApplication.instance()
        if app is not None and QThread.currentThread() is app.thread():
            show()
        elif app is not None:
            QTimer.singleShot(0, app, show)

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


def launch(argv: Sequence[str]):
    """Create the app and show the window; the loader starts once the event loop runs.

    Returns ``(app, window)``; :func:`main` then runs the event loop.
    """
    app = create_app(argv)
    from PySide6.QtCore import QTimer

    from explorer.ui.main_window import MainWindow

    window = MainWindow()
    install_exception_hook(window)
    if window.first_launch_layout:
        window.showMaximized()  # the default layout is designed for the whole screen
    else:
        window.show()
    path = argv[0] if argv else None
    QTimer.singleShot(0, lambda: window.start(path))   # after the first paint
    window.loaded.connect(_freeze_startup_garbage)
    return app, window


def main(argv: Sequence[str] | None = None) -> int:
    """Open the window; ``argv`` may name one architecture file to open."""
    app, _window = launch(list(sys.argv[1:] if argv is None else argv))
    return app.exec()


def _freeze_startup_garbage() -> None:
    """Move start-up objects out of the collector's reach: fewer, shorter GC pauses later."""
    gc.collect()
    gc.freeze()
