"""Work-arounds for the Qt binding in use.

PySide6 6.12.0 on Python < 3.12 drops one reference to ``None`` on every call of a function
returning nothing (and to ``True``/``False`` for some bool returns): after a few thousand
calls the interpreter aborts with "Fatal Python error: none_dealloc". From Python 3.12 these
objects are immortal and the bug is harmless. :func:`protect_singletons` gives the three
objects a reserve of references so that the leak can never reach zero.
"""

from __future__ import annotations

import ctypes
import sys

_RESERVE = 1 << 40
_done = False


def protect_singletons() -> None:
    """Give ``None``, ``True`` and ``False`` a reserve of references (once; Python < 3.12)."""
    global _done
    if _done or sys.version_info >= (3, 12):
        return
    _done = True
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _RESERVE
