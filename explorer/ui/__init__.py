"""The desktop window (PySide6). Importing it first applies the binding's work-arounds."""

from explorer.ui.compat import protect_singletons

protect_singletons()
