"""The runs list: every run folder in the user's runs folder and those made this session.

The folders are read on a worker thread (a run is read again at every checkpoint while it
trains, and a runs folder may hold hundreds); the GUI thread only fills the list.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.training.runs import RunInfo, all_runs
from explorer.ui.background import LatestJobs

COLUMNS = ["Run", "Status", "Best test", "Epochs", "Settings", "Started"]
_STATUS_TIPS = {
    "finished": "trained all its epochs",
    "stopped": "stopped before its last epoch (its checkpoints so far are kept)",
    "failed": "ended by an error; the reason is in the run's folder",
    "running": "training in this window now",
    "not finished": "running in another window, or its program ended before the run did",
}


class RunsView(QWidget):
    """Run folders, newest first; double-click shows a run's curves.

    Signals
    -------
    show_curves(object) : a :class:`~explorer.training.runs.RunInfo` to show.
    load_weights(object) : a RunInfo whose best weights (and architecture) should be opened.
    """

    show_curves = Signal(object)
    load_weights = Signal(object)

    def __init__(self, root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root)
        self.session_runs: list[Path] = []
        self.running: Path | None = None  # the run this window is training, if any
        self.jobs = LatestJobs("runs", self)
        self.jobs.result.connect(lambda _key, _generation, runs: self._fill(runs))
        self.jobs.error.connect(lambda _key, _generation, text: self._read_failed(text))
        self._select: Path | None = None  # a run to select once the list has it
        self._read_error = ""  # the message of a reading that failed, until one succeeds
        self._closed = False
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self._show(item))
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.where = QLabel(f"Runs are kept in {self.root}")
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.curves_button = QPushButton("Show curves")
        self.curves_button.clicked.connect(lambda: self._show(self.tree.currentItem()))
        self.load_button = QPushButton("Load best weights")
        self.load_button.setToolTip("Open the run's architecture with its best weights")
        self.load_button.clicked.connect(self._load)
        self.folder_button = QPushButton("Open folder")
        self.folder_button.clicked.connect(self._open_folder)
        buttons = QHBoxLayout()
        for button in (self.refresh_button, self.curves_button, self.load_button,
                       self.folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.where)
        self.refresh()

    # ----------------------------------------------------------------- contents

    def set_running(self, path: str | Path | None) -> None:
        """The run this window is training now (``None``: none)."""
        self.running = Path(path).resolve() if path is not None else None
        self.refresh()

    def add_session_run(self, path: str | Path) -> None:
        """Remember a run made in this session (it may live outside the runs folder)."""
        path = Path(path)
        if path not in self.session_runs:
            self.session_runs.append(path)
        self.refresh()

    def refresh(self) -> None:
        """Read the folders again (on the worker); the list keeps its selection."""
        if not self._closed:
            self.jobs.submit(all_runs, [self.root], tuple(self.session_runs))

    def shutdown(self) -> None:
        """Stop the worker (bounded); nothing is read again after it (the window closes)."""
        self._closed = True
        self.jobs.stop()

    def _read_failed(self, text: str) -> None:
        self._read_error = f"The runs could not be read: {text}"
        self.show_message(self._read_error)

    def _fill(self, runs: list[RunInfo]) -> None:
        if self._read_error and self.message.text() == self._read_error:
            self.show_message("")
        self._read_error = ""
        current = self.selected()
        if self._select is not None and any(info.path == self._select for info in runs):
            wanted, self._select = self._select, None
        else:  # the run asked for is not listed yet: the user's selection stays meanwhile
            wanted = current.path if current is not None else None
        self.tree.clear()
        session = {p.resolve() for p in self.session_runs}
        for info in runs:
            accuracy = (f"{100 * info.best_test_accuracy:.1f} %"
                        if info.best_test_accuracy is not None else "—")
            status = info.status
            if status == "not finished" and info.path.resolve() == self.running:
                status = "running"
            item = QTreeWidgetItem([f"{info.name} · {info.dataset}", status, accuracy,
                                    f"{info.epochs_done}/{info.epochs_planned}",
                                    info.settings, info.started_local])
            item.setData(0, Qt.ItemDataRole.UserRole, info)
            item.setToolTip(1, _STATUS_TIPS.get(status, ""))
            item.setToolTip(0, f"{info.path}\n{info.device}" +
                            ("" if info.best else "\nno best checkpoint yet"))
            if info.path.resolve() in session:
                font = QFont(item.font(0))
                font.setBold(True)
                item.setFont(0, font)
                item.setToolTip(0, item.toolTip(0) + "\n(made in this session)")
            self.tree.addTopLevelItem(item)
            if info.path == wanted:
                self.tree.setCurrentItem(item)
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)
        self._selection_changed()

    def selected(self) -> RunInfo | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)

    def select_run(self, path: str | Path) -> None:
        """Select the run at ``path``: now if listed, and once the list is read again (a
        run just made is listed then)."""
        self._select = Path(path)
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole).path == self._select:
                self.tree.setCurrentItem(item)
                self._select = None
                return

    # ----------------------------------------------------------------- actions

    def _selection_changed(self) -> None:
        info = self.selected()
        self.curves_button.setEnabled(info is not None)
        self.folder_button.setEnabled(info is not None)
        self.load_button.setEnabled(info is not None and info.best is not None)

    def _show(self, item) -> None:
        if item is not None:
            self.show_curves.emit(item.data(0, Qt.ItemDataRole.UserRole))

    def _load(self) -> None:
        info = self.selected()
        if info is not None and info.best is not None:
            self.load_weights.emit(info)

    def _open_folder(self) -> None:
        info = self.selected()
        if info is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(info.path)))

    def show_message(self, text: str) -> None:
        self.message.setText(text)
