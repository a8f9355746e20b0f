"""The desktop window (PySide6 widgets, workers and the app start-up)."""
