"""A virtual X desktop for looking at the real window: Xvfb plus the openbox window manager.

Used by the screenshot scripts and ``benchmarks/ui_startup.py``:

    with virtual_desktop("1366x768") as display:
        os.environ["DISPLAY"] = display
        ...

Needs ``Xvfb`` and (for a window manager) ``openbox``: on Debian/Ubuntu
``apt install xvfb openbox``, plus the xcb libraries listed in the README.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_display(first: int = 90) -> str:
    """A display number no X server uses yet, as ``":N"``."""
    n = first
    while Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists():
        n += 1
    return f":{n}"


def _start_xvfb(size: str) -> tuple[str, subprocess.Popen]:
    """Xvfb on a free display; when another script took that number at the same moment (our
    server exits: the display is in use), the next one."""
    first = 90
    for _ in range(20):
        display = free_display(first)
        proc = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size}x24", "-nolisten",
                                 "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        socket = Path(f"/tmp/.X11-unix/X{display[1:]}")
        for _ in range(200):
            if proc.poll() is not None or socket.exists():
                break
            time.sleep(0.05)
        time.sleep(0.3)  # a server that lost the race has exited by now
        if proc.poll() is None and socket.exists():
            return display, proc
        proc.kill()
        proc.wait()
        first = int(display[1:]) + 1
    raise SystemExit("Xvfb did not start")


@contextlib.contextmanager
def virtual_desktop(size: str = "1366x768", wm: bool = True) -> Iterator[str]:
    """Start Xvfb (``size`` as ``WxH``) and openbox; yield the display; stop both after."""
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is not installed (apt install xvfb openbox)")
    display, xvfb = _start_xvfb(size)
    procs = [xvfb]
    try:
        if wm and shutil.which("openbox"):
            procs.append(subprocess.Popen(["openbox"], env=dict(os.environ, DISPLAY=display),
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            time.sleep(1.0)
        yield display
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def screenshot_options(doc: str) -> argparse.ArgumentParser:
    """The screenshot scripts' command line: ``--out`` (the README's folder) and ``--size``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SCREENSHOTS)
    parser.add_argument("--size", default="1366x768")
    return parser


@contextlib.contextmanager
def screenshot_session(args: argparse.Namespace) -> Iterator[tuple]:
    """The app as a user first sees it on ``args.size`` (a fresh home, maximized, first
    network loaded): yield ``(app, window)``; close it (discarding) after."""
    args.out.mkdir(parents=True, exist_ok=True)
    with virtual_desktop(args.size) as display, tempfile.TemporaryDirectory() as home:
        use_display(display, Path(home))
        app, window = open_window()
        yield app, window
        close_window(app, window)


def use_display(display: str, home: Path) -> None:
    """Make this process's Qt use ``display`` and a fresh home (a first launch)."""
    os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(home))
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = str(home / var.lower())


def wait(app, condition=lambda: True, timeout: float = 120.0, at_least: float = 0.0) -> None:
    """Run the event loop until ``condition()`` holds (and ``at_least`` seconds passed)."""
    start = time.monotonic()
    while not condition() or time.monotonic() - start < at_least:
        if time.monotonic() - start > timeout:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def open_window():
    """Launch the app as ``explorer`` does (maximized on a first launch); return
    ``(app, window)`` once the first network, its table and the training views are there."""
    from explorer.ui.app import launch

    app, window = launch([])
    wait(app, lambda: window.is_loaded and window.training is not None
         and window.latest_summary is not None)
    wait(app, window.isMaximized, timeout=10, at_least=1.0)
    return app, window


def shot(app, path: Path) -> Path:
    """The whole screen, window manager included, as a user sees it."""
    wait(app, at_least=0.6)
    app.primaryScreen().grabWindow(0).save(str(path))
    print("wrote", path)
    return path


def close_window(app, window) -> None:
    """Close the window as a user who discards the changes the script made (the question
    the window asks is answered by its Discard button), then join its threads."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def discard() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QMessageBox):
            QTimer.singleShot(50, discard)
            return
        button = next(b for b in dialog.buttons() if "Discard" in b.text().replace("&", ""))
        button.click()

    if window.document.modified:
        QTimer.singleShot(50, discard)
    window.close()
    window.shutdown()
    app.processEvents()
