"""The window's layout: two workspaces, *Build* and *Train & look*, switched by tabs.

Build: the block palette | the editor tree beside a tabbed area (Diagram, Code, …) over the
layer table | the properties. Train & look: the training panel | a tabbed area (Curves, Draw,
Feature maps, Confusion, Runs, …). Every area is a tab widget whose titles are never elided;
a view joins an area with :meth:`Workspaces.add_view`. Splitter sizes, the current workspace
and each area's current tab are saved in ``QSettings`` and restored; :meth:`Workspaces.reset`
brings back the default, designed for a maximized window from 1366×768 to 1920×1080.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QTabWidget, QWidget

BUILD, TRAIN = 0, 1
WORKSPACE_TITLES = ("Build", "Train && look")
AREAS = ("build", "look", "train")
"""``build``: tabs beside the diagram; ``look``: the tabs of Train & look; ``train``: its left
column (the training panel)."""
LAYOUT_VERSION = 2
"""Saved layouts of another version (the old docks) are ignored."""
DEFAULT_SIZES = {
    "build_split": [230, 836, 300], "centre_split": [400, 330], "top_split": [300, 536],
    "train_split": [420, 946],
}
"""Pixel sizes for a 1366-pixel-wide window; extra width goes to the stretching parts."""
STRETCH = {"build_split": (0, 1, 0), "centre_split": (1, 1), "top_split": (0, 1),
           "train_split": (0, 1)}


def _tabs(name: str) -> QTabWidget:
    tabs = QTabWidget()
    tabs.setObjectName(f"area_{name}")
    tabs.setDocumentMode(True)
    tabs.tabBar().setElideMode(Qt.TextElideMode.ElideNone)
    tabs.tabBar().setExpanding(False)
    tabs.setTabBarAutoHide(name == "train")  # one panel there: no tab bar
    return tabs


def _until_first_view(tabs: QTabWidget, text: str) -> QStackedWidget:
    """``tabs`` behind a line of ``text``, shown until its first view is added."""
    stack = QStackedWidget()
    label = QLabel(text)
    label.setObjectName(f"waiting_{tabs.objectName()}")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setEnabled(False)  # greyed: a state, not content
    stack.addWidget(label)
    stack.addWidget(tabs)
    return stack


def _splitter(name: str, orientation, *widgets: QWidget) -> QSplitter:
    splitter = QSplitter(orientation)
    splitter.setObjectName(name)
    splitter.setChildrenCollapsible(True)
    for widget in widgets:
        splitter.addWidget(widget)
    for index, stretch in enumerate(STRETCH[name]):
        splitter.setStretchFactor(index, stretch)
        splitter.setCollapsible(index, stretch == 0)  # side columns fold away, the centre not
    splitter.setSizes(DEFAULT_SIZES[name])
    return splitter


class Workspaces(QTabWidget):
    """The central widget: the Build and Train & look workspaces and their areas.

    Signals
    -------
    view_added(str, QWidget) : a view joined an area (its title and widget).
    """

    view_added = Signal(str, QWidget)

    def __init__(self, palette: QWidget, editor: QWidget, table: QWidget, properties: QWidget,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workspaces")
        self.setDocumentMode(True)
        self.tabBar().setElideMode(Qt.TextElideMode.ElideNone)
        self.areas = {name: _tabs(name) for name in AREAS}
        H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        top = _splitter("top_split", H, editor, self.areas["build"])
        centre = _splitter("centre_split", V, top, table)
        build = _splitter("build_split", H, palette, centre, properties)
        look = _until_first_view(self.areas["look"], "Loading PyTorch… training, drawing and "
                                 "the other views of a network appear here in a moment.")
        train = _splitter("train_split", H, self.areas["train"], look)
        self.splitters = {s.objectName(): s for s in (top, centre, build, train)}
        self.addTab(build, WORKSPACE_TITLES[BUILD])
        self.addTab(train, WORKSPACE_TITLES[TRAIN])
        self.setTabToolTip(BUILD, "Assemble the network: blocks, shapes, costs (Ctrl+1)")
        self.setTabToolTip(TRAIN, "Train it and look inside: curves, drawing, feature maps, "
                                  "runs (Ctrl+2)")
        self._titles: dict[QWidget, tuple[str, str]] = {}   # view → (area, title)
        self._wanted: dict[str, str] = {}                    # area → saved current title

    # ----------------------------------------------------------------- views

    def add_view(self, title: str, widget: QWidget, area: str = "look") -> QWidget:
        """Put ``widget`` in ``area`` under the tab ``title``; returns ``widget``."""
        if area not in self.areas:
            raise ValueError(f"unknown area {area!r}: one of {', '.join(AREAS)}")
        tabs = self.areas[area]
        index = tabs.addTab(widget, title.replace("&", "&&"))
        stack = tabs.parentWidget()
        if isinstance(stack, QStackedWidget):
            stack.setCurrentWidget(tabs)
        self._titles[widget] = (area, title)
        if self._wanted.get(area) == title:
            tabs.setCurrentIndex(index)
        self.view_added.emit(title, widget)
        return widget

    def views(self) -> list[tuple[str, str, QWidget]]:
        """``(area, title, widget)`` of every view, in the order they were added."""
        return [(area, title, widget) for widget, (area, title) in self._titles.items()]

    def find(self, view: str | QWidget) -> QWidget:
        """The view with this title, or the widget itself; ``KeyError`` if there is none."""
        if isinstance(view, QWidget):
            if view in self._titles:
                return view
            raise KeyError(view)
        for widget, (_area, title) in self._titles.items():
            if title.replace("&", "") == view.replace("&", ""):
                return widget
        raise KeyError(view)

    def show_view(self, view: str | QWidget) -> QWidget:
        """Bring a view forward: its workspace, then its tab."""
        widget = self.find(view)
        area, _title = self._titles[widget]
        self.setCurrentIndex(BUILD if area == "build" else TRAIN)
        tabs = self.areas[area]
        tabs.setCurrentWidget(widget)
        return widget

    def current_view(self, area: str) -> str | None:
        widget = self.areas[area].currentWidget()
        return self._titles[widget][1] if widget in self._titles else None

    def set_activity(self, text: str) -> None:
        """Show on the Train & look tab what runs there (``""``: nothing)."""
        title = WORKSPACE_TITLES[TRAIN]
        self.setTabText(TRAIN, f"{title} · {text}" if text else title)

    # ----------------------------------------------------------------- saving

    def save(self, settings: QSettings) -> None:
        settings.setValue("layout/version", LAYOUT_VERSION)
        settings.setValue("layout/workspace", self.currentIndex())
        for name, splitter in self.splitters.items():
            settings.setValue(f"layout/{name}", splitter.saveState())
        for area in AREAS:
            settings.setValue(f"layout/tab_{area}", self.current_view(area) or "")

    def restore(self, settings: QSettings) -> bool:
        """Restore a saved layout; ``False`` (and the default kept) if there is none."""
        if settings.value("layout/version") not in (LAYOUT_VERSION, str(LAYOUT_VERSION)):
            return False
        for name, splitter in self.splitters.items():
            state = settings.value(f"layout/{name}")
            if state is not None:
                splitter.restoreState(state)
        for area in AREAS:
            title = settings.value(f"layout/tab_{area}") or ""
            self._wanted[area] = str(title)
            try:
                self.areas[area].setCurrentWidget(self.find(str(title)))
            except KeyError:
                pass  # added later: add_view makes it current
        try:
            self.setCurrentIndex(int(settings.value("layout/workspace", BUILD)))
        except (TypeError, ValueError):
            self.setCurrentIndex(BUILD)
        return True

    def reset(self) -> None:
        """The default layout: Build, each area's first tab, the default sizes."""
        self._wanted.clear()
        for name, splitter in self.splitters.items():
            splitter.setSizes(_scaled(name, splitter))
        for tabs in self.areas.values():
            tabs.setCurrentIndex(0)
        self.setCurrentIndex(BUILD)


def _scaled(name: str, splitter: QSplitter) -> list[int]:
    """The default sizes, the stretching parts taking what the splitter has beyond them."""
    sizes = list(DEFAULT_SIZES[name])
    total = (splitter.width() if splitter.orientation() == Qt.Orientation.Horizontal
             else splitter.height()) - splitter.handleWidth() * (len(sizes) - 1)
    stretch = STRETCH[name]
    fixed = sum(s for s, k in zip(sizes, stretch, strict=True) if k == 0)
    flexible = sum(s for s, k in zip(sizes, stretch, strict=True) if k)
    if total <= fixed + 100 or flexible == 0:
        return sizes
    return [s if k == 0 else round(s * (total - fixed) / flexible)
            for s, k in zip(sizes, stretch, strict=True)]
