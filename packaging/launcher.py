"""Entry point of the PyInstaller bundle: the same as the ``explorer`` command."""

from __future__ import annotations

from explorer.cli import main

raise SystemExit(main())
