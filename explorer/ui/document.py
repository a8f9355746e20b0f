"""The open network: an immutable spec, its file, and an undo stack of whole-spec commands.

Every user action is one :class:`QUndoCommand` that replaces the spec with the result of a pure
edit (:mod:`explorer.core.edit`); undo puts the previous spec back. Views never change the
spec themselves: they listen to :attr:`Document.changed` and read :attr:`Document.spec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack


@dataclass(frozen=True)
class _State:
    spec: Any                      # ArchitectureSpec
    path: Path | None
    torchvision: str | None        # a read-only torchvision model shown instead of the spec
    view: Any = None               # another read-only network shown instead (see Document)


class _Replace(QUndoCommand):
    def __init__(self, doc: Document, text: str, before: _State, after: _State,
                 merge_key: str | None) -> None:
        super().__init__(text)
        self._doc, self._before, self._after, self._key = doc, before, after, merge_key

    def redo(self) -> None:
        self._doc._apply(self._after)

    def undo(self) -> None:
        self._doc._apply(self._before)

    def id(self) -> int:
        return 1 if self._key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, _Replace) or other._key != self._key or self._key is None:
            return False
        self._after = other._after
        return True


class Document(QObject):
    """The network being edited.

    Attributes
    ----------
    spec : the current :class:`ArchitectureSpec` (immutable; replaced on every change).
    generation : increases on every change; workers tag their results with it.
    path : the file it was opened from or saved to, or ``None``.
    modified : whether it differs from the file (or is unsaved work).
    undo_stack : the commands, for Undo/Redo actions.
    torchvision : the name of a torchvision model shown read-only, or ``None``.
    view : another network shown read-only instead of the spec, or ``None``: a user's Python
        file (:class:`explorer.ui.python_file.PythonFileView`) or a build-along step
        (:class:`explorer.ui.build_along.StepShown`). It has a ``name``, a ``banner`` text and
        either a ``request()`` for the inspector or a ready ``summary``.

    Signals
    -------
    changed() : after every change of spec (edit, undo, redo, open).
    modifiedChanged(bool) : the unsaved-changes state flipped.
    """

    changed = Signal()
    modifiedChanged = Signal(bool)
    _stack_clean = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = _State(None, None, None)
        self._unsaved_base = False
        self.generation = 0
        self.undo_stack = QUndoStack(self)
        self._was_modified = False
        # relayed through a signal of ours (a C++ connection), so that nothing Python runs
        # when the stack signals while it is being deleted with us
        self.undo_stack.cleanChanged.connect(self._stack_clean)
        self._stack_clean.connect(self._check_modified)

    @property
    def spec(self):
        return self._state.spec

    @property
    def path(self) -> Path | None:
        return self._state.path

    @property
    def torchvision(self) -> str | None:
        return self._state.torchvision

    @property
    def view(self) -> Any:
        return self._state.view

    @property
    def read_only(self) -> bool:
        return self._state.torchvision is not None or self._state.view is not None

    @property
    def modified(self) -> bool:
        return self._unsaved_base or not self.undo_stack.isClean()

    def edit(self, text: str, new_spec, merge_key: str | None = None) -> bool:
        """Replace the spec by ``new_spec`` as one undoable command named ``text``.

        Consecutive edits with the same ``merge_key`` (e.g. one spin box being stepped) merge
        into one command. Returns ``False`` (and records nothing) when nothing changes or the
        document is read-only.
        """
        if self.read_only or new_spec == self.spec:
            return False
        after = _State(new_spec, self.path, None)
        self.undo_stack.push(_Replace(self, text, self._state, after, merge_key))
        return True

    def open_spec(self, spec, path: Path | None = None, *, undoable: bool = True,
                  unsaved: bool = False) -> None:
        """Show ``spec`` (from ``path``) in place of the current network.

        Undoable by default (opening a preset); ``undoable=False`` starts a fresh history (the
        first network at start-up). ``unsaved`` marks it as work not yet in any file (restored
        autosave).
        """
        after = _State(spec, Path(path) if path else None, None)
        if undoable and self.spec is not None:
            self.undo_stack.push(_Replace(self, f"Open {spec.name}", self._state, after, None))
        else:
            self.undo_stack.clear()
            self._apply(after)
        self._set_unsaved(unsaved)

    def open_torchvision(self, name: str) -> None:
        """Show a torchvision model read-only (undo goes back to the editable network)."""
        after = _State(self.spec, self.path, name)
        self.undo_stack.push(_Replace(self, f"View {name}", self._state, after, None))

    def open_view(self, view: Any, text: str, merge_key: str | None = None) -> None:
        """Show ``view`` read-only in place of the network (undo goes back to the editable
        network); views pushed with the same ``merge_key`` merge into one undo step."""
        after = _State(self.spec, self.path, None, view)
        self.undo_stack.push(_Replace(self, text, self._state, after, merge_key))

    def refresh_view(self, view: Any) -> None:
        """Show ``view`` in place of the current one, as a new generation but no new undo
        step (a saved file inspected again, another input shape for it)."""
        if self._state.view is None:
            return
        self._apply(_State(self.spec, self.path, None, view))

    def mark_saved(self, path: Path) -> None:
        """The spec is now in ``path``: the document is not modified any more."""
        self._state = _State(self.spec, Path(path), self.torchvision, self.view)
        self._set_unsaved(False)
        self.undo_stack.setClean()
        self._check_modified()

    def _check_modified(self, *_args) -> None:
        if self.modified != self._was_modified:
            self._was_modified = self.modified
            self.modifiedChanged.emit(self._was_modified)

    def _set_unsaved(self, value: bool) -> None:
        if value != self._unsaved_base:
            self._unsaved_base = value
        self._check_modified()

    def _apply(self, state: _State) -> None:
        self._state = state
        self.generation += 1
        self.changed.emit()
        self._check_modified()
