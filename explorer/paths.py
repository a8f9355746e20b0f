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


APP_NAME = "network-explorer"


def user_data_dir() -> Path:
    """The user's data folder for Network Explorer, from platformdirs.

    ``~/.local/share/network-explorer`` on Linux (honouring ``$XDG_DATA_HOME``);
    ``~/Library/Application Support/network-explorer`` on macOS; ``%LOCALAPPDATA%`` on Windows).
    """
    import platformdirs

    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def user_state_dir() -> Path:
    """The user's state folder (crash logs): ``~/.local/state/network-explorer`` on Linux."""
    import platformdirs

    return platformdirs.user_state_path(APP_NAME, appauthor=False)

