"""The lab in the window: gradient lab and depth experiment, run comparison, architecture
diff, and Edit ▸ Expand into layers — wired through the window's public API only
(``add_view``, ``show_view``, ``menu``, ``document``, ``tree``, ``status_message``,
``training``).

Every computation (profiles, the experiment, run costs, diffs, the shapes an expansion needs)
runs on worker threads (:class:`~explorer.ui.background.LatestJobs`) on frozen inputs; a
result for an older request is dropped. The experiment streams its events through a queue
the GUI thread drains on a timer.
"""

from __future__ import annotations

import collections
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

from explorer.training.config import DEFAULT_DATASET
from explorer.ui.background import JobFailed, LatestJobs
from explorer.ui.widgets.arch_diff import ArchitectureDiffView
from explorer.ui.widgets.gradient_lab import GradientLabView, LabSource
from explorer.ui.widgets.run_compare import RunCompareView, run_data

DEBOUNCE_MS = 250
POLL_MS = 100
STOP_WAIT_S = 120.0
"""How long closing waits for the experiment to end its batch (a plain56 batch takes ~1 s)."""


# --------------------------------------------------------------------------- jobs (worker)


class _Datasets:
    """Data sets loaded once, in the worker thread that uses them."""

    def __init__(self) -> None:
        self._loaded: dict[str, object] = {}

    def get(self, name: str):
        from explorer.data import DataError, load_dataset

        if name not in self._loaded:
            try:
                self._loaded[name] = load_dataset(name)
            except DataError as exc:
                raise JobFailed(str(exc)) from None
        return self._loaded[name]


def _profile(datasets: _Datasets, source: LabSource, current, batch: int, seed: int):
    """A :class:`GradientProfile` of one side of the lab."""
    from explorer.core.presets import preset_spec
    from explorer.training.gradients import gradient_profile

    state = mean = std = None
    dataset_name = DEFAULT_DATASET
    if source.kind == "current":
        if current is None:
            raise JobFailed("the network shown is read-only; pick a preset or a run")
        spec = current
    elif source.kind == "preset":
        spec = preset_spec(source.name)
    else:
        spec, state, mean, std, dataset_name = _run_weights(source)
    try:
        return gradient_profile(spec, datasets.get(dataset_name), batch=batch, seed=seed,
                                state=state, mean=mean, std=std,
                                label=source.label or spec.name, epoch=source.epoch)
    except ValueError as exc:  # a GradientError among them
        raise JobFailed(f"{source.label or spec.name}: {exc}") from None


def _run_weights(source: LabSource):
    from explorer.training.checkpoint import CheckpointError, load_checkpoint
    from explorer.training.sources import SourceError, resolve_network

    try:
        network = resolve_network(source.name)
    except SourceError as exc:
        raise JobFailed(str(exc)) from None
    dataset = network.run.config.get("dataset") or DEFAULT_DATASET
    if source.weights is None:
        return network.spec, None, None, None, dataset
    try:
        checkpoint = load_checkpoint(source.weights)
    except CheckpointError as exc:
        raise JobFailed(str(exc)) from None
    return (checkpoint.spec, checkpoint.model.state_dict(), checkpoint.mean, checkpoint.std,
            dataset)


def _lab_choices(root: Path, extra: list[Path]):
    """Presets, and the runs with the weights each offers: ``(folder, title, choices)``."""
    from explorer.core.registry import list_presets
    from explorer.training.runs import all_runs, run_weights

    return ([p.name for p in list_presets()],
            [(str(r.path), f"{r.name} ({r.path.name})", run_weights(r))
             for r in all_runs([root], extra)])


def _compare_runs(root: Path, extra: list[Path]):
    from explorer.training.runs import all_runs

    return [run_data(info) for info in all_runs([root], extra)]


def _side_spec(choice: tuple[str, str], current, saved: Path | None):
    """The architecture one side of the diff names."""
    from explorer.core.presets import preset_spec
    from explorer.core.spec import SpecError, load_spec
    from explorer.training.sources import SourceError, resolve_network

    kind, value = choice
    try:
        if kind == "current":
            if current is None:
                raise JobFailed("the network shown is read-only and has no blocks to compare")
            return current
        if kind == "saved":
            if saved is None:
                raise JobFailed("the network has not been saved yet: there is no saved version")
            return load_spec(saved)
        if kind == "preset":
            return preset_spec(value)
        return resolve_network(value).spec
    except (SpecError, SourceError, KeyError) as exc:
        raise JobFailed(str(exc).strip("'\"")) from None


def _diff(old_choice, new_choice, current, saved):
    from explorer.core.diff import compare_architectures

    return compare_architectures(_side_spec(old_choice, current, saved),
                                 _side_spec(new_choice, current, saved))


def _expanded(spec, path):
    """``spec`` with the block at ``path`` opened up (its input shape from a meta build)."""
    from explorer.core.builder import build_partial
    from explorer.core.expand import ExpandError, expand_at

    shape = build_partial(spec, device="meta").in_shapes.get(tuple(path))
    if shape is None:
        raise JobFailed("this block is not built yet (a block before it does not fit): fix "
                        "that first")
    try:
        return expand_at(spec, path, shape)
    except ExpandError as exc:
        raise JobFailed(str(exc)) from None


def _experiment(control, queue, epochs: int, dataset_name: str, root: Path, options: dict):
    """Run the depth experiment, handing every event to ``queue``; return its end.

    ``options``: ``networks``, ``input_shape``, ``profile_batch`` for the experiment and
    training settings (``max_batches_per_epoch`` …) — a smaller experiment, for tests.
    """
    from explorer.data import DataError, LoadCancelled, load_dataset
    from explorer.training.experiment import (
        ExperimentDone,
        depth_experiment,
        experiment_config,
    )

    options = dict(options)
    shape = {k: options.pop(k) for k in ("networks", "input_shape", "profile_batch")
             if k in options}
    try:
        config = experiment_config(dataset_name, epochs, **options)
        dataset = load_dataset(dataset_name, cancel=lambda: control.stopped)
    except LoadCancelled:  # stopped before any network began
        return ExperimentDone((), True, "")
    except (DataError, ValueError) as exc:
        raise JobFailed(str(exc)) from None
    root.mkdir(parents=True, exist_ok=True)
    done = None
    for event in depth_experiment(config, dataset, root, control=control, **shape):
        queue.append(event)
        done = event
    return done


# --------------------------------------------------------------------------- the controller


def _scrollable(view: QWidget) -> QScrollArea:
    """``view`` in a frameless scroll area, so that its minimum size does not become the
    window's (a maximized window on a small screen, or a window made narrow)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(view)
    return area


class LabController(QObject):
    """Connects the lab's views to the document, the runs and the workers."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.document = window.document
        training = window.training
        self.runs_root = training.runs_root if training is not None else None
        if self.runs_root is None:
            from explorer.training.runs import runs_folder

            self.runs_root = runs_folder()
        self.jobs = LatestJobs("lab", self)  # runs, diffs, choices, expansions: quick ones
        self.profile_jobs = LatestJobs("lab-gradients", self)  # a plain56 profile takes ~1 s
        self.datasets = _Datasets()
        self.control = None
        self.queue: collections.deque = collections.deque()
        self.experiment_jobs = LatestJobs("experiment", self, interrupt=self._stop_requested)
        self.experiment_options: dict = {}
        """Passed to the experiment (a smaller one for tests: networks, input_shape …)."""
        self.gradients = GradientLabView()
        self.compare = RunCompareView()
        self.diff = ArchitectureDiffView()
        self.views = {key: view for key, view in (
            ("gradients", self.gradients), ("compare", self.compare), ("diff", self.diff))}
        self.tabs = {key: window.add_view(title, _scrollable(self.views[key]), area)
                     for key, title, area in (("gradients", "Gradient lab", "look"),
                                              ("compare", "Compare runs", "look"),
                                              ("diff", "Diff", "build"))}
        self._timers = {name: self._debounced(slot) for name, slot in (
            ("profiles", self._request_profiles), ("diff", self._request_diff),
            ("runs", self._request_runs), ("choices", self._request_choices))}
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self._drain)
        self._shown: dict[int, tuple] = {}
        self._choices: tuple[list[str], list] | None = None
        """The presets and runs last read, ``(presets, runs)``; read again when a lab view
        comes forward, the comparison reads the runs, or a run ends."""
        self._menus()
        self._connect()
        from explorer.data import list_sources

        self.gradients.set_datasets(list_sources())
        self.diff.old_side.fill([], [], False, ("current", ""))
        self.diff.new_side.fill([], [], False, ("current", ""))
        self._timers["choices"].start()

    def _debounced(self, slot) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(DEBOUNCE_MS)
        timer.timeout.connect(slot)
        return timer

    # ----------------------------------------------------------------- wiring

    def _menus(self) -> None:
        menu = self.window.menu("&Lab")
        for title, key in (("&Gradient lab", "gradients"), ("Compare &runs", "compare"),
                           ("&Diff architectures", "diff")):
            menu.addAction(title).triggered.connect(lambda _=False, k=key: self.show_view(k))
        menu.addSeparator()
        self.experiment_action = menu.addAction("Run the &depth experiment")
        self.experiment_action.setStatusTip("Train plain20, plain56, resnet20 and resnet56 "
                                            "alike and overlay their curves")
        self.experiment_action.triggered.connect(self._experiment_from_menu)
        edit = self.window.menu("&Edit")
        self.expand_action = edit.addAction("E&xpand into layers")
        self.expand_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.expand_action.setStatusTip("Open the selected Inception, residual or dense block "
                                        "into containers and layers you can edit")
        self.expand_action.triggered.connect(self.expand_selected)
        self.window.tree.addAction(self.expand_action)
        self._update_expand()

    def _connect(self) -> None:
        g = self.gradients
        g.requested.connect(self._timers["profiles"].start)
        g.experiment_requested.connect(self.start_experiment)
        g.cancel_requested.connect(self.cancel_experiment)
        self.compare.refresh_requested.connect(self._timers["runs"].start)
        self.compare.diff_runs.connect(self.diff_runs)
        self.compare.open_run.connect(self._open_run)
        self.diff.requested.connect(self._timers["diff"].start)
        for jobs in (self.jobs, self.profile_jobs):
            jobs.result.connect(self._on_result)
            jobs.error.connect(self._on_error)
        self.experiment_jobs.result.connect(self._experiment_done)
        self.experiment_jobs.error.connect(self._experiment_failed)
        self.document.changed.connect(self._document_changed)
        self.document.savedTo.connect(lambda _path: self._timers["choices"].start())
        self.window.tree.blockSelected.connect(lambda _path: self._update_expand())
        for key, view in self.views.items():
            view.shown.connect(lambda k=key: self._view_shown(k))
        if self.window.training is not None:
            self.window.training.runner.event.connect(self._training_event)

    def show_view(self, key: str) -> None:
        self.window.show_view(self.tabs[key])
        self._view_shown(key)

    def _visible(self, key: str) -> bool:
        return self.views[key].isVisible()

    def _view_shown(self, key: str) -> None:
        """A view came forward: bring what it shows up to date, and the runs it offers (a
        run may have been made or deleted elsewhere: the command line, another window)."""
        {"gradients": self._timers["profiles"], "compare": self._timers["runs"],
         "diff": self._timers["diff"]}[key].start()
        self._timers["choices"].start()

    def _document_changed(self) -> None:
        self._update_expand()
        if any(s.kind == "current" for s in self.gradients.sources()) and \
                self._visible("gradients"):
            self._timers["profiles"].start()
        if "current" in (c[0] for c in self.diff.sides()) and self._visible("diff"):
            self._timers["diff"].start()
        if self._choices is not None:
            self._fill_diff_sides(*self._choices)

    def _training_event(self, event) -> None:
        if type(event).__name__ == "Finished":
            self._timers["choices"].start()
            self._timers["runs"].start()

    # ----------------------------------------------------------------- jobs

    def _session_runs(self) -> list[Path]:
        training = self.window.training
        return list(training.runs.session_runs) if training is not None else []

    def _request_choices(self) -> None:
        self.jobs.submit(_lab_choices, self.runs_root, self._session_runs(), key="choices")

    def _request_profiles(self) -> None:
        current = self.document.spec
        batch, seed = self.gradients.batch.value(), self.gradients.seed.value()
        for side, source in enumerate(self.gradients.sources()):
            request = (source, current if source.kind == "current" else None, batch, seed)
            if self._shown.get(side) == request:
                continue
            self._shown[side] = request
            self.gradients.show_busy("computing gradients on one batch…")
            self.profile_jobs.submit(_profile, self.datasets, source, request[1], batch, seed,
                                     key=f"profile{side}")

    def _request_runs(self) -> None:
        self.jobs.submit(_compare_runs, self.runs_root, self._session_runs(), key="runs")
        self._timers["choices"].start()  # the runs the comparison lists can be diffed

    def _request_diff(self) -> None:
        old, new = self.diff.sides()
        self.diff.summary.setText("comparing…")
        self.jobs.submit(_diff, old, new, self.document.spec, self.document.path, key="diff")

    def _on_result(self, key: str, _generation: int, value) -> None:
        if key.startswith("profile"):
            self.gradients.set_profile(int(key[-1]), value)
        elif key == "choices":
            self._fill_choices(*value)
        elif key == "runs":
            self.compare.set_runs(value)
        elif key == "diff":
            self.diff.set_diff(value)
        elif key == "expand":
            self._apply_expansion(*value)

    def _on_error(self, key: str, _generation: int, message: str) -> None:
        if key.startswith("profile"):
            side = int(key[-1])
            self._shown.pop(side, None)
            self.gradients.set_profile(side, None)
            self.gradients.show_busy(message)
        elif key == "diff":
            self.diff.show_message(message)
        elif key == "expand":
            self.window.status_message(f"Cannot expand: {message}")
        else:
            self.window.status_message(f"{key}: {message}")

    def _fill_choices(self, presets: list[str], runs: list) -> None:
        first = self._choices is None
        self._choices = (presets, runs)
        self.gradients.set_choices(presets, runs)
        self._fill_diff_sides(presets, runs, first)
        if self._visible("gradients"):
            self._timers["profiles"].start()

    def _fill_diff_sides(self, presets: list[str], runs: list, first: bool = False) -> None:
        """The diff's choices: whether the network has a saved file, and which preset it
        came from, change with the document; the runs only when they are read again."""
        titled = [(folder, title) for folder, title, _c in runs]
        saved = self.document.path is not None
        name = self.document.spec.name if self.document.spec is not None else ""
        default_old = ("saved", "") if saved else \
            (("preset", name) if name in presets else ("current", ""))
        self.diff.old_side.fill(presets, titled, saved, default_old)
        self.diff.new_side.fill(presets, titled, saved, ("current", ""))
        if first:
            self.diff.old_side.set_choice(default_old)

    # ----------------------------------------------------------------- runs, diff

    def diff_runs(self, old, new) -> None:
        """Show the diff of two runs' networks."""
        self.diff.set_sides(("run", str(old.path)), ("run", str(new.path)))
        self.show_view("diff")

    def _open_run(self, info) -> None:
        if self.window.training is not None:
            self.window.training.open_run(info)

    # ----------------------------------------------------------------- expand

    def _update_expand(self) -> None:
        from explorer.core.edit import EditError, block_at
        from explorer.core.expand import can_expand

        path, spec = self.window.tree.current_path(), self.document.spec
        block = None
        if path is not None and spec is not None and not self.document.read_only:
            try:
                block = block_at(spec, path)
            except EditError:
                block = None
        self.expand_action.setEnabled(block is not None and can_expand(block))

    def expand_selected(self) -> bool:
        """Open the selected composite block up (the edit lands when its shapes are known)."""
        path, spec = self.window.tree.current_path(), self.document.spec
        if path is None or spec is None or not self.expand_action.isEnabled():
            return False
        generation = self.document.generation
        self.jobs.submit(lambda: (generation, path, _expanded(spec, path)), key="expand")
        return True

    def _apply_expansion(self, generation: int, path, new_spec) -> None:
        from explorer.core.edit import block_at

        if generation != self.document.generation:
            self.window.status_message("The network changed before the block was expanded; "
                                       "expand it again")
            return
        kind = block_at(self.document.spec, path).type
        self.document.edit(f"Expand {kind} into layers", new_spec)
        self.window.tree.select_block(path)
        self.window.tree.expand_path(path)
        self.window.status_message(f"Expanded {kind} into {block_at(new_spec, path).type}: "
                                   "same parameters, same outputs")

    # ----------------------------------------------------------------- experiment

    @property
    def experiment_running(self) -> bool:
        return self.control is not None

    def _experiment_from_menu(self) -> None:
        self.show_view("gradients")
        self.gradients.tabs.setCurrentIndex(1)
        g = self.gradients
        self.start_experiment(g.epochs.value(), g.dataset.currentText().strip())

    def start_experiment(self, epochs: int, dataset: str) -> None:
        from explorer.training import TrainControl

        if self.experiment_running:
            return
        self.control = TrainControl()
        self.queue.clear()
        self.gradients.experiment_started()
        self.experiment_jobs.submit(_experiment, self.control, self.queue, epochs,
                                    dataset or DEFAULT_DATASET, Path(self.runs_root),
                                    dict(self.experiment_options))
        self.poll.start()
        self.window.status_message("Depth experiment: plain20, plain56, resnet20, resnet56")

    def cancel_experiment(self) -> None:
        if self.control is not None:
            self.control.stop()
            self.gradients.progress.setText("stopping after this batch…")

    def _stop_requested(self) -> None:
        if self.control is not None:
            self.control.stop()

    def _drain(self) -> None:
        from explorer.training.experiment import Measured, Step

        while self.queue:
            event = self.queue.popleft()
            if isinstance(event, Measured):
                self.gradients.experiment_measured(event.network, event.profile)
            elif isinstance(event, Step):
                self.gradients.experiment_event(event.network, event.event)
                if type(event.event).__name__ == "Started":
                    self._activity(f"depth experiment: {event.network}")
                run_dir = getattr(event.event, "run_dir", None)
                if run_dir and self.window.training is not None:
                    self.window.training.runs.add_session_run(run_dir)

    def _experiment_done(self, _key, _generation, done) -> None:
        self._drain()
        self._end_experiment()
        self.gradients.experiment_finished(done)
        self._timers["runs"].start()
        self._timers["choices"].start()

    def _experiment_failed(self, _key, _generation, message: str) -> None:
        self._drain()
        self._end_experiment()
        self.gradients.experiment_finished(None, f"The experiment could not run: {message}")

    def _end_experiment(self) -> None:
        self.poll.stop()
        self.control = None
        self._activity("")

    def _activity(self, text: str) -> None:
        """Say in the title what the experiment is training (unless a training run does)."""
        training = self.window.training
        if training is not None and training.runner.running:
            return
        self.window.set_activity(text)

    # ----------------------------------------------------------------- closing

    def active_run(self) -> str | None:
        """What closing the window would stop, in words (the window's closing question), or
        ``None``."""
        return "The depth experiment" if self.experiment_running else None

    def shutdown(self) -> None:
        """Stop the experiment (after its batch) and every lab job; join their threads."""
        for timer in (*self._timers.values(), self.poll):
            timer.stop()
        self._stop_requested()
        self.experiment_jobs.stop(STOP_WAIT_S)
        self.jobs.stop()
        self.profile_jobs.stop()
        self.gradients.redraw_timer.stop()
        self.control = None


def install_lab_views(window) -> LabController:
    """Add the gradient lab, run comparison and diff views, the Lab menu and Edit ▸ Expand
    into layers to ``window`` (a MainWindow whose training views are installed)."""
    return LabController(window)

