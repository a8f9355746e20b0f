"""Install or remove the desktop launcher entry and icon for the current user (no Qt).

Files go into the XDG data folder (``$XDG_DATA_HOME``, by default ``~/.local/share``):
``applications/network-explorer.desktop``, ``icons/hicolor/<size>/apps/network-explorer.png``
(and the scalable SVG), and the AppStream metainfo under ``metainfo/``. The entry's ``Exec``
runs this installation of the app: the bundle's executable, the ``explorer`` command on the
``PATH``, or ``python -m explorer`` with this interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from explorer.core.spec import atomic_write_text
from explorer.paths import resource_path

DESKTOP_FILE = "network-explorer.desktop"
METAINFO_FILE = "io.github.network_explorer.NetworkExplorer.metainfo.xml"
ICON_NAME = "network-explorer"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


class DesktopError(RuntimeError):
    """The launcher entry cannot be installed; the message says why."""


def data_home() -> Path:
    """``$XDG_DATA_HOME`` when set to an absolute path, else ``~/.local/share``."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def packaging_path(name: str) -> Path:
    """A file of ``packaging/``: shipped in the package as ``explorer/packaging``, or beside
    the package in a source checkout."""
    package = Path(__file__).resolve().parent
    installed = package / "packaging" / name
    return installed if installed.exists() else package.parent / "packaging" / name


def launcher_command() -> list[str]:
    """The command that starts this installation of the app."""
    if getattr(sys, "frozen", False):  # the PyInstaller bundle
        return [sys.executable]
    found = shutil.which("explorer")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "explorer"]


def exec_value(args: list[str]) -> str:
    """Quote ``args`` for a desktop entry's ``Exec`` key (the freedesktop rules)."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    quoted = []
    for arg in args:
        if any(c in reserved for c in arg):
            arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        quoted.append(arg.replace("\\", "\\\\").replace("%", "%%"))
    return " ".join(quoted)


def entry_text(command: list[str] | None = None) -> str:
    """The desktop entry of ``packaging/``, its ``Exec`` pointing at ``command``."""
    source = packaging_path(DESKTOP_FILE)
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_value(command or launcher_command())} %f"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _icon_files() -> list[tuple[Path, str]]:
    """(bundled file, path below ``icons/hicolor``) for every icon size and the SVG."""
    files = [(resource_path(f"icons/hicolor/{s}x{s}/apps/{ICON_NAME}.png"),
              f"{s}x{s}/apps/{ICON_NAME}.png") for s in ICON_SIZES]
    files.append((resource_path(f"icons/{ICON_NAME}.svg"), f"scalable/apps/{ICON_NAME}.svg"))
    return files


def _targets(root: Path) -> list[Path]:
    icons = root / "icons" / "hicolor"
    return [root / "applications" / DESKTOP_FILE, root / "metainfo" / METAINFO_FILE,
            *(icons / rel for _, rel in _icon_files())]


def install(root: Path | None = None) -> list[Path]:
    """Install the launcher entry, metainfo and icons for this user; return the files.

    Raises
    ------
    DesktopError
        When a bundled file is missing (a broken installation).
    OSError
        When the data folder cannot be written.
    """
    root = root or data_home()
    sources = [(packaging_path(METAINFO_FILE), root / "metainfo" / METAINFO_FILE)]
    sources += [(src, root / "icons" / "hicolor" / rel) for src, rel in _icon_files()]
    missing = [str(src) for src, _ in sources if not src.is_file()]
    if missing:
        raise DesktopError(f"bundled files are missing ({', '.join(missing)}); reinstall "
                           "Network Explorer")
    written = []
    entry = root / "applications" / DESKTOP_FILE
    atomic_write_text(entry, entry_text())
    written.append(entry)
    for src, dst in sources:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        written.append(dst)
    _refresh_caches(root)
    return written


def uninstall(root: Path | None = None) -> list[Path]:
    """Remove what :func:`install` put in place; return the files removed."""
    removed = []
    for path in _targets(root or data_home()):
        if path.is_file():
            path.unlink()
            removed.append(path)
    if removed:
        _refresh_caches(root or data_home())
    return removed


def _refresh_caches(root: Path) -> None:
    """Tell the desktop about the change, where its tools exist (best effort)."""
    for tool, target in (("update-desktop-database", root / "applications"),
                         ("gtk-update-icon-cache", root / "icons" / "hicolor")):
        if shutil.which(tool) and target.is_dir():
            args = [tool, "-q", str(target)] if tool.startswith("update") else \
                [tool, "-q", "-t", "-f", str(target)]
            subprocess.run(args, capture_output=True, timeout=30, check=False)
