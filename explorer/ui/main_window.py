"""The main window: menus, workspaces, status bar; it wires the parts and owns no logic.

Flow: a user action → an undoable command on the :class:`Document` → ``changed`` → the
inspection worker (off the GUI thread) → a :class:`Summary` for the latest generation →
the layer table, the diagram and the editor tree's error mark. Other views join through
:meth:`MainWindow.add_view` (a tab in one of the areas of :mod:`explorer.ui.workspaces`)
and :meth:`MainWindow.menu`, and follow :attr:`MainWindow.latest_summary` / :attr:`MainWindow.summary_ready`.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from PySide6.QtCore import QLockFile, QModelIndex, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.files import ensure_suffix
from explorer.session import (
    Orphan,
    Session,
    Work,
    add_recent,
    last_network,
    load_startup,
    load_torch,
    recent_list,
    sessions_folder,
)
from explorer.ui.background import Inspector, Task
from explorer.ui.document import Document
from explorer.ui.inspection_process import InspectionProcess, InspectJob, InspectResult
from explorer.ui.widgets.editor_tree import EditorTree
from explorer.ui.widgets.palette import BlockPalette
from explorer.ui.widgets.properties import PropertiesPanel
from explorer.ui.workspaces import BUILD, TRAIN, Workspaces

AUTOSAVE_SECONDS = 2.0
TORCH_AFTER_MS = 5000
"""At start-up, this process loads PyTorch after the first table, or this long after the
first network opened if that table is slow to come (a large network, a busy machine)."""
UNTITLED = "untitled"


class QtLock:
    """The session's lock (see :mod:`explorer.session`) as a ``QLockFile``: one per
    instance; a lock left by a process that is gone is stale and can be taken over."""

    def __init__(self, path: Path) -> None:
        self._lock = QLockFile(str(path))
        self._lock.setStaleLockTime(0)  # stale only when its process is gone, never by age

    def try_lock(self) -> bool:
        return self._lock.tryLock(0)

    def unlock(self) -> None:
        self._lock.unlock()


class MainWindow(QMainWindow):
    """The workbench window.

    Signals
    -------
    summary_ready(Summary) : a fresh summary of the current network arrived.
    loaded() : the registries, the palette and the first network are in place.
    file_inspected(FileReport) : a Python file shown was inspected (before summary_ready).
    """

    summary_ready = Signal(object)
    loaded = Signal()
    file_inspected = Signal(object)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None, *,
                 inspection_process: InspectionProcess | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or QSettings()
        self.setWindowTitle("Network Explorer")
        self.setObjectName("MainWindow")
        self.setDockNestingEnabled(True)
        self.setAcceptDrops(True)
        self.document = Document(self)
        self.latest_summary = None
        self.file_report = None        # the latest FileReport, when a Python file is shown
        self.is_loaded = False
        self.inspections = 0           # results shown
        self._dropped = 0              # results for an older generation, dropped here
        self._ready_summary = None     # (summary, seconds) the loader made at start-up
        self._python_target = None      # a Python file to open once its views are in
        self._block_defs: dict = {}
        self._presets = []
        self._tasks: list[Task] = []
        self.training = None           # TrainingController, once start-up has loaded torch
        self.python_files = None       # PythonFileController, likewise
        self.build_along = None        # BuildAlongController, likewise
        self.lab = None                # LabController (gradient lab, runs, diff), likewise
        self._menus: dict[str, QMenu] = {}
        self.activity = ""             # what runs in the background, for the title
        self.inspector = Inspector(self, process=inspection_process)
        # started at the launch, it makes the first table; else the loader does
        self._table_from_process = inspection_process is not None
        self.inspector.finished.connect(self._inspected)
        self.inspector.failed.connect(self._inspect_failed)
        self.session = Session(sessions_folder(), QtLock)
        self.closing = False            # the close was confirmed: late results are dropped
        self._storage_problems: dict[str, str] = {}

        self._build_views()
        self._build_menus()
        self._build_status()
        from explorer.ui.widgets.code_view import install as install_code_view

        self.code_view = install_code_view(self)  # the Code tab and File ▸ Export entries
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(int(AUTOSAVE_SECONDS * 1000))
        self._autosave_timer.timeout.connect(self.autosave_now)
        # at start-up, PyTorch is loaded here after the first table, or when this times out
        self._torch_timer = QTimer(self)
        self._torch_timer.setSingleShot(True)
        self._torch_timer.setInterval(TORCH_AFTER_MS)
        self._torch_timer.timeout.connect(self._load_torch)
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
        self.editor_stack = QStackedWidget()  # the tree, or a read-only view's own panel
        self.editor_stack.addWidget(self.tree)
        self._view_panels: dict[type, QWidget] = {}
        box.addWidget(self.editor_stack)
        self.workspaces = Workspaces(self.palette_view, editor, self.table, self.properties)
        self.workspaces.add_view("Diagram", self.diagram, "build")
        self.setCentralWidget(self.workspaces)

        self.palette_view.blockRequested.connect(self._insert_from_palette)
        self.tree.blockSelected.connect(self._tree_selected)
        self.tree.problem.connect(self.status_message)
        self.tree.activated.connect(self._tree_activated)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._tree_menu)
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

    def add_view_panel(self, view_type: type, panel: QWidget) -> None:
        """``panel`` takes the editor tree's place while the document shows a read-only view
        of ``view_type`` (a Python file, a build-along step: nothing to edit there)."""
        self._view_panels[view_type] = panel
        self.editor_stack.addWidget(panel)

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
        self._build_file_menu(self._menus["file"])
        self._build_edit_menu(self._menus["edit"])
        self._build_view_menu(self._menus["view"])
        self.presets_menu = self._menus["presets"]
        self.presets_menu.addAction("(loading…)").setEnabled(False)
        self._build_help_menu(self._menus["help"])

    def _build_file_menu(self, m: QMenu) -> None:
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

    def _build_edit_menu(self, m: QMenu) -> None:
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
        m.addSeparator()
        self.act_copy_torchinfo = self._action(
            m, "Copy summary as &torchinfo table", self.copy_torchinfo,
            tip="torchinfo.summary's own table of this network, with its own numbers")
        self.table.add_context_action(self.act_copy_torchinfo)

    def _build_view_menu(self, m: QMenu) -> None:
        self._view_menu = m
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

    def _build_help_menu(self, m: QMenu) -> None:
        self.act_guide = self._action(m, "&Getting started", lambda: self._help("guide"),
                                      QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.act_shortcuts = self._action(m, "&Keyboard shortcuts",
                                          lambda: self._help("shortcuts"),
                                          QKeySequence("Ctrl+/"))
        m.addSeparator()
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

    def _torchvision_unavailable(self, text: str) -> None:
        """The torchvision list could not be made (torchvision missing or not matching
        PyTorch): the menu says so instead of loading for ever."""
        reason = text.strip().splitlines()[-1] if text.strip() else "unknown error"
        self.torchvision_menu.clear()
        item = self.torchvision_menu.addAction("(torchvision is not available)")
        item.setEnabled(False)
        item.setToolTip(reason)
        self.status_message(f"torchvision models are not available: {reason}", 10000)

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
        self.storage_label = QLabel()  # stays while autosave or settings cannot be written
        self.storage_label.setObjectName("storage_warning")
        self.storage_label.setStyleSheet(
            "background: #fff3cd; color: #5c4400; padding: 1px 6px; border-radius: 3px;")
        self.storage_label.hide()
        for label in (self.storage_label, self.network_label, self.params_label,
                      self.device_label):
            self.statusBar().addPermanentWidget(label)
        self.statusBar().showMessage("Loading blocks and PyTorch…")

    def _storage(self, what: str, problem: str | None) -> None:
        """Show (``problem``) or clear (``None``) a lasting warning that ``what``
        ("autosave", "settings") cannot be written."""
        if problem is None:
            self._storage_problems.pop(what, None)
        elif self._storage_problems.get(what) != problem:
            self._storage_problems[what] = problem
            self.status_message(problem, 15000)
        problems = self._storage_problems
        short = {"autosave": "Autosave off", "settings": "Settings not saved"}
        self.storage_label.setText("⚠ " + " · ".join(short[k] for k in sorted(problems)))
        self.storage_label.setToolTip("\n\n".join(problems[k] for k in sorted(problems)))
        self.storage_label.setVisible(bool(problems))

    # ------------------------------------------------------------------ start-up
    def start(self, path: str | None = None) -> None:
        """Load registries, user blocks and the first network on a worker thread, then
        PyTorch and the views that need it.

        A window given its inspection process at the launch takes the first table from it
        (the process has been loading PyTorch on another core since then) and loads PyTorch
        here only after that table, not to compete with it; otherwise the loader imports
        PyTorch and summarises the first network itself.
        """
        self._begin_session()
        self._check_settings(probe=True)
        last_path = self.settings.value("last/path", None)
        last_spec = self.settings.value("last/spec", None)
        summarise = not self._table_from_process
        task = Task(lambda: load_startup(path, last_path, last_spec, summarise=summarise),
                    "loader", self)
        task.done.connect(self._startup_loaded)
        task.error.connect(lambda text: self.show_error("Start-up failed", text))
        self._start(task)

    def _start(self, task: Task) -> None:
        self._tasks.append(task)
        task.finished.connect(lambda t=task: self._tasks.remove(t) if t in self._tasks else None)
        task.start()

    def _startup_loaded(self, data: dict) -> None:
        if self.closing:  # closed while starting: nothing is installed or spawned
            return
        self._block_defs = {b.name: b for b in data["blocks"]}
        self._presets = data["presets"]
        self._python_target = data.get("python")  # set before a dialog lets PyTorch load
        self.palette_view.set_blocks(data["blocks"], data["user_blocks"])
        self._fill_presets()
        summarised = "summary" in data  # and PyTorch loaded: the rest follows at once
        if summarised:  # the loader's summary is the first table: not inspected again
            self._ready_summary = (data["summary"], data["summary_seconds"])
        self.document.open_spec(data["spec"], data["path"], undoable=False)
        self.repaint()  # the network (and a ready table) on screen now, before the rest
        if data["path"]:
            self._add_recent(str(data["path"]))
        self.is_loaded = True  # editing needs no PyTorch here: it is inspected elsewhere
        self._update_actions()
        if not summarised:  # after the first table (see _inspected), or on the timer
            self.statusBar().showMessage("Loading PyTorch for training…")
            self._torch_timer.start()
        for problem in data["user_problems"]:
            self.status_message(f"Skipped a saved block: {problem}", 10000)
        if data["problem"]:
            self.show_error("Cannot open the file", data["problem"])
        self._offer_restore()  # before any edit of the first network, which it would replace
        if summarised:
            self._torch_loaded(data)

    def _load_torch(self) -> None:
        """Import PyTorch on a worker thread, then install the views that need it."""
        self._torch_timer.stop()
        if self.closing:
            return
        task = Task(load_torch, "torch-loader", self)
        task.done.connect(self._torch_loaded)
        task.error.connect(lambda text: self.show_error("Start-up failed", text))
        self._start(task)

    def _torch_loaded(self, data: dict) -> None:
        if self.closing:
            return
        self.device_label.setText(f"device: {data['device']}")
        self.device_name = data["device"]
        self.inspector.warm_up()  # started already at a launch; after the first table here
        if self.training is None:
            from explorer.ui import build_along, python_file
            from explorer.ui.lab_views import install_lab_views
            from explorer.ui.training_views import install_training_views

            self.training = install_training_views(self)
            self.python_files = python_file.install(self)
            self.build_along = build_along.install(self)
            self.lab = install_lab_views(self)
        self._update_actions()
        if self.statusBar().currentMessage().startswith("Loading"):  # not a start-up problem
            self.statusBar().showMessage("Ready", 3000)
        target, self._python_target = self._python_target, None
        if target:
            self.python_files.open(*target)
        self.loaded.emit()

    def _offer_restore(self) -> None:
        """Offer the unsaved work of an instance that crashed (the newest; any others wait
        for the next start)."""
        if not self.session.active:
            return
        orphans = self.session.orphans()
        if not orphans:
            return
        orphan, others = orphans[0], orphans[1:]
        for other in others:
            other.keep()
        work = orphan.work
        if work is None:
            orphan.keep()
            self.status_message("Unsaved work from a window that did not close properly "
                                "cannot be read with the blocks known now; it is kept in "
                                f"{self.session.folder}", 15000)
            return
        when = time.strftime("%H:%M:%S", time.localtime(work.time))
        more = (f" ({len(others)} more will be offered at the next start.)" if others else "")
        box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved work?",
                          f"A Network Explorer window did not close properly. Restore its "
                          f"unsaved work on “{work.spec.name}”, autosaved at {when}?{more}",
                          QMessageBox.StandardButton.NoButton, self)
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(restore)
        box.exec()
        if box.clickedButton() is restore:
            self._restore(orphan, work)
        elif box.clickedButton() is discard:
            orphan.discard()
        else:
            orphan.keep()

    def _restore(self, orphan: Orphan, work: Work) -> None:
        self.document.open_spec(work.spec, work.path, undoable=False, unsaved=True,
                                saved=(work.saved_spec, work.saved_path))
        self.autosave_now()  # this instance's record holds the work before the old one goes
        if self.session.active and "autosave" not in self._storage_problems:
            orphan.discard()
        else:
            orphan.keep()
        self.status_message("Restored the autosaved work")

    # ------------------------------------------------------------------ document → views
    def _document_changed(self) -> None:
        doc = self.document
        if doc.spec is None:
            return
        if doc.torchvision is not None:  # the Network section shows the model being viewed
            self.properties.set_block(None, None, None)
            self.properties.show_network(doc.torchvision.removeprefix("torchvision:"))
        else:
            self.properties.set_network(getattr(doc.view, "spec", None) or doc.spec)
        self.properties.set_read_only(doc.read_only)
        if doc.view is not None:
            self.read_only_banner.setText(doc.view.banner)
        elif doc.read_only:
            self.read_only_banner.setText(
                f"Viewing {doc.torchvision} read-only (random weights, never downloaded). "
                "Edit › Undo or open a preset to go back to editing.")
        self.read_only_banner.setVisible(doc.read_only)
        panel = self._view_panels.get(type(doc.view))
        self.editor_stack.setCurrentWidget(panel if panel is not None else self.tree)
        self._request_inspection()
        self._update_title()
        self._update_actions()
        if not self._autosave_timer.isActive():
            self._autosave_timer.start()

    def _request_inspection(self) -> None:
        """Ask the inspector about the network shown (a view with its own summary, a
        build-along step, is shown as it is)."""
        doc = self.document
        view = doc.view
        ready, self._ready_summary = self._ready_summary, None
        if ready is not None:  # the first network, just opened
            self._inspected(InspectResult(doc.generation, *ready))
            return
        if getattr(view, "summary", None) is not None:
            result = InspectResult(doc.generation, view.summary, 0.0)
            QTimer.singleShot(0, lambda: self._inspected(result))
            return
        request = view.request() if view is not None else None
        from explorer.ui.python_file import TIME_LIMIT

        self.inspector.request(InspectJob(
            doc.generation, None if doc.read_only else doc.spec, doc.torchvision,
            file=request, time_limit=TIME_LIMIT))

    @property
    def dropped_results(self) -> int:
        """Inspections that finished after a newer edit, and were not shown."""
        return self._dropped + self.inspector.dropped

    def _inspected(self, result) -> None:
        if result.generation != self.document.generation:
            self._dropped += 1
            return
        previous, summary = self.latest_summary, result.summary
        if hasattr(summary, "table_summary"):  # a Python file's FileReport
            self.file_report = summary
            self.file_inspected.emit(summary)
            summary = summary.table_summary()
            self._update_title()
            if len(summary.input_shape) == 3:  # the file's network, not the one underneath
                self.properties.show_network(summary.name, summary.input_shape,
                                             self.file_report.num_classes)
        self.latest_summary = summary
        self.inspections += 1
        self.last_inspection_seconds = result.seconds
        same_network = previous is not None and previous.name == summary.name
        self.table.set_summary(summary, previous if same_network else None)
        error_path = getattr(summary.error, "block_path", None) if summary.error else None
        if error_path is None and summary.error is not None and summary.error.block is not None:
            error_path = (summary.error.block,)
        self.tree.model_.set_error_path(error_path)
        view = self.document.view
        drawn = getattr(view, "spec", None) or (None if self.document.read_only else
                                                self.document.spec)
        self.diagram.set_network(drawn, summary, getattr(view, "head_from", None))
        if self.document.torchvision is not None:
            classes = summary.num_classes or (summary.output_shape or (None,))[-1]
            self.properties.show_network(self.document.torchvision.removeprefix("torchvision:"),
                                         summary.input_shape[-3:], classes)
        self.params_label.setText(f"{summary.total_params:,} parameters")
        if getattr(self, "_torchvision_pending", False):
            self._torchvision_pending = False
            task = Task(_torchvision_names, "torchvision-names", self)
            task.done.connect(self._fill_torchvision)
            task.error.connect(self._torchvision_unavailable)
            self._start(task)
        self.summary_ready.emit(summary)
        if self._torch_timer.isActive():  # the first table of a launch
            self.repaint()  # on screen before PyTorch loads here, holding the GIL at times
            self._load_torch()

    def _inspect_failed(self, generation: int, text: str) -> None:
        if self._torch_timer.isActive():
            self._load_torch()
        if generation == self.document.generation:
            self.show_error("The inspector failed", text)

    def _update_title(self) -> None:
        doc = self.document
        name = doc.torchvision or (doc.view.name if doc.view is not None else "") or \
            (doc.spec.name if doc.spec is not None else "")
        report = self.file_report  # a Python file's network, once named by its inspection
        if report is not None and getattr(doc.view, "path", None) == report.path:
            name = report.name
        where = f" — {doc.path.name}" if doc.path and not doc.read_only else ""
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

    def tree_menu(self, pos) -> QMenu:
        """The editor tree's right-click menu at ``pos`` (viewport coordinates): insert a
        block after the one under the mouse (at the end on empty space), and the Edit menu's
        actions on the selection."""
        from explorer.ui.widgets.palette import GROUPS, starter_block_dict

        if not self.tree.indexAt(pos).isValid():
            self.tree.clearSelection()
            self.tree.setCurrentIndex(QModelIndex())
        menu = QMenu(self)
        insert = menu.addMenu("&Insert after" if self.tree.current_path() else "&Insert")
        titles = dict(GROUPS)
        for category, title in GROUPS:
            names = sorted(n for n, d in self._block_defs.items() if d.category == category)
            if names:
                sub = insert.addMenu(titles[category])
                for name in names:
                    action = sub.addAction(name)
                    block = starter_block_dict(self._block_defs[name])  # as the palette's
                    action.triggered.connect(
                        lambda _c=False, b=block: self._insert_from_palette(dict(b)))
        insert.setEnabled(not insert.isEmpty() and not self.document.read_only)
        if self.tree.current_path() is not None:
            for group in ((self.act_delete, self.act_duplicate, self.act_up, self.act_down),
                          (self.act_wrap_residual, self.act_wrap_group, self.act_wrap_parallel,
                           self.act_unwrap, self.act_add_branch),
                          (self.act_save_block,)):
                menu.addSeparator()
                menu.addActions(list(group))
        return menu

    def _tree_menu(self, pos) -> None:
        menu = self.tree_menu(pos)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.tree.viewport().mapToGlobal(pos))

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

    def new_network(self) -> bool:
        """An empty network (after asking about unsaved changes); ``False`` if cancelled."""
        from explorer.core.spec import ArchitectureSpec

        if not self.maybe_save():
            return False
        spec = self.document.spec
        empty = ArchitectureSpec(name=UNTITLED, input_shape=tuple(spec.input_shape),
                                 num_classes=spec.num_classes, blocks=())
        self.document.open_spec(empty, None)
        return True

    def open_preset(self, name: str) -> bool:
        """Replace the network by the preset ``name`` (undoable), after asking about unsaved
        changes; ``False`` if cancelled."""
        from explorer.core.presets import preset_spec

        if not self.maybe_save():
            return False
        self.document.open_spec(preset_spec(name), None)
        self.status_message(f"Opened the preset {name} (Edit › Undo goes back)")
        return True

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
        return recent_list(self.settings.value("recent", []))

    def add_recent(self, path: str) -> None:
        """Put ``path`` first in File › Open Recent."""
        self._add_recent(path)

    def _add_recent(self, path: str) -> None:
        self.settings.setValue("recent", add_recent(self.recent_files(), path))
        self._check_settings()

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.document.path.parent) if self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a network", start, "Networks (*.json *.py);;Architecture (*.json);;"
            "Python file (*.py);;All files (*)")
        if path:
            self.open_file(path, ask=False)

    def open_file(self, path: str | Path, *, ask: bool = True) -> bool:
        """Open an architecture file, or a Python file (read-only, watched); on failure a
        dialog names the file and the problem, nothing changes."""
        from explorer.core.spec import SpecError
        from explorer.session import open_architecture

        if str(path).endswith(".py") and self.python_files is not None:
            return self.python_files.open(path)  # the editable network stays underneath
        if ask and not self.maybe_save():
            return False
        try:
            spec = open_architecture(path)
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
        spec = self.document.spec
        if spec.name == UNTITLED:  # a new network takes the name of its file
            self.document.edit(f"Name it {Path(path).stem}",
                               dataclasses.replace(spec, name=Path(path).stem))
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
        name = self.latest_summary.name.replace(":", "-")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export summary", str(Path.cwd() / f"{name}.{kind}"),
            "Markdown (*.md)" if kind == "md" else "CSV (*.csv)")
        return bool(path) and self.export_summary(ensure_suffix(path, f".{kind}"), kind)

    def export_summary(self, path: Path, kind: str) -> bool:
        from explorer.core.spec import atomic_write_text
        from explorer.core.summary_formats import summary_csv, summary_markdown

        text = summary_markdown(self.latest_summary) if kind == "md" else \
            summary_csv(self.latest_summary)
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            self.show_error("Cannot export", f"{path}: {exc.strerror or exc}")
            return False
        self.status_message(f"Exported the summary to {path}")
        return True

    def copy_torchinfo(self) -> None:
        """Put torchinfo's own table of the network shown on the clipboard (made off the GUI
        thread; a network that does not fit gives the table of the blocks before it)."""
        doc = self.document
        if doc.spec is None and doc.torchvision is None:
            self.status_message("No network yet")
            return
        spec, name = (None, doc.torchvision) if doc.read_only else (doc.spec, None)
        task = Task(lambda: _torchinfo_or_reason(spec, name), "torchinfo", self)
        task.done.connect(self._torchinfo_made)
        task.error.connect(lambda text: self.show_error("Cannot make torchinfo's table", text))
        self._start(task)
        self.status_message("Making torchinfo's table…")

    def _torchinfo_made(self, made: tuple[str, str]) -> None:
        text, reason = made
        if reason:
            self.show_error("Cannot make torchinfo's table", reason)
            return
        QGuiApplication.clipboard().setText(text)
        self.status_message("Copied torchinfo's table to the clipboard")

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
        """Write the current work to this instance's autosave (atomic); cheap, called after
        changes. If it cannot be written, a lasting warning says so; the work stays here."""
        doc = self.document
        if doc.spec is None or self.closing:
            return
        work = Work(doc.spec, doc.path, doc.modified, doc.saved_spec, doc.saved_path,
                    time.time())
        try:
            self.session.save(work)
        except OSError as exc:
            self._storage("autosave", _storage_text("Autosave is off", self.session.folder,
                                                    exc))
        else:
            self._storage("autosave", None)

    def _begin_session(self) -> None:
        try:
            self.session.begin()
        except OSError as exc:
            self._storage("autosave", _storage_text("Autosave is off", self.session.folder,
                                                    exc))

    def _check_settings(self, probe: bool = False) -> None:
        """Warn (lastingly) when the settings file cannot be written; ``probe`` writes a
        small value to find out."""
        if probe:
            self.settings.setValue("session/started", time.time())
        self.settings.sync()
        if self.settings.status() != QSettings.Status.AccessError:
            self._storage("settings", None)
            return
        self._storage("settings", _storage_text(
            "Settings are not saved (the layout and recent files will be forgotten)",
            Path(self.settings.fileName()).parent, PermissionError(13, "Permission denied")))

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
        """Remember the layout and the last *saved* network (never unsaved edits)."""
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        self.workspaces.save(s)
        doc = self.document
        if doc.saved_spec is not None:
            for key, value in last_network(doc.saved_spec, doc.saved_path).items():
                s.setValue(key, value)
        s.sync()

    def confirm_close(self) -> bool:
        """Ask once about what closing would end (a run going, unsaved changes); ``False``
        if the user cancels. Nothing is stopped here."""
        parts = [part for part in (self.training, self.lab) if part is not None]
        run = next(filter(None, (part.active_run() for part in parts)), None)
        if run is None:
            return self.maybe_save()
        doc = self.document
        unsaved = doc.modified and doc.spec is not None
        text = (f"{run} is training" + (f", and “{doc.spec.name}” has changes that are "
                                        "not saved." if unsaved else ".")
                + " Closing stops the run after the current batch; its checkpoints so far "
                "are kept.")
        box = QMessageBox(QMessageBox.Icon.Question, "Close Network Explorer?", text,
                          QMessageBox.StandardButton.Cancel, self)
        save = box.addButton("Save and close", QMessageBox.ButtonRole.AcceptRole) \
            if unsaved else None
        close = box.addButton("Discard changes and close" if unsaved else "Stop and close",
                              QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is save:
            return self.save()
        return box.clickedButton() is close

    def dragEnterEvent(self, event) -> None:
        if _dropped_file(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """A dropped .py opens read-only and watched; a dropped .json as File › Open."""
        path = _dropped_file(event)
        if path is not None:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.open_file(path))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.closing:
            if not self.confirm_close():
                event.ignore()
                return
            self.closing = True
            self.save_layout()
            self.hide()  # gone at once; what follows waits a bounded time at most
            self.shutdown()
            self.session.end()
        event.accept()

    def shutdown(self) -> None:
        """Stop the workers (each wait bounded; start-up work still running is left to end
        by itself, its result dropped) — safe to call twice."""
        self.closing = True
        self._autosave_timer.stop()
        if self.training is not None:
            self.training.shutdown()
        if self.build_along is not None:
            self.build_along.jobs.stop()
        if self.lab is not None:
            self.lab.shutdown()
        self.inspector.stop()
        for task in list(self._tasks):
            task.detach()
        self._tasks.clear()

    def show_error(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text.splitlines()[0][:500]
                          if text else title, QMessageBox.StandardButton.Ok, self)
        if "\n" in text:
            box.setDetailedText(text)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.exec()

    def _help(self, which: str) -> None:
        from explorer.ui.help import guide_dialog, shortcuts_dialog

        dialog = (guide_dialog if which == "guide" else shortcuts_dialog)(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def _about(self) -> None:
        from explorer import __version__

        QMessageBox.about(self, "About Network Explorer",
                          f"Network Explorer {__version__}\n\nBuild, inspect and train "
                          "convolutional networks, one block at a time.")


def _storage_text(what: str, folder: Path, exc: OSError) -> str:
    from explorer.files import reason

    return (f"{what}: {folder} cannot be written ({reason(exc)}). Your work is kept in this "
            "window; save it to a file you choose (File › Save As).")


def _torchinfo_or_reason(spec, torchvision: str | None) -> tuple[str, str]:
    """``(torchinfo's table, "")``, or ``("", why not)`` for a network it cannot take."""
    from explorer.core.summary_formats import torchinfo_table

    try:
        return torchinfo_table(spec, torchvision, depth=3), ""
    except (ValueError, RuntimeError, AssertionError) as exc:  # too deep; a model that fails
        return "", str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)


def _dropped_file(event) -> str | None:
    """The local .py or .json file a drag carries (one), else ``None``."""
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    files = [u.toLocalFile() for u in urls if u.isLocalFile()]
    if len(files) == 1 and files[0].endswith((".py", ".json")):
        return files[0]
    return None


def _torchvision_names() -> list[str]:
    from explorer.core.presets import torchvision_names

    return torchvision_names()
