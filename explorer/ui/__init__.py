"""The desktop window (PySide6). Importing it first fixes a PySide6 6.12.0 emit bug."""

from explorer.ui import qtfix  # noqa: F401  (before any signal is emitted)
