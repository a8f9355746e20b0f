"""The Code view: the current network as the PyTorch code ``explorer export`` writes.

Each block is a class and the network is composed of them — the course's lesson, visible
while editing. Generating the code builds the network on the meta device (15–95 ms for
the presets, see ``benchmarks/export_speed.py``), so it runs on a worker thread: the latest
spec is taken, older requests are skipped, and a result for an older generation is dropped.

:func:`install` adds the view to the main window and the File menu's export entries.
"""

from __future__ import annotations

import html
import keyword
import re
from pathlib import Path

from PySide6.QtCore import QRegularExpression, Qt, QThread, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QSyntaxHighlighter,
    QTextCharFormat,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.background import LatestJobs

# --------------------------------------------------------------------------- highlighting

_LIGHT = {"keyword": "#0033b3", "builtin": "#7a3e9d", "string": "#067d17",
          "comment": "#8c8c8c", "number": "#1750eb", "name": "#00627a", "decorator": "#9e880d"}
_DARK = {"keyword": "#cf8e6d", "builtin": "#c77dbb", "string": "#6aab73",
         "comment": "#7a7e85", "number": "#2aacb8", "name": "#56a8f5", "decorator": "#b3ae60"}
_BUILTINS = ("self", "super", "range", "len", "sum", "print", "int", "float", "str", "list",
             "dict", "tuple", "isinstance", "getattr", "None", "True", "False")


class PythonHighlighter(QSyntaxHighlighter):
    """Python syntax colours: keywords, builtins, names after class/def, numbers, strings
    (triple-quoted ones across lines), comments and decorators."""

    def __init__(self, document, dark: bool = False) -> None:
        super().__init__(document)
        colours = _DARK if dark else _LIGHT
        self.formats = {name: self._format(colour, bold=name in ("keyword", "name"))
                        for name, colour in colours.items()}
        words = [w for w in keyword.kwlist if w not in ("None", "True", "False")]
        self.rules = [
            (QRegularExpression(r"\b(" + "|".join(words) + r")\b"), "keyword"),
            (QRegularExpression(r"\b(" + "|".join(_BUILTINS) + r")\b"), "builtin"),
            (QRegularExpression(r"\b[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\b"), "number"),
            (QRegularExpression(r"(?<=\bclass |\bdef )\w+"), "name"),
            (QRegularExpression(r"^\s*@\w+(\.\w+)*"), "decorator"),
            (QRegularExpression(r"[rfbRFB]?\"[^\"\\n]*\"|[rfbRFB]?'[^'\\n]*'"), "string"),
            (QRegularExpression(r"#[^\n]*"), "comment"),
        ]
        self.triple = QRegularExpression(r'"""|' + r"'''")

    @staticmethod
    def _format(colour: str, bold: bool = False) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setForeground(QColor(colour))
        if bold:
            fmt.setFontWeight(QFont.Weight.DemiBold)
        return fmt

    def highlightBlock(self, text: str) -> None:
        for pattern, kind in self.rules:
            matches = pattern.globalMatch(text)
            while matches.hasNext():
                match = matches.next()
                self.setFormat(match.capturedStart(), match.capturedLength(), self.formats[kind])
        self._triple_quotes(text)

    def _triple_quotes(self, text: str) -> None:
        """Block state 1: inside a triple-quoted string that started on an earlier line."""
        self.setCurrentBlockState(0)
        start = 0
        inside = self.previousBlockState() == 1
        while True:
            if not inside:
                opening = self.triple.match(text, start)
                if not opening.hasMatch():
                    return
                begin, start = opening.capturedStart(), opening.capturedEnd()
            else:
                begin = start
            closing = self.triple.match(text, start)
            if not closing.hasMatch():
                self.setFormat(begin, len(text) - begin, self.formats["string"])
                self.setCurrentBlockState(1)
                return
            end = closing.capturedEnd()
            self.setFormat(begin, end - begin, self.formats["string"])
            start, inside = end, False


# --------------------------------------------------------------------------- the worker


def generate_code(spec) -> tuple[str, str]:
    """``(code, "")`` for a spec that builds, or ``("", one-line error)``."""
    from explorer.core.builder import ShapeError
    from explorer.core.spec import SpecError
    from explorer.export import ExportError, export_pytorch

    try:
        return export_pytorch(spec), ""
    except (SpecError, ShapeError, ExportError) as exc:
        return "", str(exc)


class CodeView(QWidget):
    """Read-only, highlighted PyTorch code of a network, with a Copy button.

    Signals
    -------
    updated(int) : the code of that generation is shown (or its error).
    """

    updated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.generation = 0
        self.shown_generation = 0
        self.error = ""
        self._spec = None
        self._requested = 0

        self.editor = QPlainTextEdit()
        self.editor.setObjectName("code_editor")
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        dark = self.palette().base().color().lightness() < 128
        self.highlighter = PythonHighlighter(self.editor.document(), dark=dark)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the whole module to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(self.copy_button)
        box = QVBoxLayout(self)
        box.setContentsMargins(2, 2, 2, 2)
        box.addLayout(bar)
        box.addWidget(self.editor)

        self.jobs = LatestJobs("code-view", self)
        self.jobs.result.connect(lambda _key, generation, value: self._show(generation, *value))
        self.jobs.error.connect(lambda _key, generation, text: self._show(generation, "", text))

    # ----------------------------------------------------------------- public
    def set_spec(self, spec) -> None:
        """Show the code of ``spec`` (an immutable ArchitectureSpec, or None) soon.

        Generation happens when the view is visible; hidden, only the spec is remembered.
        """
        self.generation += 1
        self._spec = spec
        if self.isVisible():
            self._request()

    def code(self) -> str:
        return self.editor.toPlainText()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code())
        self.status.setText("Copied to the clipboard.")

    def shutdown(self) -> None:
        """Drop pending work and join the thread (bounded: a generation that outlives the
        wait is abandoned)."""
        self.jobs.stop()

    # ----------------------------------------------------------------- internals
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._requested != self.generation:
            self._request()

    def _request(self) -> None:
        self._requested = self.generation
        if self._spec is None:
            self._show(self.generation, "", "torchvision models are shown read-only and have "
                       "no code export")
            return
        self.jobs.submit(generate_code, self._spec, generation=self.generation)

    def _show(self, generation: int, code: str, error: str) -> None:
        self.shown_generation = generation
        self.error = error
        if error:
            stale = " The code below is of the last version that built." if self.code() else ""
            self.status.setText(f"<b>Does not build yet:</b> {html.escape(error)}.{stale}")
            self.editor.setEnabled(bool(self.code()))
        else:
            bar = self.editor.verticalScrollBar()
            position = bar.value()
            self.editor.setPlainText(code)
            bar.setValue(position)
            self.editor.setEnabled(True)
            classes = len(re.findall(r"^class ", code, re.MULTILINE))
            self.status.setText(f"{classes} classes, {code.count(chr(10))} lines — the code "
                                "<tt>explorer export --format pytorch</tt> writes")
        self.updated.emit(generation)


# --------------------------------------------------------------------------- the window


EXPORTS = (
    ("pytorch", "Export as &PyTorch code…", "Python module (*.py)", "{name}.py"),
    ("script", "Export &training script…", "Python script (*.py)", "train_{name}.py"),
    ("onnx", "Export &ONNX…", "ONNX model (*.onnx)", "{name}.onnx"),
)


def install(window) -> CodeView:
    """Add the Code view (a tab beside the diagram) and the File menu's export entries to ``window``."""
    from PySide6.QtGui import QAction

    view = CodeView()
    view.setObjectName("code_view")
    window.add_view("Code", view, "build")
    window.document.changed.connect(lambda: view.set_spec(_exportable(window)))
    if window.document.spec is not None:
        view.set_spec(_exportable(window))

    menu = window.menu("&File")
    quit_action = next((a for a in menu.actions() if a.text().replace("&", "") == "Quit"), None)
    before = quit_action
    actions = menu.actions()
    if quit_action is not None and actions.index(quit_action) > 0 \
            and actions[actions.index(quit_action) - 1].isSeparator():
        before = actions[actions.index(quit_action) - 1]
    window.export_actions = {}
    for fmt, text, pattern, default in EXPORTS:
        action = QAction(text, window)
        action.setObjectName(f"export_{fmt}")
        action.triggered.connect(
            lambda _checked=False, f=fmt, p=pattern, d=default: export_dialog(window, f, p, d))
        menu.insertAction(before, action)
        window.export_actions[fmt] = action
    menu.insertSeparator(before)

    exports: list[QThread] = []
    window._code_exports = exports
    previous = window.shutdown

    def shutdown() -> None:
        view.shutdown()
        for task in exports:
            task.wait()
        previous()

    window.shutdown = shutdown
    return view


def _exportable(window):
    doc = window.document
    return None if getattr(doc, "read_only", False) else doc.spec


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "network"


def export_dialog(window, fmt: str, pattern: str, default: str) -> None:
    """Ask where to write the export of the current network, then write it off the GUI
    thread; errors are shown in a dialog, success in the status bar."""
    from explorer.ui.background import Task

    spec = _exportable(window)
    if spec is None:
        window.show_error("Nothing to export", "This network cannot be exported: torchvision "
                          "models are shown read-only.")
        return
    folder = window.document.path.parent if window.document.path else Path.cwd()
    suggested = str(folder / default.format(name=_safe_name(spec.name)))
    title = next(text for f, text, _, _ in EXPORTS if f == fmt).replace("&", "").rstrip("…")
    path, _ = QFileDialog.getSaveFileName(window, title, suggested, pattern)
    if not path:
        return
    task = Task(lambda: _write(spec, fmt, path), f"export-{fmt}", window)
    task.done.connect(lambda result: _exported(window, result))
    task.error.connect(lambda text: window.show_error("Export failed", text))
    window._code_exports.append(task)
    task.finished.connect(lambda t=task: window._code_exports.remove(t)
                          if t in window._code_exports else None)
    window.status_message(f"Exporting {spec.name}…")
    task.start()


def _write(spec, fmt: str, path: str) -> tuple[bool, str]:
    """Run on the worker: ``(True, files written)`` or ``(False, the one-line reason)``."""
    from explorer.core.builder import ShapeError
    from explorer.core.spec import SpecError
    from explorer.export import ExportError, write_export

    try:
        written = write_export(spec, fmt, path)
    except (SpecError, ShapeError, ExportError) as exc:
        return False, f"{spec.name} cannot be exported: {exc}"
    except OSError as exc:
        return False, f"{path} cannot be written: {exc.strerror or exc}"
    return True, ", ".join(str(p) for p in written)


def _exported(window, result: tuple[bool, str]) -> None:
    ok, text = result
    if ok:
        window.status_message(f"Exported to {text}")
    else:
        window.show_error("Export failed", text)
