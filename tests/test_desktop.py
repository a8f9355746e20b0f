"""Packaging: the desktop entry and metainfo validate; `explorer desktop` installs and removes
the launcher entry and icons for the user (in a temporary XDG data folder)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from explorer import desktop
from explorer.cli import main

PACKAGING = Path(__file__).resolve().parent.parent / "packaging"


def _validate(tool: str, *args) -> subprocess.CompletedProcess:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian: desktop-file-utils / appstream)")
    return subprocess.run([tool, *map(str, args)], capture_output=True, text=True,
                          timeout=60, check=False)


def test_desktop_entry_validates():
    done = _validate("desktop-file-validate", PACKAGING / desktop.DESKTOP_FILE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in done.stdout.lower()


def test_metainfo_validates():
    done = _validate("appstreamcli", "validate", "--no-net", PACKAGING / desktop.METAINFO_FILE)
    assert done.returncode == 0, done.stdout + done.stderr


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_install_and_uninstall_for_the_user(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["desktop", "install"]) == 0
    entry = tmp_path / "applications" / desktop.DESKTOP_FILE
    text = entry.read_text()
    assert "Icon=network-explorer" in text and "Exec=" in text
    for size in desktop.ICON_SIZES:
        icon = tmp_path / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "network-explorer.png"
        assert _png_size(icon) == (size, size)
    assert (tmp_path / "icons/hicolor/scalable/apps/network-explorer.svg").is_file()
    assert (tmp_path / "metainfo" / desktop.METAINFO_FILE).is_file()
    if shutil.which("desktop-file-validate"):
        done = _validate("desktop-file-validate", entry)
        assert done.returncode == 0, done.stdout
    capsys.readouterr()
    assert main(["desktop", "uninstall"]) == 0
    assert "removed" in capsys.readouterr().out
    assert not [p for p in tmp_path.rglob("*network*explorer*") if p.is_file()]
    assert main(["desktop", "uninstall"]) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_exec_runs_this_installation(monkeypatch):
    monkeypatch.setattr(desktop.shutil, "which", lambda name: None)
    line = next(x for x in desktop.entry_text().splitlines() if x.startswith("Exec="))
    assert "-m explorer %f" in line
    assert desktop.exec_value(["/opt/my apps/explorer"]) == '"/opt/my apps/explorer"'
    assert desktop.exec_value(["/x/$HOME"]) == '"/x/\\\\$HOME"'


def test_unwritable_data_folder_exits_2(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    assert main(["desktop", "install"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_every_package_directory_ships_in_the_wheel():
    """A package folder left out of pyproject's list installs fine from a checkout but is missing
    from `pip install .` (what the README and CI do): every explorer/ folder with an __init__.py
    must be listed."""
    import tomllib

    root = PACKAGING.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(root).parts)
               for p in (root / "explorer").rglob("__init__.py")}
    assert on_disk - listed == set()
