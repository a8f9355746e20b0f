"""The open network: an immutable spec, its file, and an undo stack of whole-spec commands.

Every user action is one :class:`QUndoCommand` that replaces the spec with the result of a pure
edit (:mod:`explorer.core.edit`); undo puts the previous spec back. Views never change the
spec themselves: they listen to :attr:`Document.changed` and read :attr:`Document.spec`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

_KEEP: Any = object()
"""The path of an edit's states: whatever file the document is in when it is applied."""


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
    savedTo(object) : the network was just saved in this file (a ``Path``).
    """

    changed = Signal()
    modifiedChanged = Signal(bool)
    savedTo = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = _State(None, None, None)
        self._saved: _State | None = self._state  # the last saved state; None: not known
        self.generation = 0
        self.undo_stack = QUndoStack(self)
        self._was_modified = False

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
        """Whether the network differs from its last saved state (its file, or the preset
        or run as it was opened); undoing back to that state clears it."""
        saved = self._saved
        return saved is None or saved.spec != self.spec or saved.path != self.path

    @property
    def saved_spec(self):
        """The network as last saved or opened (what "Discard" goes back to), or ``None``."""
        return self._saved.spec if self._saved is not None else None

    @property
    def saved_path(self) -> Path | None:
        """The file of :attr:`saved_spec`, or ``None``."""
        return self._saved.path if self._saved is not None else None

    def edit(self, text: str, new_spec, merge_key: str | None = None) -> bool:
        """Replace the spec by ``new_spec`` as one undoable command named ``text``.

        Consecutive edits with the same ``merge_key`` (e.g. one spin box being stepped) merge
        into one command. Returns ``False`` (and records nothing) when nothing changes or the
        document is read-only.
        """
        if self.read_only or new_spec == self.spec:
            return False
        before, after = _State(self.spec, _KEEP, None), _State(new_spec, _KEEP, None)
        self.undo_stack.push(_Replace(self, text, before, after, merge_key))
        return True

    def open_spec(self, spec, path: Path | None = None, *, undoable: bool = True,
                  unsaved: bool = False, saved: tuple | None = None) -> None:
        """Show ``spec`` (from ``path``) in place of the current network.

        Undoable by default (opening a preset); ``undoable=False`` starts a fresh history (the
        first network at start-up). What is opened is its own saved state, unless ``unsaved``
        (restored autosave): then ``saved`` is ``(spec, path)`` of its last saved state, if
        known.
        """
        after = _State(spec, Path(path) if path else None, None)
        if unsaved:
            self._saved = _State(saved[0], saved[1], None) if saved and saved[0] else None
        else:
            self._saved = after
        if undoable and self.spec is not None:
            self.undo_stack.push(_Replace(self, f"Open {spec.name}", self._state, after, None))
        else:
            self.undo_stack.clear()
            self._apply(after)
        self._check_modified()

    def open_torchvision(self, name: str) -> None:
        """Show a torchvision model read-only (undo goes back to the editable network)."""
        before, after = _State(self.spec, _KEEP, None), _State(self.spec, _KEEP, name)
        self.undo_stack.push(_Replace(self, f"View {name}", before, after, None))

    def open_view(self, view: Any, text: str, merge_key: str | None = None) -> None:
        """Show ``view`` read-only in place of the network (undo goes back to the editable
        network); views pushed with the same ``merge_key`` merge into one undo step."""
        before = _State(self.spec, _KEEP, self.torchvision, self.view)
        after = _State(self.spec, _KEEP, None, view)
        self.undo_stack.push(_Replace(self, text, before, after, merge_key))

    def refresh_view(self, view: Any) -> None:
        """Show ``view`` in place of the current one, as a new generation but no new undo
        step (a saved file inspected again, another input shape for it)."""
        if self._state.view is None:
            return
        self._apply(_State(self.spec, self.path, None, view))

    def mark_saved(self, path: Path) -> None:
        """The spec is now in ``path``: the document is not modified any more."""
        self._state = _State(self.spec, Path(path), self.torchvision, self.view)
        self._saved = _State(self.spec, Path(path), None)
        self._check_modified()
        self.savedTo.emit(Path(path))

    def _check_modified(self, *_args) -> None:
        if self.modified != self._was_modified:
            self._was_modified = self.modified
            self.modifiedChanged.emit(self._was_modified)

    def _apply(self, state: _State) -> None:
        if state.path is _KEEP:  # an edit: the network stays in the file it is in now
            state = dataclasses.replace(state, path=self.path)
        self._state = state
        self.generation += 1
        self.changed.emit()
        self._check_modified()
