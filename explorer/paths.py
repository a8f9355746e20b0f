"""Where Network Explorer's bundled files are."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    """The path of a bundled file, e.g. ``resource_path("mnist_sample.npz")``.

    Installed, the repository's ``resources/`` folder ships inside the package as
    ``explorer/resources``; in a source checkout it sits beside the package.
    """
    installed = _PACKAGE / "resources" / name
    return installed if installed.exists() else _PACKAGE.parent / "resources" / name
