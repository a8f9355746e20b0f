"""The main window: menus, workspaces, status bar; it wires the parts and owns no logic.

Flow: a user action → an undoable command on the :class:`Document` → ``changed`` → the
inspection worker (off the GUI thread) → a :class:`Summary` for the latest generation →
the layer table, the diagram and the editor tree's error mark. Other views join through
:meth:`MainWindow.add_view` (a tab in one of the areas of :mod:`explorer.ui.workspaces`)
and :meth:`MainWindow.menu`, and follow :attr:`MainWindow.latest_summary` / :attr:`MainWindow.summary_ready`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.background import InspectJob, Inspector, InspectResult, Task
from explorer.ui.document import Document
from explorer.ui.widgets.editor_tree import EditorTree
from explorer.ui.widgets.palette import BlockPalette
from explorer.ui.widgets.properties import PropertiesPanel
from explorer.ui.workspaces import BUILD, TRAIN, Workspaces

APP_NAME = "network-explorer"
FIRST_NETWORK = "course-inception"
AUTOSAVE_SECONDS = 2.0
MAX_RECENT = 8
AUTOSAVE_FORMAT = "network-explorer/autosave"


def state_folder() -> Path:
    """Where autosave and crash logs live (platformdirs' user state folder)."""
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_startup(path: str | None, last_path: str | None, last_spec: str | None,
                 crashed: bool = False) -> dict:
    """Work for the loader thread: registries, user blocks, device, the first network.

    Returns plain values: block and preset definitions, user blocks (and problems reading
    them), the device name, the first spec with its path, and a message if ``path`` could not
    be opened; also any autosave left by a session that did not end cleanly.
    """
    from explorer.core.library import load_user_blocks
    from explorer.core.presets import preset_spec
    from explorer.core.registry import list_blocks, list_presets
    from explorer.core.spec import ArchitectureSpec, SpecError, load_spec

    out: dict = {"blocks": list_blocks(), "presets": list_presets(), "problem": None}
    out["user_blocks"], out["user_problems"] = load_user_blocks()
    import torch

    out["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    spec, spec_path = None, None
    if path:
        try:
            spec, spec_path = load_spec(path), Path(path)
        except SpecError as exc:
            out["problem"] = str(exc)
    if spec is None and last_path and not path:
        try:
            spec, spec_path = load_spec(last_path), Path(last_path)
        except SpecError:
            spec = None
    if spec is None and last_spec and not path:
        try:
            spec = ArchitectureSpec.from_json(last_spec)
        except SpecError:
            spec = None
    out["spec"] = spec or preset_spec(FIRST_NETWORK)
    out["path"] = spec_path if spec is not None else None
    from explorer.core.inspector import inspect_spec

    start = time.perf_counter()  # the first table from here, while the inspector process loads
    out["summary"] = inspect_spec(out["spec"])
    out["summary_seconds"] = time.perf_counter() - start
    out["autosave"] = read_autosave() if crashed else None
    return out


def previous_session_crashed() -> bool:
    """Whether the last session's lock is still there and its process is gone."""
    try:
        lock = json.loads((state_folder() / "session.json").read_text())
    except (OSError, ValueError):
        return False
    pid = lock.get("pid") if isinstance(lock, dict) else None
    return not (isinstance(pid, int) and (pid == os.getpid() or _pid_alive(pid)))


def read_autosave() -> dict | None:
    """The autosaved work, if it holds changes that were never saved; else ``None``."""
    from explorer.core.spec import ArchitectureSpec, SpecError

    folder = state_folder()
    try:
        data = json.loads((folder / "autosave.json").read_text(encoding="utf-8"))
        spec = ArchitectureSpec.from_dict(data["spec"])
    except (OSError, ValueError, KeyError, TypeError, SpecError):
        return None
    if not data.get("modified"):
        return None
    return {"spec": spec, "path": data.get("path"), "time": data.get("time", 0.0)}


class MainWindow(QMainWindow):
    """The workbench window.

    Signals
    -------
    summary_ready(Summary) : a fresh summary of the current network arrived.
    loaded() : the registries, the palette and the first network are in place.
    """

    summary_ready = Signal(object)
    loaded = Signal()

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or QSettings()
        self.setWindowTitle("Network Explorer")
        self.setObjectName("MainWindow")
        self.setDockNestingEnabled(True)
        self.document = Document(self)
        self.latest_summary = None
        self.is_loaded = False
        self.inspections = 0           # results shown
        self._dropped = 0              # results for an older generation, dropped here
        self._block_defs: dict = {}
        self._presets = []
        self._tasks: list[Task] = []
        self.training = None           # TrainingController, once start-up has loaded torch
        self.lab = None                # LabController (gradient lab, runs, diff), likewise
        self._menus: dict[str, QMenu] = {}
        self.activity = ""             # what runs in the background, for the title
        self.inspector = Inspector(self)
        self.inspector.finished.connect(self._inspected)
        self.inspector.failed.connect(self._inspect_failed)

        self._build_views()
        self._build_menus()
        self._build_status()
        from explorer.ui.widgets.code_view import install as install_code_view

        self.code_view = install_code_view(self)  # the Code tab and File ▸ Export entries
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(int(AUTOSAVE_SECONDS * 1000))
        self._autosave_timer.timeout.connect(self.autosave_now)
        self.document.changed.connect(self._document_changed)
        self.document.modifiedChanged.connect(self.setWindowModified)
        self._update_title()
        self._update_actions()
        self._restore_layout()

    # ------------------------------------------------------------------ layout
    def _build_views(self) -> None:
        from explorer.ui.widgets.diagram import DiagramView
        from explorer.ui.widgets.layer_table import LayerTableView

        self.palette_view = BlockPalette()
        self.tree = EditorTree(self.document)
        self.tree.setObjectName("editor_tree")
        self.properties = PropertiesPanel()
        self.diagram = DiagramView()
        self.table = LayerTableView()
        self.read_only_banner = QLabel()
        self.read_only_banner.setWordWrap(True)
        self.read_only_banner.setStyleSheet(
            "background: #fff3cd; color: #5c4400; padding: 6px; border-radius: 3px;")
        self.read_only_banner.hide()

        editor = QWidget()
        box = QVBoxLayout(editor)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.read_only_banner)
        box.addWidget(self.tree)
        self.workspaces = Workspaces(self.palette_view, editor, self.table, self.properties)
        self.workspaces.add_view("Diagram", self.diagram, "build")
        self.setCentralWidget(self.workspaces)

        self.palette_view.blockRequested.connect(self._insert_from_palette)
        self.tree.blockSelected.connect(self._tree_selected)
        self.tree.problem.connect(self.status_message)
        self.tree.activated.connect(self._tree_activated)
        self.properties.paramEdited.connect(self._param_edited)
        self.properties.networkEdited.connect(self._network_edited)
        self.table.blockActivated.connect(self._view_selected)
        self.diagram.blockClicked.connect(self._view_selected)

    def add_view(self, title: str, widget: QWidget, area: str = "look") -> QWidget:
        """Add ``widget`` as a tab titled ``title`` in ``area`` and list it in the View menu.

        ``area``: ``"look"`` (the tabs of Train & look: curves, drawing, maps, runs),
        ``"build"`` (the tabs beside the diagram: code and other views of the network being
        built) or ``"train"`` (Train & look's left column). Returns ``widget``; bring it
        forward with :meth:`show_view`.
        """
        self.workspaces.add_view(title, widget, area)
        action = QAction(f"{title}", self)
        action.triggered.connect(lambda _checked=False, w=widget: self.show_view(w))
        self._view_menu.insertAction(self._view_separator, action)
        return widget

    def show_view(self, view: str | QWidget) -> QWidget:
        """Bring a view (its title or widget) forward: its workspace, then its tab."""
        return self.workspaces.show_view(view)

    def menu(self, title: str) -> QMenu:
        """The top-level menu ``title`` (e.g. ``"&Train"``), created before Help if new."""
        key = title.replace("&", "").lower()
        if key not in self._menus:
            menu = QMenu(title, self)
            self.menuBar().insertMenu(self._menus["help"].menuAction(), menu)
            self._menus[key] = menu
        return self._menus[key]

    def set_activity(self, text: str) -> None:
        """Say in the title and on the Train & look tab what runs (``""``: nothing)."""
        self.activity = text
        self.workspaces.set_activity(text)
        self._update_title()

    def status_message(self, text: str, msec: int = 6000) -> None:
        """Show ``text`` in the status bar for a few seconds."""
        self.statusBar().showMessage(text, msec)

    # ------------------------------------------------------------------ menus
    def _action(self, menu: QMenu, text: str, slot, shortcut=None, *, tree_only: bool = False,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        if tree_only:  # keys like Delete must not fire while typing in a field
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.tree.addAction(action)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        for key, title in (("file", "&File"), ("edit", "&Edit"), ("view", "&View"),
                           ("presets", "&Presets"), ("help", "&Help")):
            self._menus[key] = bar.addMenu(title)
        m = self._menus["file"]
        Key = QKeySequence.StandardKey
        self.act_new = self._action(m, "&New", self.new_network, QKeySequence(Key.New))
        self.act_open = self._action(m, "&Open…", self.open_dialog, QKeySequence(Key.Open))
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        self.act_save = self._action(m, "&Save", self.save, QKeySequence(Key.Save))
        self.act_save_as = self._action(m, "Save &As…", self.save_as,
                                        QKeySequence("Ctrl+Shift+S"))
        m.addSeparator()
        export = m.addMenu("&Export summary")
        self.act_export_md = self._action(export, "as &Markdown…",
                                          lambda: self.export_dialog("md"))
        self.act_export_csv = self._action(export, "as &CSV…", lambda: self.export_dialog("csv"))
        m.addSeparator()
        self._action(m, "&Quit", self.close, QKeySequence(Key.Quit))

        m = self._menus["edit"]
        stack = self.document.undo_stack
        self.act_undo = stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence("Ctrl+Z"))
        self.act_redo = stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        m.addAction(self.act_undo)
        m.addAction(self.act_redo)
        m.addSeparator()
        self.act_delete = self._action(m, "&Delete", self.tree.delete_selected,
                                       QKeySequence(Qt.Key.Key_Delete), tree_only=True)
        self.act_duplicate = self._action(m, "D&uplicate", self.tree.duplicate_selected,
                                          QKeySequence("Ctrl+D"), tree_only=True)
        self.act_up = self._action(m, "Move &Up", lambda: self.tree.move_selected(-1),
                                   QKeySequence("Alt+Up"), tree_only=True)
        self.act_down = self._action(m, "Move Do&wn", lambda: self.tree.move_selected(1),
                                     QKeySequence("Alt+Down"), tree_only=True)
        m.addSeparator()
        self.act_wrap_residual = self._action(
            m, "Wrap in &residual", lambda: self.tree.wrap_selected("residual"),
            QKeySequence("Ctrl+Shift+R"), tree_only=True,
            tip="Put the selected blocks in the body of a residual block")
        self.act_wrap_group = self._action(
            m, "Wrap in &group", lambda: self.tree.wrap_selected("group"),
            QKeySequence("Ctrl+G"), tree_only=True)
        self.act_wrap_parallel = self._action(
            m, "Wrap in &parallel", lambda: self.tree.wrap_selected("parallel"),
            QKeySequence("Ctrl+Shift+P"), tree_only=True)
        self.act_unwrap = self._action(m, "U&nwrap", self.tree.unwrap_selected,
                                       QKeySequence("Ctrl+Shift+G"), tree_only=True)
        self.act_add_branch = self._action(m, "Add &branch", self.tree.add_branch,
                                           tree_only=True)
        m.addSeparator()
        self.act_save_block = self._action(m, "Save as &my block…", self.save_user_block,
                                           tip="Keep the selected container in the palette")

        m = self._view_menu = self._menus["view"]
        self.act_build = self._action(m, "&Build", lambda: self.workspaces.setCurrentIndex(BUILD),
                                      QKeySequence("Ctrl+1"))
        self.act_train_look = self._action(
            m, "&Train && look", lambda: self.workspaces.setCurrentIndex(TRAIN),
            QKeySequence("Ctrl+2"))
        m.addSeparator()
        self._view_separator = m.addSeparator()
        for _area, title, widget in self.workspaces.views():  # those placed before the menu
            action = QAction(title, self)
            action.triggered.connect(lambda _checked=False, w=widget: self.show_view(w))
            m.insertAction(self._view_separator, action)
        self._action(m, "Zoom &in", lambda: self.diagram.zoom_in(), QKeySequence("Ctrl++"))
        self._action(m, "Zoom &out", lambda: self.diagram.zoom_out(), QKeySequence("Ctrl+-"))
        self._action(m, "&Fit diagram", lambda: self.diagram.fit(), QKeySequence("Ctrl+0"))
        m.addSeparator()
        self.act_reset_layout = self._action(m, "&Reset layout", self.reset_layout,
                                             tip="The default panels, sizes and tabs")

        self.presets_menu = self._menus["presets"]
        self.presets_menu.addAction("(loading…)").setEnabled(False)

        m = self._menus["help"]
        self._action(m, "&About Network Explorer", self._about)

    def _fill_presets(self) -> None:
        m = self.presets_menu
        m.clear()
        for preset in self._presets:
            action = m.addAction(preset.name)
            action.setStatusTip(preset.doc)
            action.setToolTip(preset.doc)
            action.triggered.connect(lambda _c=False, n=preset.name: self.open_preset(n))
        m.addSeparator()
        self.torchvision_menu = m.addMenu("torchvision (read-only)")
        self.torchvision_menu.addAction("(loading…)").setEnabled(False)
        self._torchvision_pending = True  # listed after the first table: not to compete with it

    def _fill_torchvision(self, names: list[str]) -> None:
        self.torchvision_menu.clear()
        for name in names:
            action = self.torchvision_menu.addAction(name.removeprefix("torchvision:"))
            action.triggered.connect(lambda _c=False, n=name: self.open_torchvision(n))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_file(p))
        if not recent:
            self.recent_menu.addAction("(no recent files)").setEnabled(False)

    def _build_status(self) -> None:
        self.device_label = QLabel("device: …")
        self.params_label = QLabel("")
        self.network_label = QLabel("")
        for label in (self.network_label, self.params_label, self.device_label):
            self.statusBar().addPermanentWidget(label)
        self.statusBar().showMessage("Loading blocks and PyTorch…")

    # ------------------------------------------------------------------ start-up
    def start(self, path: str | None = None) -> None:
        """Load registries, user blocks and the first network on a worker thread."""
        crashed = previous_session_crashed()
        self._write_session_lock()
        last_path = self.settings.value("last/path", None)
        last_spec = self.settings.value("last/spec", None)
        task = Task(lambda: load_startup(path, last_path, last_spec, crashed), "loader", self)
        task.done.connect(self._startup_loaded)
        task.error.connect(lambda text: self.show_error("Start-up failed", text))
        self._start(task)

    def _start(self, task: Task) -> None:
        self._tasks.append(task)
        task.finished.connect(lambda t=task: self._tasks.remove(t) if t in self._tasks else None)
        task.start()

    def _startup_loaded(self, data: dict) -> None:
        self._block_defs = {b.name: b for b in data["blocks"]}
        self._presets = data["presets"]
        self.palette_view.set_blocks(data["blocks"], data["user_blocks"])
        self._fill_presets()
        self.device_label.setText(f"device: {data['device']}")
        self.device_name = data["device"]
        self.document.open_spec(data["spec"], data["path"], undoable=False)
        self._inspected(InspectResult(self.document.generation, data["summary"],
                                      data["summary_seconds"]))
        self.inspector.warm_up()  # after the first table: not to compete with it for the CPU
        if data["path"]:
            self._add_recent(str(data["path"]))
        self.is_loaded = True
        if self.training is None:  # the training views need torch, imported by now
            from explorer.ui.training_views import install_training_views

            self.training = install_training_views(self)
        if self.lab is None:
            from explorer.ui.lab_views import install_lab_views

            self.lab = install_lab_views(self)
        self._update_actions()
        self.statusBar().showMessage("Ready", 3000)
        for problem in data["user_problems"]:
            self.status_message(f"Skipped a saved block: {problem}", 10000)
        if data["problem"]:
            self.show_error("Cannot open the file", data["problem"])
        autosave = data.get("autosave")
        if autosave is not None:
            self._offer_restore(autosave)
        self.loaded.emit()

    def _offer_restore(self, autosave: dict) -> None:
        when = time.strftime("%H:%M:%S", time.localtime(autosave["time"]))
        box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved work?",
                          f"Network Explorer did not close properly. Restore the unsaved work "
                          f"on “{autosave['spec'].name}” autosaved at {when}?",
                          QMessageBox.StandardButton.NoButton, self)
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is restore:
            path = autosave["path"]
            self.document.open_spec(autosave["spec"], Path(path) if path else None,
                                    undoable=False, unsaved=True)
            self.status_message("Restored the autosaved work")
        else:
            (state_folder() / "autosave.json").unlink(missing_ok=True)

    # ------------------------------------------------------------------ document → views
    def _document_changed(self) -> None:
        doc = self.document
        if doc.spec is None:
            return
        self.properties.set_network(doc.spec)
        self.properties.set_read_only(doc.read_only)
        if doc.read_only:
            self.read_only_banner.setText(
                f"Viewing {doc.torchvision} read-only (random weights, never downloaded). "
                "Edit › Undo or open a preset to go back to editing.")
        self.read_only_banner.setVisible(doc.read_only)
        job = InspectJob(doc.generation, None if doc.read_only else doc.spec, doc.torchvision)
        self.inspector.request(job)
        self._update_title()
        self._update_actions()
        if not self._autosave_timer.isActive():
            self._autosave_timer.start()

    @property
    def dropped_results(self) -> int:
        """Inspections that finished after a newer edit, and were not shown."""
        return self._dropped + self.inspector.dropped

    def _inspected(self, result) -> None:
        if result.generation != self.document.generation:
            self._dropped += 1
            return
        previous, summary = self.latest_summary, result.summary
        self.latest_summary = summary
        self.inspections += 1
        self.last_inspection_seconds = result.seconds
        same_network = previous is not None and previous.name == summary.name
        self.table.set_summary(summary, previous if same_network else None)
        error_path = getattr(summary.error, "block_path", None) if summary.error else None
        if error_path is None and summary.error is not None and summary.error.block is not None:
            error_path = (summary.error.block,)
        self.tree.model_.set_error_path(error_path)
        self.diagram.set_network(None if self.document.read_only else self.document.spec, summary)
        self.params_label.setText(f"{summary.total_params:,} parameters")
        if getattr(self, "_torchvision_pending", False):
            self._torchvision_pending = False
            task = Task(_torchvision_names, "torchvision-names", self)
            task.done.connect(self._fill_torchvision)
            self._start(task)
        self.summary_ready.emit(summary)

    def _inspect_failed(self, generation: int, text: str) -> None:
        if generation == self.document.generation:
            self.show_error("The inspector failed", text)

    def _update_title(self) -> None:
        doc = self.document
        name = doc.torchvision or (doc.spec.name if doc.spec is not None else "")
        where = f" — {doc.path.name}" if doc.path else ""
        doing = f" — {self.activity}" if self.activity else ""
        # Qt appends the application's display name ("— Network Explorer") itself
        self.setWindowTitle(f"{name}{where}[*]{doing}" if name else f"Network Explorer{doing}")
        self.setWindowModified(doc.modified)
        self.network_label.setText(name)

    def _update_actions(self) -> None:
        editable = self.is_loaded and not self.document.read_only
        for action in (self.act_save, self.act_save_as, self.act_delete, self.act_duplicate,
                       self.act_up, self.act_down, self.act_wrap_residual, self.act_wrap_group,
                       self.act_wrap_parallel, self.act_unwrap, self.act_add_branch,
                       self.act_save_block, self.act_new):
            action.setEnabled(editable)
        self.palette_view.setEnabled(editable)
        self.tree.setEnabled(editable)

    # ------------------------------------------------------------------ selection
    def _tree_selected(self, path) -> None:
        self._show_block(path)
        self.table.select_block(path)
        self.diagram.select_block(path)

    def _view_selected(self, path) -> None:
        self.tree.select_block(path)
        self._show_block(path)
        self.table.select_block(path)
        self.diagram.select_block(path)

    def _show_block(self, path) -> None:
        from explorer.core.edit import EditError, block_at

        block = None
        if path is not None and self.document.spec is not None:
            try:
                block = block_at(self.document.spec, path)
            except EditError:
                block = None
        self.properties.set_block(path if block is not None else None, block,
                                  self._block_defs.get(block.type) if block else None)

    def _tree_activated(self, index) -> None:
        node = self.tree.model_.node(index)
        if node.kind == "block" and self.tree.model_.rowCount(index):
            self.tree.setExpanded(index, not self.tree.isExpanded(index))
        elif self.properties.fields:
            next(iter(self.properties.fields.values())).editor.setFocus()

    # ------------------------------------------------------------------ edits
    def _insert_from_palette(self, block: dict) -> None:
        if self.tree.insert_block(block):
            self.status_message(f"Added {block.get('type')}")

    def _param_edited(self, path, name: str, value) -> None:
        from explorer.core.edit import EditError, set_param

        try:
            new = set_param(self.document.spec, path, name, value)
        except EditError as exc:
            self.status_message(str(exc))
            return
        self.document.edit(f"Set {name}", new, merge_key=f"param:{path}:{name}")

    def _network_edited(self, field: str, value) -> None:
        if getattr(self.document.spec, field) == value:
            return
        new = dataclasses.replace(self.document.spec, **{field: value})
        self.document.edit(f"Set {field.replace('_', ' ')}", new, merge_key=f"net:{field}")

    def new_network(self) -> None:
        from explorer.core.spec import ArchitectureSpec

        spec = self.document.spec
        empty = ArchitectureSpec(name="untitled", input_shape=tuple(spec.input_shape),
                                 num_classes=spec.num_classes, blocks=())
        self.document.open_spec(empty, None)

    def open_preset(self, name: str) -> None:
        """Replace the network by the preset ``name`` (undoable)."""
        from explorer.core.presets import preset_spec

        self.document.open_spec(preset_spec(name), None)
        self.status_message(f"Opened the preset {name} (Edit › Undo goes back)")

    def open_torchvision(self, name: str) -> None:
        """Show a torchvision model's summary, read-only (undoable)."""
        self.document.open_torchvision(name)

    def save_user_block(self) -> bool:
        """Ask for a name and save the selected container as one of the user's blocks."""
        from explorer.core.edit import block_at
        from explorer.core.library import check_name, load_user_blocks, save_user_block

        path = self.tree.current_path()
        if path is None:
            self.status_message("Select a container block first")
            return False
        block = block_at(self.document.spec, path)
        suggestion = block.params.get("name") or f"my_{block.type}"
        name, ok = QInputDialog.getText(self, "Save as my block",
                                        "Name in the palette (letters, digits, -, _):",
                                        text=str(suggestion))
        if not ok:
            return False
        try:
            name = check_name(name)
            save_user_block(name, block)
        except (ValueError, OSError) as exc:
            self.show_error("Cannot save the block", str(exc))
            return False
        blocks, _problems = load_user_blocks()
        self.palette_view.set_blocks(list(self._block_defs.values()), blocks)
        self.status_message(f"Saved {name!r} in My blocks")
        return True

    # ------------------------------------------------------------------ files
    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", recent[:MAX_RECENT])

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.document.path.parent) if self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open architecture", start,
                                              "Architecture (*.json);;All files (*)")
        if path:
            self.open_file(path, ask=False)

    def open_file(self, path: str | Path, *, ask: bool = True) -> bool:
        """Open an architecture file; on failure a dialog names the problem, nothing changes."""
        from explorer.core.spec import SpecError, load_spec, validate

        if ask and not self.maybe_save():
            return False
        try:
            spec = load_spec(path)
            validate(spec)
        except SpecError as exc:
            self.show_error("Cannot open the file", str(exc))
            return False
        self.document.open_spec(spec, Path(path))
        self.document.mark_saved(Path(path))
        self._add_recent(str(path))
        self.status_message(f"Opened {path}")
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self.save_to(self.document.path)

    def save_as(self) -> bool:
        start = str(self.document.path or Path.cwd() / f"{self.document.spec.name}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save architecture", start,
                                              "Architecture (*.json)")
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        """Write the architecture atomically to ``path``; a dialog if that fails."""
        from explorer.core.spec import save_spec

        try:
            save_spec(self.document.spec, path)
        except OSError as exc:
            self.show_error("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.document.mark_saved(Path(path))
        self._add_recent(str(path))
        self._update_title()
        self.status_message(f"Saved {path}")
        return True

    def export_dialog(self, kind: str) -> bool:
        if self.latest_summary is None:
            self.status_message("No summary yet")
            return False
        name = (self.document.torchvision or self.document.spec.name).replace(":", "-")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export summary", str(Path.cwd() / f"{name}.{kind}"),
            "Markdown (*.md)" if kind == "md" else "CSV (*.csv)")
        return bool(path) and self.export_summary(Path(path), kind)

    def export_summary(self, path: Path, kind: str) -> bool:
        from explorer.core.report import summary_csv, summary_markdown
        from explorer.core.spec import atomic_write_text

        text = summary_markdown(self.latest_summary) if kind == "md" else \
            summary_csv(self.latest_summary)
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            self.show_error("Cannot export", f"{path}: {exc.strerror or exc}")
            return False
        self.status_message(f"Exported the summary to {path}")
        return True

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; ``False`` if the user cancels."""
        if not self.document.modified or self.document.spec is None:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes",
            f"“{self.document.spec.name}” has changes that are not saved. Save them?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # ------------------------------------------------------------------ autosave, session
    def autosave_now(self) -> None:
        """Write the current work to the state folder (atomic); cheap, called after changes."""
        from explorer.core.spec import atomic_write_text

        spec = self.document.spec
        if spec is None:
            return
        data = {"format": AUTOSAVE_FORMAT, "time": time.time(),
                "modified": self.document.modified,
                "path": str(self.document.path) if self.document.path else None,
                "spec": spec.to_dict()}
        try:
            atomic_write_text(state_folder() / "autosave.json", json.dumps(data) + "\n")
        except OSError as exc:
            self.status_message(f"Autosave failed: {exc}")

    def _write_session_lock(self) -> None:
        from explorer.core.spec import atomic_write_text

        try:
            atomic_write_text(state_folder() / "session.json",
                              json.dumps({"pid": os.getpid(), "started": time.time()}))
        except OSError:
            pass

    def _end_session(self) -> None:
        for name in ("session.json", "autosave.json"):
            (state_folder() / name).unlink(missing_ok=True)

    # ------------------------------------------------------------------ settings, close
    def _restore_layout(self) -> None:
        """The saved window geometry and layout; on first launch the default, maximized."""
        geometry = self.settings.value("window/geometry")
        self.first_launch_layout = geometry is None
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1366, 740)
        self.workspaces.restore(self.settings)

    def reset_layout(self) -> None:
        """View ▸ Reset layout: the default workspace, tabs and panel sizes."""
        self.workspaces.reset()
        self.status_message("The layout is back to its default")

    def save_layout(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        self.workspaces.save(s)
        doc = self.document
        if doc.spec is not None:
            s.setValue("last/path", str(doc.path) if doc.path and not doc.modified else "")
            s.setValue("last/spec", doc.spec.to_json())
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.save_layout()
        self.shutdown()
        self._end_session()
        event.accept()

    def shutdown(self) -> None:
        """Stop the workers and join their threads (safe to call twice)."""
        self._autosave_timer.stop()
        if self.training is not None:
            self.training.shutdown()
        if self.lab is not None:
            self.lab.shutdown()
        self.inspector.stop()
        for task in list(self._tasks):
            task.wait()
        self._tasks.clear()

    def show_error(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text.splitlines()[0][:500]
                          if text else title, QMessageBox.StandardButton.Ok, self)
        if "\n" in text:
            box.setDetailedText(text)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.exec()

    def _about(self) -> None:
        from explorer import __version__

        QMessageBox.about(self, "About Network Explorer",
                          f"Network Explorer {__version__}\n\nBuild, inspect and train "
                          "convolutional networks, one block at a time.")


def _torchvision_names() -> list[str]:
    from explorer.core.presets import torchvision_names

    return torchvision_names()
