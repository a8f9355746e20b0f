"""Files shipped inside the package as ``explorer.resources`` (see README.md beside this)."""

from __future__ import annotations

from pathlib import Path


def resource_path(name: str) -> Path:
    """The path of a bundled file, e.g. ``resource_path("mnist_sample.npz")``."""
    return Path(__file__).with_name(name)
