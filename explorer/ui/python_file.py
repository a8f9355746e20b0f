"""A user's Python file in the window: opened read-only, watched, inspected on every save.

Opening ``net.py`` shows it in place of the editable network (Edit › Undo goes back), as a
:class:`PythonFileView` of the :class:`~explorer.ui.document.Document`. The window's inspector
runs the file in a child of its inspection process (never in the window's process) and hands
back a :class:`~explorer.core.pyfile.FileReport`; the layer table and the diagram show its
summary, the Python file view its problem, traceback and output. Every save (editors that
write a new file and rename it included) inspects the file again. The network chosen among
several and the input shape are remembered per file. Training imports the file's inspected
text in the training worker; ONNX export runs it in a child process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from explorer.core.shapes import fmt_shape
from explorer.ui.widgets.python_file import PythonFilePanel

TIME_LIMIT = 10.0
"""Seconds a file gets to be imported, built and inspected in the window."""
EXPORT_TIME_LIMIT = 300.0
EXPORT_KEY = "export-onnx"
DEBOUNCE_MS = 50
"""Saves closer than this are one (an editor writes, then renames)."""


@dataclass(frozen=True)
class PythonFileView:
    """The document's view of a Python file: which file, which network in it, and the input
    shape the user gave (``None``: the file's ``INPUT_SHAPE``, else 1×28×28). ``saved``
    counts the saves seen, so that each save is a new view (a new generation)."""

    path: str
    target: str | None = None
    input_shape: tuple[int, ...] | None = None
    saved: int = 0

    @property
    def name(self) -> str:
        base = Path(self.path).name
        return f"{base}:{self.target}" if self.target else base

    @property
    def banner(self) -> str:
        return (f"Showing {self.name} read-only: edit it in your editor, every save updates "
                "the table and the diagram. Edit › Undo or open a preset to go back to "
                "editing blocks.")

    def request(self):
        """The inspector's job: the file's text as it is now (read here, so that every process
        sees the same code)."""
        from explorer.core.pyfile import FileRequest
        from explorer.core.pyfile.source import _Problem, read_source

        try:
            source = read_source(self.path)
        except _Problem:
            source = None  # the child reports why it cannot be read
        return FileRequest(self.path, source, self.target, self.input_shape)


class FileWatch(QObject):
    """Tells when a file changes, whether the editor rewrites it in place or writes a new
    file and renames it over the old one (the watcher then loses the file: the folder is
    watched too, and the file watched again)."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._poke)
        self._watcher.directoryChanged.connect(self._poke)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._check)
        self.path: str | None = None
        self._stamp = None

    def watch(self, path: str | None) -> None:
        """Watch ``path`` (``None``: nothing)."""
        if path == self.path:
            return
        watched = self._watcher.files() + self._watcher.directories()
        if watched:
            self._watcher.removePaths(watched)
        self.path = path
        self._stamp = _stamp(path) if path else None
        if path:
            self._watcher.addPath(str(Path(path).parent))
            if Path(path).exists():
                self._watcher.addPath(path)

    def _poke(self, *_args) -> None:
        self._timer.start()

    def _check(self) -> None:
        path = self.path
        if path is None:
            return
        if Path(path).exists() and path not in self._watcher.files():
            self._watcher.addPath(path)  # replaced by a rename: watch the new file
        stamp = _stamp(path)
        if stamp != self._stamp:
            self._stamp = stamp
            self.changed.emit()


def _stamp(path: str):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


def _key(path: str) -> str:
    return "python_files/" + hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:16]


class PythonFileController(QObject):
    """Opens Python files, watches them, shows their reports; training, conversion and ONNX
    export of the file's network. Installed by the window once PyTorch is loaded.

    Signals
    -------
    exported(bool, str) : an ONNX export ended: written (the path), or why not.
    """

    exported = Signal(bool, str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.panel = PythonFilePanel()
        window.add_view_panel(PythonFileView, self.panel)  # in the tree's place
        self.watch = FileWatch(self)
        self.report = None  # the latest FileReport of the file shown
        self._exporting = None  # the FileNetwork being exported
        self._saved_at: float | None = None
        self._asking = False
        self.convert_action = window.menu("&Edit").addAction("Con&vert to an editable network")
        self.convert_action.setToolTip("Open the Python file's network as blocks you can edit")
        self.convert_action.triggered.connect(self.convert)
        self.window.menu("&Edit").setToolTipsVisible(True)
        self.watch.changed.connect(self._saved)
        self.document.changed.connect(self._document_changed)
        window.file_inspected.connect(self._inspected)
        window.inspector.called.connect(self._called)
        window.inspector.call_failed.connect(self._call_failed)
        self.panel.target_chosen.connect(self.choose_target)
        self.panel.input_edited.connect(self.set_input)
        self.panel.reload_requested.connect(self.reload)
        self.panel.convert_requested.connect(self.convert)
        self._document_changed()

    # ----------------------------------------------------------------- opening

    @property
    def view(self) -> PythonFileView | None:
        view = self.document.view
        return view if isinstance(view, PythonFileView) else None

    def open(self, path: str | os.PathLike, target: str | None = None) -> bool:
        """Show the Python file ``path`` (``target``: the network in it; by default the one
        chosen last time). A file that cannot be read is a dialog; nothing changes."""
        from explorer.files import FileProblem, check_regular

        try:
            check_regular(path, "a Python file")
        except FileProblem as exc:
            self.window.show_error("Cannot open the file", str(exc))
            return False
        path = str(Path(path).resolve())
        settings = self.window.settings
        remembered_input = settings.value(_key(path) + "/input")
        from explorer.ui.widgets.python_file import parse_shape

        view = PythonFileView(path, target or settings.value(_key(path) + "/target") or None,
                              parse_shape(str(remembered_input)) if remembered_input else None)
        self.document.open_view(view, f"Open {Path(path).name}")
        self.window.add_recent(path)
        self.window.status_message(f"Opened {path}: every save re-inspects it")
        return True

    def _document_changed(self) -> None:
        view = self.view
        self.watch.watch(view.path if view else None)
        self.convert_action.setEnabled(view is not None)
        if view is None:
            self.report = None
            self.panel.set_file(None)
            return
        self.panel.set_file(view.path, view.input_shape)

    def _saved(self) -> None:
        view = self.view
        if view is not None:
            self._saved_at = time.perf_counter()
            # the network shown stays the one shown, should the file now offer several
            target = view.target or self.window.settings.value(_key(view.path) + "/target")
            self.document.refresh_view(dataclasses.replace(view, saved=view.saved + 1,
                                                           target=target or None))

    def reload(self) -> None:
        self._saved()

    # ----------------------------------------------------------------- reports

    def _inspected(self, report) -> None:
        view = self.view
        if view is None or Path(report.path) != Path(view.path):
            return
        self.report = report
        after = time.perf_counter() - self._saved_at if self._saved_at is not None else None
        self._saved_at = None
        self.panel.show_report(report, after)
        self.convert_action.setToolTip(
            "Open this network as blocks you can edit" if report.spec_json else
            f"Cannot convert {report.name}: {report.not_convertible}")
        if report.target and report.problem is None:
            self.window.settings.setValue(_key(view.path) + "/target", report.target)
        if report.problem is not None and report.problem.kind == "choose" and not self._asking:
            QTimer.singleShot(0, self._ask)

    def _ask(self) -> None:
        report = self.report
        if report is None or report.problem is None or report.problem.kind != "choose":
            return
        self._asking = True
        try:
            name = self.choose_network(report)
        finally:
            self._asking = False
        if name:
            self.choose_target(name)

    def choose_network(self, report) -> str | None:
        """Ask which of the file's networks to show; ``None`` if the user cancels."""
        labels = [c.label() for c in report.candidates]
        label, ok = QInputDialog.getItem(
            self.window, "Which network?",
            f"{Path(report.path).name} offers {len(labels)} networks. Show which one? "
            "(remembered for this file)", labels, 0, False)
        if not ok:
            return None
        return report.candidates[labels.index(label)].name

    def choose_target(self, name: str) -> None:
        view = self.view
        if view is None or name == view.target:
            return
        self.window.settings.setValue(_key(view.path) + "/target", name)
        self.document.refresh_view(dataclasses.replace(view, target=name))

    def set_input(self, shape: tuple[int, ...]) -> None:
        view = self.view
        if view is None:
            return
        self.window.settings.setValue(_key(view.path) + "/input", fmt_shape(shape))
        self.document.refresh_view(dataclasses.replace(view, input_shape=tuple(shape)))

    # ----------------------------------------------------------------- uses of the network

    def convert(self) -> bool:
        """Open the file's network as an editable one (undoable), or say why it cannot."""
        from explorer.core.spec import ArchitectureSpec

        report = self.report
        if self.view is None or report is None:
            return False
        if report.spec_json is None:
            QMessageBox.information(
                self.window, "Cannot convert",
                f"{report.name} cannot be converted to an editable network: "
                f"{report.not_convertible or 'it was not inspected to the end'}.")
            return False
        spec = ArchitectureSpec.from_json(report.spec_json)
        self.document.open_spec(spec, None)
        self.window.status_message(
            f"Converted {report.name} into an editable network ({report.summary.total_params:,}"
            " parameters, as in the file); Edit › Undo goes back to the file")
        return True

    def network_to_train(self):
        """The :class:`FileNetwork` of the file shown, as inspected; ``ValueError`` saying
        why it cannot be trained."""
        from explorer.core.pyfile.network import FileNetwork

        report, view = self.report, self.view
        if view is None:
            raise ValueError("no Python file is shown")
        if report is None or report.problem is not None:
            raise ValueError(f"{view.name} has a problem to fix first"
                             + (f": {report.problem.message}" if report and report.problem
                                else ""))
        if report.num_classes is None:
            raise ValueError(f"{report.name} ends in "
                             f"{fmt_shape(report.summary.output_shape)}, not one score per "
                             "class: end it with a Linear layer (one output per class)")
        if len(report.input_shape) != 3:
            raise ValueError(f"{report.name} takes a {fmt_shape(report.input_shape)} input; "
                             "training feeds images: set INPUT_SHAPE = (C, H, W)")
        source = view.request().source
        if source is None or _digest(source) != report.digest:
            raise ValueError(f"{view.name} changed since it was inspected; wait for the table "
                             "to update, then start again")
        return FileNetwork(report.path, source, report.target, tuple(report.input_shape),
                           report.num_classes)

    def export_onnx(self) -> None:
        """Ask where, then write the file's network as ONNX (with the trained weights of
        this session's run of it, if any) from a child of the inspection process."""
        from explorer.core.pyfile.network import export_onnx

        try:
            network = self.network_to_train()
        except ValueError as exc:
            self.window.show_error("Nothing to export", str(exc))
            return
        folder = Path(network.path).parent
        path, _ = QFileDialog.getSaveFileName(self.window, "Export ONNX",
                                              str(folder / f"{network.name}.onnx"),
                                              "ONNX model (*.onnx)")
        if not path:
            return
        self._exporting = network
        self.window.inspector.call(EXPORT_KEY, export_onnx, network, path,
                                   self._trained_state(network), time_limit=EXPORT_TIME_LIMIT)
        self.window.status_message(f"Exporting {network.name} in a child process…")

    def _trained_state(self, network):
        snapshot = getattr(self.window.training, "snapshot", None) if self.window.training \
            else None
        spec = getattr(snapshot, "spec", None)
        if spec is not None and getattr(spec, "path", None) == network.path and \
                getattr(spec, "target", None) == network.target:
            return snapshot.state
        return None

    def _called(self, key: str, done) -> None:
        if key != EXPORT_KEY or self._exporting is None:
            return
        from explorer.core.pyfile.isolate import died

        network, self._exporting = self._exporting, None
        if done.value is not None:
            ok, text = done.value
        else:
            ok, text = False, died(network.path, network.source, done,
                                   EXPORT_TIME_LIMIT).one_line()
        self.exported.emit(ok, text)
        if ok:
            self.window.status_message(f"Exported {network.name} to {text}")
        else:
            self.window.show_error("Export failed", text + (f"\n{done.stderr}" if
                                                            done.stderr else ""))

    def _call_failed(self, key: str, text: str) -> None:
        if key == EXPORT_KEY and self._exporting is not None:
            self._exporting = None
            self.exported.emit(False, text)
            self.window.show_error("Export failed", text)


def _digest(source: str) -> str:
    from explorer.core.pyfile.source import digest

    return digest(source)


def install(window) -> PythonFileController:
    """Add the Python file view and its menu entries to ``window``."""
    return PythonFileController(window)
