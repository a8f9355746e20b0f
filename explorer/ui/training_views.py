"""Training, curves, runs, feature maps, the digit canvas and the confusion matrix, wired into
the main window through its public API only (``add_view``, ``menu``, ``document``,
``status_message``).

:func:`install_training_views` creates the views (in the Train & look workspace) and the
Train menu, and returns the :class:`TrainingController` that connects them to the workers.
The window asks before closing during a run (:meth:`TrainingController.active_run`), then
calls :meth:`TrainingController.shutdown`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QLabel,
    QMessageBox,
    QScrollArea,
    QWidget,
)

from explorer.files import ensure_suffix
from explorer.training.monitor import RunMonitor
from explorer.ui.background import LatestJobs
from explorer.ui.training_runner import ModelCache, TrainingRunner, TrainJob
from explorer.ui.widgets.canvas import CanvasView
from explorer.ui.widgets.confusion import ConfusionView
from explorer.ui.widgets.curves import CurvesView
from explorer.ui.widgets.feature_maps import DRAWING, FeatureMapsView, compute_feature_maps
from explorer.ui.widgets.runs import RunsView
from explorer.ui.widgets.training_panel import TrainingPanel

BUNDLED_LABEL = "the bundled digit model (course-resnet, 98.6 % on the sample's test digits)"


def _bundled(cache):
    """The bundled digit model's snapshot, loaded once per worker thread."""
    snapshot = getattr(cache, "bundled", None)
    if snapshot is None:
        from explorer.training.analysis import Snapshot
        from explorer.training.checkpoint import load_checkpoint
        from explorer.training.predict import default_model_path

        snapshot = Snapshot.of_checkpoint(load_checkpoint(default_model_path()), BUNDLED_LABEL)
        cache.bundled = snapshot
    return snapshot


def _predict(cache, snapshot, pixels):
    from explorer.training.analysis import predict_drawing

    snapshot = snapshot or _bundled(cache)
    return predict_drawing(cache.model(snapshot), snapshot, pixels)


def _feature_maps(cache, snapshot, picture, layer):
    return compute_feature_maps(cache, snapshot or _bundled(cache), picture, layer)


def _load_run(cache, sidecar: str, label: str):
    from explorer.training.analysis import Snapshot
    from explorer.training.checkpoint import load_checkpoint

    return Snapshot.of_checkpoint(load_checkpoint(sidecar), label)


def _scrollable(view: QWidget, sideways: bool = True) -> QScrollArea:
    """``view`` in a frameless scroll area, so that its minimum size (the canvas is a fixed
    280 pixels) does not become the window's; ``sideways=False``: vertical scrolling only."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    if not sideways:
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        area.setMinimumWidth(view.minimumSizeHint().width()
                             + area.verticalScrollBar().sizeHint().width())
    area.setWidget(view)
    return area


class TrainingController(QObject):
    """Connects the training views, the document and the workers; owns no widgets' logic."""

    def __init__(self, window, runs_root: Path | None = None) -> None:
        super().__init__(window)
        from explorer.training.runs import runs_folder

        self.window = window
        self.document = window.document
        self.runs_root = Path(runs_root) if runs_root is not None else runs_folder()
        self.runner = TrainingRunner(self)
        self.inference = LatestJobs("inference", self)
        self.models = ModelCache()  # used on the inference thread only
        self.panel = TrainingPanel()
        self.curves = CurvesView()
        self.runs = RunsView(self.runs_root)
        self.feature_maps = FeatureMapsView()
        self.canvas = CanvasView()
        self.confusion = ConfusionView()
        self.views = {
            key: window.add_view(title, _scrollable(view, area != "train"), area)
            for key, title, view, area in (
                ("training", "Training", self.panel, "train"),
                ("curves", "Curves", self.curves, "look"),
                ("canvas", "Draw", self.canvas, "look"),
                ("feature_maps", "Feature maps", self.feature_maps, "look"),
                ("confusion", "Confusion", self.confusion, "look"),
                ("runs", "Runs", self.runs, "look"))
        }
        self.run_status = QLabel("")
        self.run_status.setObjectName("run_status")
        window.statusBar().insertPermanentWidget(0, self.run_status)
        self.monitor: RunMonitor | None = None
        self.snapshot = None  # the newest weights of the network being trained or loaded
        self.weights: tuple[Path, object] | None = None  # checkpoint exports offer, its spec
        self._loading_weights: Path | None = None
        self.job: TrainJob | None = None
        self.test_images = None
        self._drawing = None
        self._status_timer = QTimer(self)   # the status bar follows batches at most 4× a second
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(250)
        self._status_timer.timeout.connect(self._follow_run)
        self._menu()
        self._connect()
        self.canvas.set_source(BUNDLED_LABEL)
        self._document_changed()

    # ----------------------------------------------------------------- wiring

    def _menu(self) -> None:
        menu = self.window.menu("&Train")
        menu.addAction(self.panel.start_action)
        menu.addAction(self.panel.pause_action)
        menu.addAction(self.panel.stop_action)
        menu.addSeparator()
        export_png = menu.addAction("Export curves as &PNG…")
        export_png.triggered.connect(self._export_png)
        export_csv = menu.addAction("Export metrics as &CSV…")
        export_csv.triggered.connect(self._export_csv)

    def _connect(self) -> None:
        panel, runner = self.panel, self.runner
        panel.start_requested.connect(self.start)
        panel.pause_requested.connect(runner.pause)
        panel.resume_requested.connect(runner.resume)
        panel.stop_requested.connect(self.stop)
        panel.editors["init"].activated.connect(self._init_chosen)
        runner.event.connect(self._on_event)
        runner.snapshot.connect(self._on_snapshot)
        runner.data_ready.connect(self._on_data)
        runner.confusion_ready.connect(self._on_confusion)
        runner.failed.connect(self._on_failed)
        runner.cancelled.connect(self._on_cancelled)
        runner.loading.connect(panel.on_loading)
        runner.running_changed.connect(  # the panel no longer says "Training …" once it ended
            lambda running: None if running else self._document_changed())
        self.inference.result.connect(self._on_result)
        self.inference.error.connect(self._on_error)
        self.canvas.drawing_changed.connect(self._on_drawing)
        self.canvas.canvas.stroke_finished.connect(self._drawing_finished)
        self.feature_maps.requested.connect(self._request_features)
        self.runs.show_curves.connect(self._show_run)
        self.runs.load_weights.connect(self.open_run)
        self.document.changed.connect(self._document_changed)

    def show_view(self, key: str) -> None:
        """Bring the view ``key`` (``"curves"``, ``"canvas"``…) forward."""
        self.window.show_view(self.views[key])

    # ----------------------------------------------------------------- training

    def start(self) -> None:
        """Freeze the current network and the form, and start a run."""
        from explorer.training.runs import default_run_dir

        if self.runner.running:
            return
        try:
            config, _init = self.panel.job_settings()
        except ValueError:
            return
        self.panel.batch_size = config.batch_size
        spec = self._network_to_train(config)
        if spec is None:
            return
        label = f"{spec.name}, run of {datetime.now():%H:%M:%S}"
        self.runs_root.mkdir(parents=True, exist_ok=True)
        run_dir = default_run_dir(spec.name, root=self.runs_root)
        self.runs.set_running(run_dir)
        self.job = TrainJob(spec, config, run_dir, label, self.document.generation)
        self.curves.start_run(config.epochs, config.lr)
        self.panel.set_state("loading")
        self.panel.progress.setFormat("loading the data set…")
        self.monitor = RunMonitor(label, config.batch_size)
        self.runner.start(self.job)
        self._document_changed()
        self._follow_run()
        self.show_view("curves")
        self.window.status_message(f"Training {label} on {config.dataset}")

    def _network_to_train(self, config):
        """The spec shown, or the network of the Python file shown (imported in the training
        worker); ``None`` after showing why there is none."""
        from explorer.training import TrainError
        from explorer.training.config import resolve_device
        from explorer.training.memory import check_summary_fits

        files = self.window.python_files
        if files is not None and files.view is not None:
            try:
                network = files.network_to_train()
                check_summary_fits(network.name, files.report.summary, config,
                                   resolve_device(config.device))
            except (ValueError, TrainError) as exc:
                self.panel.show_error(f"Cannot train {files.view.name}: {exc}")
                return None
            return network
        if self.document.read_only or self.document.spec is None:
            self.panel.show_error("This network is shown read-only and cannot be trained "
                                  "here; open a preset or build one (a build-along step: Edit "
                                  "from here) to train it.")
            return None
        return self.document.spec

    def stop(self) -> None:
        self.runner.stop()
        if self.runner.running:
            self.panel.set_state("stopping")
            self.panel.progress.setFormat("stopping after this batch…")

    def _init_chosen(self) -> None:
        init = self.panel.value("init")
        spec = self.document.spec
        if spec is not None and spec.init != init:
            self.document.edit(f"Set initialisation to {init}",
                               dataclasses.replace(spec, init=init))

    def _follow_run(self) -> None:
        """The status bar, the title and the Train & look tab say how far the run is."""
        monitor = self.monitor
        if monitor is None:
            return
        if monitor.running:
            self.run_status.setText(monitor.status_text())
            self.window.set_activity(monitor.short_text())
            return
        self.run_status.setText(monitor.end_text())   # stays until the next run
        self.window.set_activity("")
        QApplication.alert(self.window)

    def _on_event(self, event) -> None:
        name = type(event).__name__
        self.panel.on_event(event)
        if self.monitor is not None:
            self.monitor.update(event)
            if name != "BatchEnd" or not self._status_timer.isActive():
                self._follow_run()
                self._status_timer.start()
        if name == "BatchEnd":
            self.curves.add_batch(event)
        elif name == "EpochEnd":
            self.curves.add_epoch(event)
        elif name in ("Started", "CheckpointSaved") and self.job is not None:
            self.runs.add_session_run(self.job.run_dir)
        elif name == "Finished":
            self.runs.running = None
            if self.job is not None and self.job.run_dir.exists():
                self.runs.add_session_run(self.job.run_dir)
                self.runs.select_run(self.job.run_dir)
                best = self.job.run_dir / "best.json"
                if best.is_file():
                    self.weights = (best, self.job.spec)
            QTimer.singleShot(0, self._document_changed)

    def _on_failed(self, message: str) -> None:
        self.runs.set_running(None)
        self.panel.on_failed(message)
        self._run_over(f"Training could not run: {message}")

    def _on_cancelled(self) -> None:
        self.runs.set_running(None)
        self.panel.set_state("idle")
        self.panel.progress.setFormat("stopped while loading the data set")
        self._run_over("Training stopped before it began")

    def _run_over(self, text: str) -> None:
        self.monitor = None
        self.run_status.setText(text)
        self.window.set_activity("")

    def _on_snapshot(self, snapshot) -> None:
        self.snapshot = snapshot
        self.canvas.set_source(snapshot.label)
        self._predict()
        self.feature_maps.refresh()

    def _on_data(self, info) -> None:
        self.test_images = info
        self.feature_maps.set_test_images(info.images, info.labels, info.classes)

    def _on_confusion(self, ready) -> None:
        self.confusion.set_confusion(ready.label, ready.confusion, ready.images)

    def _document_changed(self) -> None:
        spec = self.document.spec
        view = self.document.view
        if view is not None and hasattr(view, "request"):
            what = f"{view.name} (the file as last inspected)"
        elif spec is None or self.document.read_only:
            what = "nothing (the network shown is read-only)"
        else:
            what = f"{spec.name} as it is now"
            self.panel.set_init(spec.init)
        if self.runner.running and self.job is not None:
            text = f"Training {self.job.label}: a copy of the network as it was at the start."
            if self.job.generation != self.document.generation:
                text += " The network was edited since; the run is not affected."
            self.panel.set_network(text)
        else:
            self.panel.set_network(f"Start (F5) trains {what}.")

    # ----------------------------------------------------------------- canvas, maps

    def _submit(self, kind: str, fn, *args) -> None:
        """Run ``fn(models, *args)`` on the inference thread; only the newest result of a
        kind is delivered."""
        self.inference.submit(fn, self.models, *args, key=kind)

    def _on_drawing(self, pixels) -> None:
        self._drawing = pixels
        self._predict()

    def _predict(self) -> None:
        if self._drawing is not None:
            self._submit("predict", _predict, self.snapshot, self._drawing)

    def _drawing_finished(self) -> None:
        if self.feature_maps.input_key() == DRAWING:
            self.feature_maps.refresh()

    def _request_features(self, key: str, layer: str) -> None:
        if key == DRAWING:
            picture = self._drawing
        else:
            index = int(key.split(":", 1)[1])
            picture = self.test_images.images[index] if self.test_images is not None else None
        self._submit("features", _feature_maps, self.snapshot, picture, layer or None)

    def _on_result(self, kind: str, _generation: int, value) -> None:
        if kind == "predict":
            self.canvas.set_prediction(value)
        elif kind == "features":
            self.feature_maps.set_result(value)
        elif kind == "load":
            self._loaded(value)

    def _on_error(self, kind: str, _generation: int, message: str) -> None:
        if kind == "load":
            self.runs.show_message(message)
            QMessageBox.warning(self.window, "Cannot load the weights", message)
        else:
            self.window.status_message(f"{kind}: {message}")

    # ----------------------------------------------------------------- runs

    def _show_run(self, info) -> None:
        from explorer.training.runs import read_metrics

        if self.runner.running:
            self.runs.show_message("The curves show the run in progress; stop it to see "
                                   "another run's curves.")
            return
        self.curves.set_history(read_metrics(info.path))
        self.runs.show_message(f"Curves of {info.title}")
        self.show_view("curves")

    def open_run(self, info) -> None:
        """Open a run's network with its best weights (a RunInfo with a best checkpoint)."""
        if not self.window.maybe_save():  # it replaces the network, as File › Open does
            return
        label = f"{info.name} from run {info.path.name} (best)"
        self._loading_weights = Path(info.best)
        self._submit("load", _load_run, str(info.best), label)

    def _loaded(self, snapshot) -> None:
        self.document.open_spec(snapshot.spec)
        self.snapshot = snapshot
        self.weights = (self._loading_weights, snapshot.spec)
        self.canvas.set_source(snapshot.label)
        self.runs.show_message(f"Opened {snapshot.spec.name} with its best weights "
                               f"(epoch {snapshot.epoch}).")
        self.window.status_message(f"Loaded {snapshot.label}")
        self._predict()
        self.feature_maps.refresh()

    # ----------------------------------------------------------------- export

    def export_weights(self, spec) -> tuple[Path, str, bool] | None:
        """The trained weights File › Export can include for ``spec``: ``(checkpoint, the
        checkpoint in words, whether it fits spec)``; ``None`` when there are none."""
        from explorer.training.runs import describe_checkpoint

        if self.weights is None or not self.weights[0].is_file():
            return None
        checkpoint, trained = self.weights
        shape = ("blocks", "input_shape", "num_classes")  # what the weights depend on
        fits = all(getattr(trained, key) == getattr(spec, key) for key in shape)
        return checkpoint, describe_checkpoint(checkpoint), fits

    def _export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export curves", "curves.png",
                                              "PNG image (*.png)")
        if path:
            path = str(ensure_suffix(path, ".png"))
            self.curves.export_png(path)
            self.window.status_message(f"Curves saved to {path}")

    def _export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export metrics", "metrics.csv",
                                              "CSV table (*.csv)")
        if path:
            path = str(ensure_suffix(path, ".csv"))
            written = self.curves.export_csv(path)
            self.window.status_message("Metrics saved to " + ", ".join(map(str, written)))

    # ----------------------------------------------------------------- closing

    def active_run(self) -> str | None:
        """The run that closing would stop, in words, or ``None`` when none is training."""
        if not self.runner.running or self.panel.state not in ("loading", "running",
                                                               "paused", "stopping"):
            return None
        return self.job.label if self.job is not None else "A network"

    def shutdown(self) -> None:
        """Stop the run and end the worker threads, each wait bounded: a thread still busy
        (a long batch) is left to end by itself, disconnected from the window."""
        self.runner.shutdown()
        self.inference.stop()
        self.runs.shutdown()
        self.curves.timer.stop()
        self._status_timer.stop()


def install_training_views(window, runs_root: Path | None = None) -> TrainingController:
    """Add the training views and the Train menu to ``window`` (a MainWindow)."""
    return TrainingController(window, runs_root)
