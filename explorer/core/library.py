"""The user's own blocks: containers saved by name as JSON in the user's data folder.

Each block is one file ``<folder>/<name>.json``::

    {"format": "network-explorer/user-block", "version": 1, "name": "my_stem",
     "description": "...", "block": {"type": "group", "blocks": [...]}}

The folder is ``platformdirs.user_data_dir("network-explorer") / "blocks"``. A file that cannot
be read is skipped with a reason (:func:`load_user_blocks` returns them), never fatal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from explorer.core.spec import BlockSpec, SpecError, atomic_write_text

FORMAT = "network-explorer/user-block"
VERSION = 1
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\- ]{0,63}$")


@dataclass(frozen=True)
class UserBlock:
    """A saved block: its display name, the block itself and an optional description."""

    name: str
    block: BlockSpec
    description: str = ""

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "name": self.name,
                "description": self.description, "block": self.block.to_dict()}


def library_folder() -> Path:
    """Where the user's blocks are kept (created on first save)."""
    from explorer.paths import user_data_dir

    return user_data_dir() / "blocks"


def check_name(name: str) -> str:
    """``name`` stripped; :class:`ValueError` saying what a valid name looks like."""
    name = name.strip()
    if not _NAME.match(name):
        raise ValueError(
            f"{name!r} is not a valid block name: use 1–64 letters, digits, spaces, '-' or '_', "
            "starting with a letter (e.g. my_stem)"
        )
    return name


def _file_for(folder: Path, name: str) -> Path:
    return folder / (name.replace(" ", "_") + ".json")


def save_user_block(name: str, block: BlockSpec, description: str = "",
                    folder: Path | None = None) -> Path:
    """Save ``block`` as ``name`` (replacing a block of that name); return the file written."""
    name = check_name(name)
    folder = folder or library_folder()
    path = _file_for(folder, name)
    atomic_write_text(path, json.dumps(UserBlock(name, block, description).to_dict(),
                                       indent=2, ensure_ascii=False) + "\n")
    return path


def delete_user_block(name: str, folder: Path | None = None) -> None:
    """Remove the saved block ``name`` (no error if it is already gone)."""
    _file_for(folder or library_folder(), check_name(name)).unlink(missing_ok=True)


def read_user_block(path: Path) -> UserBlock:
    """Read one saved block; :class:`SpecError` naming the file and the problem."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SpecError(f'{path}: not a saved block (expected "format": "{FORMAT}")')
    if not isinstance(data.get("name"), str) or not isinstance(data.get("block"), dict):
        raise SpecError(f'{path}: a saved block needs a "name" text and a "block" object')
    block = BlockSpec.from_dict(data["block"], path=str(path))
    return UserBlock(data["name"], block, str(data.get("description", "")))


def load_user_blocks(folder: Path | None = None) -> tuple[list[UserBlock], list[str]]:
    """Every saved block, sorted by name, and a list of problems with unreadable files."""
    folder = folder or library_folder()
    blocks, problems = [], []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            blocks.append(read_user_block(path))
        except SpecError as exc:
            problems.append(str(exc))
    return sorted(blocks, key=lambda b: b.name.lower()), problems


def starter_params(definition) -> dict:
    """Values for a new block's required parameters, so that a fresh block is valid.

    Channels (and Inception's ``c1`` … ``c4``) start at 16, a kernel at 3, a class-count field at ``"classes"``, other numbers at their
    minimum (or 1), nested blocks empty and a parallel block with two empty branches.
    """
    out: dict = {}
    for p in definition.params:
        if not p.required:
            continue
        if p.kind == "int" and p.classes and "features" in p.name:
            out[p.name] = "classes"
        elif p.kind == "int" and ("channels" in p.name or re.fullmatch(r"c\d\w?", p.name)):
            out[p.name] = 16
        elif p.kind == "size":
            out[p.name] = 3
        elif p.kind == "int":
            out[p.name] = int(p.minimum) if p.minimum is not None and p.minimum > 0 else 1
        elif p.kind == "float":
            out[p.name] = float(p.minimum or 0.0)
        elif p.kind == "bool":
            out[p.name] = False
        elif p.kind == "choice":
            out[p.name] = p.choices[0]
        elif p.kind == "str":
            out[p.name] = ""
        elif p.kind == "blocks":
            out[p.name] = []
        elif p.kind == "branches":
            out[p.name] = [[], []]
    return out
