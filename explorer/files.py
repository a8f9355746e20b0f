"""Reading a user's file safely: special files are refused before they are opened for reading.

A named pipe (FIFO) blocks the reader forever, a device (``/dev/zero``) never ends and a folder
cannot be read at all, so :func:`read_bytes` checks with ``os.stat`` that the path is a regular
file first, opens it without blocking, checks the open file again (in case it was swapped in
between) and bounds how much it reads. Problems are :class:`FileProblem` with a message naming
the file, what was found and what would be valid; callers turn them into their own errors
(``SpecError``, ``DataError``, ``CheckpointError``).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from explorer.textout import clean


class FileProblem(ValueError):
    """A path that cannot be read as the file it should be; ``str()`` is the whole message,
    ``reason`` the problem alone (``no such file``, ``it is a folder`` …)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def kind_of(mode: int) -> str:
    """What a ``st_mode`` is, in words (``a folder``, ``a named pipe (FIFO)`` …)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular(path: str | os.PathLike, what: str = "file") -> os.stat_result:
    """``os.stat`` of ``path`` if it is a regular file; :class:`FileProblem` otherwise.

    ``what`` says what was expected, e.g. ``"an architecture .json file"``.
    """
    shown = clean(path, one_line=True)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileProblem(f"{shown}: no such file (expected {what})", "no such file") from None
    except NotADirectoryError:
        raise FileProblem(f"{shown}: no such file (a part of the path is a file, not a "
                          f"folder; expected {what})", "no such file") from None
    except OSError as exc:
        raise FileProblem(f"{shown}: cannot be read ({reason(exc)})", reason(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        kind = kind_of(info.st_mode)
        raise FileProblem(f"{shown}: is {kind}, not a file; expected {what}", f"it is {kind}")
    return info


def read_bytes(path: str | os.PathLike, what: str = "file", *,
               max_bytes: int | None = None) -> bytes:
    """The contents of the regular file ``path`` (at most ``max_bytes``).

    Raises
    ------
    FileProblem
        For a missing, special, unreadable or too large file.
    """
    shown = clean(path, one_line=True)
    check_regular(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise FileProblem(f"{shown}: cannot be read ({reason(exc)})", reason(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # replaced between the stat and the open
            kind = kind_of(info.st_mode)
            raise FileProblem(f"{shown}: is {kind}, not a file; expected {what}",
                              f"it is {kind}")
        if max_bytes is not None and info.st_size > max_bytes:
            raise FileProblem(
                f"{shown}: is {info.st_size:,} bytes, more than the {max_bytes:,} that "
                f"{what} may have", f"it is larger than {max_bytes:,} bytes"
            )
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                raise FileProblem(f"{shown}: holds more than the {max_bytes:,} bytes that "
                                  f"{what} may have", f"it is larger than {max_bytes:,} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise FileProblem(f"{shown}: cannot be read ({reason(exc)})", reason(exc)) from None
    finally:
        os.close(fd)


def reason(exc: OSError) -> str:
    """The reason of an ``OSError`` in words (``No space left on device``), without the path."""
    if exc.errno is not None and exc.strerror:
        return exc.strerror
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__


def write_problem(path: str | os.PathLike, exc: OSError) -> str:
    """One line for a failed write of ``path``: the path and the reason, with advice."""
    target = exc.filename if exc.filename else path
    shown = clean(target, one_line=True)
    advice = {
        errno.ENOSPC: "; free some space or choose another folder",
        errno.EDQUOT: "; free some space or choose another folder",
        errno.EACCES: "; choose a folder you may write to",
        errno.EPERM: "; choose a folder you may write to",
        errno.EROFS: "; choose a folder on a writable disk",
        errno.ENOTDIR: " (a part of the path is a file, not a folder)",
        errno.EEXIST: " (a file of that name is in the way)",
    }.get(exc.errno or 0, "")
    return f"cannot write {shown}: {reason(exc)}{advice}"


def ensure_suffix(path: str | os.PathLike, suffix: str) -> Path:
    """``path`` with ``suffix`` (``".onnx"``) added when its name has no extension at all;
    a name that has one (``model.txt``) is the user's choice and stays."""
    path = Path(path)
    return path if path.suffix else path.with_name(path.name + suffix)
