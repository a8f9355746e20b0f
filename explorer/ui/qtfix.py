"""Work around a reference-count bug of PySide6 6.12.0 on Python < 3.12.

That PySide6 returns ``None`` from every method without a result (``setValue``,
``setText``, every ``QPainter`` call, every slot it calls back) and ``True`` from
``Signal.emit`` without taking the new reference it hands over. Each such call takes one
reference away from the singleton; ``None`` starts with a few thousand, so an app (or a test
session) aborts after a few thousand calls with "Fatal Python error: none_dealloc" (or
``bool_dealloc``). Python 3.12 made these singletons immortal, which hides the bug.

:func:`install` measures the leak and, only when there is one, gives ``None``, ``True`` and
``False`` a reference count so large (2**60) that no run can use it up — what Python 3.12
does. Imported by ``explorer.ui``, so the app and every Qt test have it before the first call.
"""

from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 60
_PROBES = 16


def leaks() -> dict[str, int]:
    """References lost per call: ``{"None": per void method call, "True": per emit}``."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before_none, before_true = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.setObjectName("probe")
    lost_none = before_none - sys.getrefcount(None)
    for _ in range(_PROBES):
        probe.ping.emit()
    lost_true = before_true - sys.getrefcount(True)
    return {"None": round(lost_none / _PROBES), "True": round(lost_true / _PROBES)}


def _refcount_cell(obj: object) -> ctypes.c_ssize_t | None:
    """The object's reference count field, or ``None`` on an interpreter laid out otherwise
    (a debug build puts two pointers first)."""
    if hasattr(sys, "gettotalrefcount"):
        return None
    cell = ctypes.c_ssize_t.from_address(id(obj))
    return cell if cell.value == sys.getrefcount(obj) - 1 else None


def install() -> bool:
    """Make ``None``, ``True`` and ``False`` practically immortal when this PySide6 leaks
    references to them; ``True`` when it did."""
    if sys.version_info >= (3, 12) or sys.getrefcount(None) > RESERVE // 2:
        return False
    if not any(leaks().values()):
        return False
    for obj in (None, True, False):
        cell = _refcount_cell(obj)
        if cell is None:
            return False
        cell.value += RESERVE
    return True


install()
