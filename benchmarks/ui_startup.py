"""Launch → window on screen and → first layer table, as a user sees them on an X server.

Starts its own virtual X server (Xvfb) with the openbox window manager, then launches, in
turn, a bare PySide6 window (the baseline) and the app (first launch: fresh settings, so
it opens maximized with the course Inception net). "On screen" is when the X server maps
the window, watched by an X client (this script, through libX11: a MapNotify on the root
window); "first table" is when the app paints its layer table with rows (the app prints
it). Each launch is a fresh process; the figures are medians over ``--runs`` launches of
each, alternating, with the app's time as a ratio of the bare window's.

Targets (2 cores): window on screen within 3× the bare window; first table within 3 s.

    python benchmarks/ui_startup.py [--runs 5] [--size 1366x768] [--no-wm]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from virtual_desktop import virtual_desktop

MAP_NOTIFY = 19
SUBSTRUCTURE_NOTIFY_MASK = 1 << 19

BARE = """
import sys
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.setWindowTitle("bare")
window.setCentralWidget(QLabel("bare PySide6 window"))
window.showMaximized()
app.exec()
"""


def app_child() -> None:
    """One launch of the app, as ``explorer`` does it; prints when the first table was
    painted (``time.monotonic()``), then closes."""
    from PySide6.QtCore import QEvent, QObject

    from explorer.ui.app import launch
    from explorer.ui.background import wait_detached

    app, window = launch([])
    marks: dict[str, float] = {}

    class TablePainted(QObject):
        def eventFilter(self, obj, event):
            if (event.type() == QEvent.Type.Paint and "table" not in marks
                    and window.table.model.rowCount() > 0):
                marks["table"] = time.monotonic()
                print(json.dumps(marks), flush=True)
            return False

    probe = TablePainted()
    window.table.tree.viewport().installEventFilter(probe)

    def loaded() -> None:
        window.document.undo_stack.setClean()
        window.close()

    window.loaded.connect(loaded)
    app.exec()
    wait_detached()  # as `explorer` does: a start-up task still running ends by itself


class XWatcher:
    """An X client that reports when a top-level window is mapped on the root window."""

    def __init__(self, display: str) -> None:
        self.x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        self.x.XOpenDisplay.restype = ctypes.c_void_p
        self.x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x.XDefaultRootWindow.restype = ctypes.c_ulong
        self.x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        self.x.XSelectInput.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_long]
        for name in ("XPending", "XConnectionNumber", "XFlush", "XCloseDisplay"):
            getattr(self.x, name).argtypes = [ctypes.c_void_p]
        self.x.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.dpy = self.x.XOpenDisplay(display.encode())
        if not self.dpy:
            raise RuntimeError(f"cannot open the X display {display}")
        self.x.XSelectInput(self.dpy, self.x.XDefaultRootWindow(self.dpy),
                            SUBSTRUCTURE_NOTIFY_MASK)
        self.x.XFlush(self.dpy)
        self.fd = self.x.XConnectionNumber(self.dpy)
        self.event = ctypes.create_string_buffer(192)  # sizeof(XEvent)

    def drain(self) -> None:
        while self.x.XPending(self.dpy):
            self.x.XNextEvent(self.dpy, self.event)

    def wait_mapped(self, timeout: float) -> float:
        """``time.monotonic()`` of the next MapNotify on the root window."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            while self.x.XPending(self.dpy):
                self.x.XNextEvent(self.dpy, self.event)
                if ctypes.c_int.from_buffer(self.event).value == MAP_NOTIFY:
                    return time.monotonic()
            select.select([self.fd], [], [], max(0.0, end - time.monotonic()))
        raise TimeoutError("no window was mapped")

    def close(self) -> None:
        self.x.XCloseDisplay(self.dpy)


def launch_once(cmd: list[str], env: dict, watcher: XWatcher, app: bool) -> dict[str, float]:
    """Seconds from launch to the window mapped (and, for the app, to the first table)."""
    watcher.drain()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    try:
        out = {"mapped": watcher.wait_mapped(120) - start}
        if app:
            line = proc.stdout.readline()
            out["table"] = json.loads(line)["table"] - start
            proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="1366x768")
    parser.add_argument("--no-wm", action="store_true", help="no window manager")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        app_child()
        return
    with virtual_desktop(args.size, not args.no_wm) as display:
        bare, mapped, table = measure(display, args.runs)
    base, on_screen, first = (statistics.median(v) for v in (bare, mapped, table))
    print(f"Xvfb {args.size}{'' if args.no_wm else ' + openbox'}, {os.cpu_count()} CPUs, "
          f"{args.runs} launches each (medians; load average {os.getloadavg()[0]:.1f})")
    print(f"bare PySide6 window on screen   {base:6.2f} s")
    print(f"app window on screen            {on_screen:6.2f} s  ({on_screen / base:4.1f}× "
          "the bare window; target ≤ 3×)")
    print(f"app first table painted         {first:6.2f} s  (target ≤ 3 s)")


def measure(display: str, runs: int) -> tuple[list[float], list[float], list[float]]:
    """Launch the bare window and the app ``runs`` times each, alternating the order."""
    watcher = XWatcher(display)
    bare, mapped, table = [], [], []
    try:
        for run in range(runs):
            with tempfile.TemporaryDirectory() as home:   # a first launch every time
                env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb",
                           PYTHONPATH=str(ROOT), HOME=home)
                for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME",
                            "XDG_CACHE_HOME"):
                    env[var] = str(Path(home) / var)
                jobs = [("bare", [sys.executable, "-c", BARE]),
                        ("app", [sys.executable, __file__, "--child"])]
                for kind, cmd in jobs if run % 2 == 0 else jobs[::-1]:
                    result = launch_once(cmd, env, watcher, kind == "app")
                    if kind == "bare":
                        bare.append(result["mapped"])
                    else:
                        mapped.append(result["mapped"])
                        table.append(result["table"])
                    print(f"run {run + 1} {kind:4s} " + "  ".join(
                        f"{k} {v:5.2f} s" for k, v in result.items()), flush=True)
    finally:
        watcher.close()
    return bare, mapped, table


if __name__ == "__main__":
    main()
