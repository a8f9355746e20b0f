"""Launch → window on screen and → first layer table, as a user sees them on an X server.

Starts its own virtual X server (Xvfb) with the openbox window manager, then launches, in
turn, a bare PySide6 window (the baseline) and the app (first launch: fresh settings, so
it opens maximized with the course Inception net). "On screen" is when the X server maps
the window, watched by an X client (this script, through libX11: a MapNotify on the root
window); "first table" is when the app paints its layer table with rows (the app prints
it). Each launch is a fresh process; the figures are medians over ``--runs`` launches of
each, alternating, with the app's time as a ratio of the bare window's.

Targets (2 cores): window on screen within 3× the bare window; first table within 3 s.

``--bundle dist/network-explorer/network-explorer`` also launches the frozen app, and the app
from the virtual environment as a user does (``python -m explorer``), both watched from
outside only: on screen as above, "first table" when the layer table's part of the screen
(the default maximized layout at 1366×768) first shows what it shows once settled, with rows
in it (sampled every 0.1 s). The venv app measured both ways checks the screen method.

    python benchmarks/ui_startup.py [--runs 5] [--size 1366x768] [--no-wm] [--bundle EXE]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import os
import select
import shutil
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


def table_box(size: str) -> tuple[int, int, int, int]:
    """The layer table's rows in the first launch's maximized layout, as a screen box."""
    width, height = (int(v) for v in size.split("x"))
    return int(width * 0.18), int(height * 0.61), int(width * 0.76), int(height * 0.90)


def _looks_like_rows(image) -> bool:
    """Dark text on a mostly light background (not an empty table, not the bare root)."""
    hist = image.convert("L").histogram()
    pixels = image.width * image.height
    return sum(hist[:100]) > 0.01 * pixels and sum(hist[200:]) > 0.5 * pixels


def launch_watched(cmd: list[str], env: dict, watcher: XWatcher, box: tuple,
                   settle: float = 3.0) -> dict[str, float]:
    """Seconds from launch to mapped and to the table area's settled look, seen from outside."""
    from PIL import ImageGrab

    watcher.drain()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        out = {"mapped": watcher.wait_mapped(120) - start}
        changed, last = start, b""
        while time.monotonic() < start + 120:
            image = ImageGrab.grab(box, xdisplay=env["DISPLAY"])
            digest = hashlib.blake2b(image.tobytes()).digest()
            now = time.monotonic()
            if digest != last:
                changed, last = now, digest
            elif now - changed >= settle and _looks_like_rows(image):
                out["table"] = changed - start
                return out
            time.sleep(0.1)
        raise TimeoutError("the layer table never settled with rows in it")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="1366x768")
    parser.add_argument("--no-wm", action="store_true", help="no window manager")
    parser.add_argument("--bundle", help="also the frozen app (its executable)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        app_child()
        return
    with virtual_desktop(args.size, not args.no_wm) as display:
        res = measure(display, args.runs, args.bundle and str(Path(args.bundle).resolve()),
                      table_box(args.size))
    med = {k: statistics.median(v) for k, v in res.items()}
    base = med["bare mapped"]
    print(f"Xvfb {args.size}{'' if args.no_wm else ' + openbox'}, {os.cpu_count()} CPUs, "
          f"{args.runs} launches each (medians; load average {os.getloadavg()[0]:.1f})")
    print(f"bare PySide6 window on screen   {base:6.2f} s")
    print(f"app window on screen            {med['app mapped']:6.2f} s  "
          f"({med['app mapped'] / base:4.1f}× the bare window; target ≤ 3×)")
    print(f"app first table painted         {med['app table']:6.2f} s  (target ≤ 3 s)")
    for kind in ("venv", "bundle"):
        if f"{kind} mapped" in med:
            print(f"{kind:6s} (seen from outside)  on screen {med[kind + ' mapped']:6.2f} s "
                  f"({med[kind + ' mapped'] / base:4.1f}×), first table "
                  f"{med[kind + ' table']:6.2f} s")


def measure(display: str, runs: int, bundle: str | None,
            box: tuple) -> dict[str, list[float]]:
    """Launch the bare window and the app (and the venv app and the bundle, watched from
    outside, with ``bundle``) ``runs`` times each, rotating the order."""
    watcher = XWatcher(display)
    results: dict[str, list[float]] = {}
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
                if bundle:
                    jobs += [("venv", [sys.executable, "-m", "explorer"]), ("bundle", [bundle])]
                jobs = jobs[run % len(jobs):] + jobs[:run % len(jobs)]
                for kind, cmd in jobs:
                    shutil.rmtree(home, ignore_errors=True)  # fresh settings for each
                    os.makedirs(home)
                    if kind in ("venv", "bundle"):
                        result = launch_watched(cmd, env, watcher, box)
                    else:
                        result = launch_once(cmd, env, watcher, kind == "app")
                    for key, value in result.items():
                        results.setdefault(f"{kind} {key}", []).append(value)
                    print(f"run {run + 1} {kind:6s} " + "  ".join(
                        f"{k} {v:5.2f} s" for k, v in result.items()), flush=True)
    finally:
        watcher.close()
    return results


if __name__ == "__main__":
    main()
