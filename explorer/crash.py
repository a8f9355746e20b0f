"""The last line of defence: an exception nobody expected becomes a crash log and one line.

Qt-free, so the command line and the window's exception hook share it: the CLI calls
:func:`report_crash` for any exception that escapes a command (exit code :data:`EXIT_CRASH`);
the window calls :func:`write_crash_log` from ``sys.excepthook`` and shows the path in its
dialog.
"""

from __future__ import annotations

import os
import platform
import sys
import traceback
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TextIO

from explorer.textout import clean

EXIT_CRASH = 70  # EX_SOFTWARE in BSD's sysexits.h: an internal software error


def crash_dir() -> Path:
    """Where crash logs go: ``crashes`` in the user's state folder."""
    from explorer.paths import user_state_dir

    return user_state_dir() / "crashes"


def format_crash(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
    *, context: str = "",
) -> str:
    """The text of a crash log: when, versions, what was being done, and the traceback."""
    from explorer import __version__

    lines = [
        f"Network Explorer {__version__} crash report",
        f"time: {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"python: {platform.python_version()} ({sys.executable})",
        f"platform: {platform.platform()}",
    ]
    torch = sys.modules.get("torch")
    if torch is not None:
        lines.append(f"torch: {getattr(torch, '__version__', '?')}")
    if context:
        lines.append(f"context: {context}")
    lines.append("")
    lines.extend(traceback.format_exception(exc_type, exc, tb))
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


def write_crash_log(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
    *, context: str = "", folder: Path | None = None,
) -> Path | None:
    """Write a crash log with the traceback; return its path, or ``None`` if it cannot be
    written (the caller then shows the traceback itself)."""
    text = format_crash(exc_type, exc, tb, context=context)
    folder = folder if folder is not None else crash_dir()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"crash-{stamp}-{os.getpid()}.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
    except OSError:
        return None
    return path


def describe(exc: BaseException) -> str:
    """One line for an unexpected exception: its type and first line of its message."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = type(exc).__name__ + (f": {message}" if message else "")
    return clean(text if len(text) <= 300 else text[:297] + "...", one_line=True)


def report_crash(
    exc: BaseException, *, context: str = "", stream: TextIO | None = None,
    program: str = "explorer",
) -> int:
    """Log ``exc`` and print one line pointing at the log (the traceback where no log can be
    written); return :data:`EXIT_CRASH`."""
    stream = stream if stream is not None else sys.stderr
    path = write_crash_log(type(exc), exc, exc.__traceback__, context=context)
    try:
        if path is not None:
            stream.write(
                f"{program}: internal error ({describe(exc)}); this is a bug in Network "
                f"Explorer, not in what you gave it. The details are in {clean(path)}\n"
            )
        else:
            stream.write(
                f"{program}: internal error ({describe(exc)}); no crash log could be written "
                f"in {clean(crash_dir())}, so here are the details:\n"
                + clean(format_crash(type(exc), exc, exc.__traceback__, context=context))
            )
        stream.flush()
    except (OSError, ValueError):  # stderr itself is gone: the log (if any) must do
        pass
    return EXIT_CRASH
