"""Presets › Build along…: a preset replayed block by block in the window.

The Build along view (:class:`~explorer.ui.widgets.build_along.BuildAlongPanel`, in the
editor tree's place while a step is shown) has the controls, the step's change, note and code; the window's layer table and diagram show the
network up to the step, as a read-only view of the document (:class:`StepShown`; moving
through the steps is one undo step), the temporary head dashed and the step's block
selected. "Edit from here" opens that network as an editable one. The steps are computed
on a worker thread (:class:`~explorer.core.buildalong.BuildAlong`), newest request only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject

from explorer.ui.background import LatestJobs
from explorer.ui.widgets.build_along import BuildAlongPanel

FIRST = "googlenet"
"""The network built along when the one shown is no preset."""


@dataclass(frozen=True)
class StepShown:
    """The document's view of a build-along step: the network up to it (with the temporary
    head from ``head_from``), its summary and the paths of the step's blocks."""

    preset: str
    number: int
    total: int
    spec: Any
    head_from: int | None
    summary: Any
    paths: tuple
    edit_spec: Any  # the network up to the step, without the head

    @property
    def name(self) -> str:
        return f"{self.preset}, step {self.number} of {self.total}"

    @property
    def banner(self) -> str:
        return (f"Building {self.preset} block by block: step {self.number} of {self.total}, "
                "read-only. Edit from here opens this network as an editable one; Edit › "
                "Undo goes back to what you had.")


def _prepare(alongs: dict, name: str) -> tuple[str, int]:
    """On the worker: the steps of preset ``name``."""
    return name, len(_along(alongs, name))


def _view(alongs: dict, name: str, index: int):
    return name, _along(alongs, name).view(index)


def _along(alongs: dict, name: str):
    from explorer.core.buildalong import BuildAlong
    from explorer.core.presets import preset_spec

    if name not in alongs:
        alongs.clear()  # one network at a time
        alongs[name] = BuildAlong(preset_spec(name))
    return alongs[name]


class BuildAlongController(QObject):
    """Connects the Build along view, the worker, the document and the window's views."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.panel = BuildAlongPanel()
        window.add_view_panel(StepShown, self.panel)  # in the tree's place, while building
        self.preset: str | None = None
        self.jobs = LatestJobs("build-along", self)
        self._alongs: dict = {}  # used on the worker thread only
        self.jobs.result.connect(self._result)
        self.jobs.error.connect(lambda _key, _gen, text: self.panel.show_problem(text))
        menu = window.menu("&Presets")
        self.action = menu.addAction("&Build along…")
        self.action.setToolTip("Replay a preset block by block, as the course builds it")
        first = next((a for a in menu.actions() if a is not self.action), None)
        if first is not None:
            menu.removeAction(self.action)
            menu.insertAction(first, self.action)
            menu.insertSeparator(first)
        self.action.triggered.connect(lambda: self.open())
        self.panel.preset_chosen.connect(self.start)
        self.panel.step_requested.connect(self.show_step)
        self.panel.edit_requested.connect(self.edit_from_here)
        window.summary_ready.connect(self._highlight)

    def open(self, name: str | None = None) -> None:
        """Show the Build along view, building ``name`` (by default the preset shown)."""
        from explorer.core.registry import list_presets

        presets = list_presets()
        names = [p.name for p in presets]
        spec = self.document.spec
        name = name or (spec.name if spec is not None and spec.name in names else FIRST)
        self.panel.set_presets([(p.name, p.doc) for p in presets], name)
        self.window.show_view("Diagram")
        self.start(name)

    def start(self, name: str) -> None:
        self.preset = name
        self.panel.set_steps(0)
        self.panel.title.setText(f"Preparing the steps of {name}…")
        self.window.status_message(f"Preparing the steps of {name}…")
        self.jobs.submit(_prepare, self._alongs, name, key="steps")

    def show_step(self, index: int) -> None:
        if self.preset is not None:
            self.jobs.submit(_view, self._alongs, self.preset, index, key="view")

    def _result(self, key: str, _generation: int, value) -> None:
        name, payload = value
        if name != self.preset:
            return  # another network was chosen meanwhile
        if key == "steps":
            self.panel.set_steps(payload, 0)
            self.show_step(0)
            self.panel.slider.setFocus()
            return
        if payload.step.number - 1 != self.panel.current():
            return  # the slider moved on
        self.panel.show_step(payload)
        # its own name: the table's deltas are those between steps, not against the network
        # shown before building along
        summary = dataclasses.replace(payload.summary, name=f"{name} (build along)")
        shown = StepShown(name, payload.step.number, payload.total, payload.spec,
                          payload.head_from, summary, payload.step.paths, payload.step.spec)
        self.document.open_view(shown, f"Build along {name}", merge_key="build-along")

    def _highlight(self, _summary) -> None:
        view = self.document.view
        if isinstance(view, StepShown):
            self.window.table.select_block(view.paths[0])
            self.window.diagram.select_block(view.paths[0])

    def edit_from_here(self) -> None:
        """Open the network up to the step shown as an editable one (undoable)."""
        view = self.document.view
        if not isinstance(view, StepShown):
            return
        self.document.open_spec(view.edit_spec, None)
        self.window.status_message(
            f"{view.preset} up to step {view.number} is now editable (Edit › Undo goes back)")


def install(window) -> BuildAlongController:
    """Add the Build along view and Presets › Build along… to ``window``."""
    return BuildAlongController(window)
