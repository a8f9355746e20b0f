"""The lab in the window: gradient lab, depth experiment, run comparison, architecture diff and
Edit ▸ Expand into layers."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from ui_helpers import answer_dialog

from explorer.core.edit import block_at
from explorer.core.presets import preset_spec
from explorer.core.spec import ArchitectureSpec
from explorer.ui.widgets.gradient_lab import index_of

TIMEOUT = 60_000

DEEP = {"name": "deep", "input_shape": [1, 8, 8], "num_classes": 10, "blocks": [
    {"type": "group", "name": "body", "repeat": 6, "blocks": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "batch_norm2d"}, {"type": "relu"}]},
    {"type": "global_avg_pool"}, {"type": "flatten"},
    {"type": "linear", "out_features": "classes"}]}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # from the UI conftest


@pytest.fixture
def lab(window, qtbot):
    """The window's lab once its pickers are filled."""
    controller = window.lab
    qtbot.waitUntil(lambda: controller.gradients.pickers[0].network.count() > 1,
                    timeout=TIMEOUT)
    return controller


def _pick(picker, data) -> None:
    picker.network.setCurrentIndex(index_of(picker.network, data))


def test_gradient_lab_shows_two_networks_against_depth(qtbot, window, lab):
    window.document.open_spec(ArchitectureSpec.from_dict(DEEP))
    view = lab.gradients
    assert view.pickers[0].network.currentData() == ("preset", "plain56")
    assert view.pickers[1].network.currentData() == ("preset", "resnet56")
    view.batch.setValue(8)
    _pick(view.pickers[0], ("current", ""))
    _pick(view.pickers[1], ("preset", "lenet"))
    with qtbot.waitSignal(lab.profile_jobs.result, timeout=TIMEOUT,
                          check_params_cb=lambda key, *_: key == "profile1"):
        lab.show_view("gradients")
    qtbot.waitUntil(lambda: None not in view.profiles, timeout=TIMEOUT)
    deep, lenet = view.profiles
    assert deep.network == "deep" and len(deep.convolutions) == 6
    assert lenet.network == "lenet" and len(lenet.convolutions) == 2
    # overlay: one column of plots, each holding both networks' curves
    x, y = view.curves[0].getData()
    assert list(x) == [1, 2, 3, 4, 5, 6, 7]  # 6 convolutions and the linear layer
    assert 10 ** y == pytest.approx([r.grad_norm for r in view.rows(deep)])  # log scale
    assert f"gradient spread {deep.spread:,.1f}×" in view.status.text()
    assert "identity shortcuts" in view.explanation.text()
    view.batch_norm.setChecked(True)
    assert len(view.curves[0].getData()[0]) == 13
    view.overlay.setChecked(False)  # side by side: two columns
    assert view.plots.ci.getItem(0, 1) is not None and len(view.curves) == 4


def test_a_lab_view_brought_forward_through_the_window_brings_itself_up_to_date(window, lab):
    """As the View menu and a click on its tab do (the window's ``show_view``, not the lab's):
    the view's own show event starts the refresh of what it shows and of the runs offered,
    and no other."""
    refresh = {"gradients": "profiles", "compare": "runs", "diff": "diff"}
    for key, before in (("gradients", lab.tabs["compare"]), ("compare", lab.tabs["gradients"]),
                        ("diff", "Code")):
        window.show_view(before)  # another tab of the same area in front first
        for timer in lab._timers.values():
            timer.stop()
        window.show_view(lab.tabs[key])
        assert {name for name, timer in lab._timers.items() if timer.isActive()} \
            == {refresh[key], "choices"}, key
    for timer in lab._timers.values():
        timer.stop()


def test_expand_into_layers_keeps_the_counts_and_undoes(qtbot, window, lab):
    window.document.open_spec(preset_spec("course-inception"))
    qtbot.waitUntil(lambda: window.latest_summary.name == "course-inception", timeout=TIMEOUT)
    params = window.latest_summary.total_params
    window.tree.select_block((0,))
    window.tree.blockSelected.emit((0,))
    assert not lab.expand_action.isEnabled()  # a conv has nothing inside
    window.tree.select_block((3,))
    window.tree.blockSelected.emit((3,))
    assert lab.expand_action.isEnabled()
    generation = window.document.generation
    with qtbot.waitSignal(window.summary_ready, timeout=TIMEOUT):
        lab.expand_action.trigger()
        qtbot.waitUntil(lambda: window.document.generation > generation, timeout=TIMEOUT)
    block = block_at(window.document.spec, (3,))
    assert block.type == "parallel" and len(block.params["branches"]) == 4
    qtbot.waitUntil(lambda: window.latest_summary.total_params == params, timeout=TIMEOUT)
    assert window.document.undo_stack.undoText() == "Expand inception_a into layers"
    window.document.undo_stack.undo()
    assert block_at(window.document.spec, (3,)).type == "inception_a"


def _train_two_runs(root):
    from explorer.training import TrainConfig, train

    config = TrainConfig(epochs=1, batch_size=32, max_batches_per_epoch=2, device="cpu",
                         dataset="mnist-sample")
    from explorer.data import load_dataset

    data = load_dataset("mnist-sample")
    paths = []
    for name, width in (("narrow", 2), ("wide", 6)):
        spec = ArchitectureSpec.from_dict({**DEEP, "name": name, "blocks": [
            {"type": "conv2d", "out_channels": width, "kernel_size": 3}, *DEEP["blocks"][1:]]})
        for _event in train(spec, config, dataset=data, run_dir=root / name):
            pass
        paths.append(root / name)
    return paths


def test_compare_runs_then_diff_their_networks(qtbot, window, lab):
    narrow, wide = _train_two_runs(lab.runs_root)
    view = lab.compare
    with qtbot.waitSignal(lab.jobs.result, timeout=TIMEOUT,
                          check_params_cb=lambda key, *_: key == "runs"):
        lab.show_view("compare")
    assert [r.point.info.path for r in view.runs] in ([wide, narrow], [narrow, wide])
    assert view.table.topLevelItemCount() == 2 and len(view.checked()) == 2
    points = view.scatter.points()
    assert len(points) == 2
    # the wide network has more parameters: the narrow one is on the front at least
    front = {p.info.path for p in view.front}
    assert narrow in front
    marks = {view.table.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole).point.info.path:
             view.table.topLevelItem(i).text(7) for i in range(2)}
    assert {p for p, mark in marks.items() if mark} == front
    star = view.table.topLevelItem(0).textAlignment(7)   # under its header, not at the far
    assert Qt.AlignmentFlag(star) & Qt.AlignmentFlag.AlignLeft  # end of the stretched column
    clicked = next(p for p in points if view._scatter_runs[p.data()].point.info.path == wide)
    view._point_clicked(view.scatter, [clicked])
    assert view.selected().point.info.path == wide
    assert view.diff_button.isEnabled()
    with qtbot.waitSignal(lab.jobs.result, timeout=TIMEOUT,
                          check_params_cb=lambda key, *_: key == "diff"):
        view.diff_button.click()
    diff = lab.diff.diff
    assert {diff.old.name, diff.new.name} == {"narrow", "wide"}
    first = lab.diff.blocks.topLevelItem(0)
    assert first.text(0) == "~" and "out_channels" in first.text(3)
    assert lab.diff.layers.topLevelItemCount() > 0
    # an edit refills the diff's choices, perhaps from a list read before these runs were
    # made: the two runs stay its sides
    sides = lab.diff.sides()
    assert {choice for _kind, choice in sides} == {str(narrow), str(wide)}
    lab._choices = (lab._choices[0], [])
    window.document.open_spec(ArchitectureSpec.from_dict(DEEP))
    assert lab.diff.sides() == sides


def test_diff_view_against_a_preset_a_missing_run_and_the_saved_file(qtbot, window, lab,
                                                                      tmp_path):
    window.document.open_spec(preset_spec("course-inception"))
    view = lab.diff
    with qtbot.waitSignal(lab.jobs.result, timeout=TIMEOUT,
                          check_params_cb=lambda key, *_: key == "diff"):
        view.set_sides(("preset", "course-resnet"), ("current", ""))
    assert view.diff.old.name == "course-resnet" and view.diff.new.name == "course-inception"
    kinds = [view.blocks.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
             for i in range(view.blocks.topLevelItemCount())]
    assert kinds == [c.kind for c in view.diff.blocks] and "inserted" in kinds
    assert "course-resnet → course-inception" in view.summary.text()
    with qtbot.waitSignal(lab.jobs.error, timeout=TIMEOUT):
        view.set_sides(("run", str(tmp_path / "gone")), ("current", ""))
    assert "is neither a preset" in view.summary.text()
    assert view.blocks.topLevelItemCount() == 0
    # once saved, the saved version is offered, and is what the network is compared with
    assert index_of(view.old_side.combo, ("saved", "")) < 0
    window.save_to(tmp_path / "mine.json")
    qtbot.waitUntil(lambda: index_of(view.old_side.combo, ("saved", "")) >= 0, timeout=TIMEOUT)
    with qtbot.waitSignal(lab.jobs.result, timeout=TIMEOUT,
                          check_params_cb=lambda key, *_: key == "diff"):
        view.set_sides(("saved", ""), ("current", ""))
    assert view.diff.identical and "identical" in view.summary.text()


def test_the_depth_experiment_runs_in_the_background_and_can_be_cancelled(qtbot, window, lab):
    lab.experiment_options = {"networks": ("plain20", "resnet20"), "input_shape": (1, 8, 8),
                              "profile_batch": 8, "max_batches_per_epoch": 2,
                              "batch_size": 16}
    view = lab.gradients
    view.epochs.setValue(1)
    with qtbot.waitSignal(lab.experiment_jobs.result, timeout=TIMEOUT):
        view.run_button.click()
        assert not view.run_button.isEnabled() and view.cancel_button.isEnabled()
    assert view.run_button.isEnabled() and not lab.experiment_running
    assert set(view._curves) == {"plain20", "resnet20"}
    x, y = view._curves["plain20"]["accuracy"].getData()
    assert list(x) == [1.0] and 0 <= y[0] <= 100
    assert "Final test accuracy: plain20" in view.result.text()
    assert "Gradient spread" in view.result.text()
    runs = window.training.runs.session_runs
    assert len(runs) == 2 and all((r / "epoch-1.json").is_file() for r in runs)

    events = []
    lab.experiment_jobs.result.connect(lambda *args: events.append(args))
    view.run_button.click()
    view.cancel_button.click()  # before the first network has finished
    qtbot.waitUntil(lambda: bool(events), timeout=TIMEOUT)
    done = events[0][2]
    assert done.stopped and len(done.results) <= 1
    assert "Stopped" in view.progress.text()


def test_closing_during_the_experiment_asks_once_and_stops_it(qtbot, window, lab):
    lab.experiment_options = {"networks": ("plain20",), "input_shape": (1, 8, 8),
                              "profile_batch": 8, "batch_size": 16}
    lab.gradients.epochs.setValue(50)
    lab.gradients.run_button.click()
    qtbot.waitUntil(lambda: bool(lab.gradients._curves), timeout=TIMEOUT)
    log = []
    answer_dialog("Cancel", log=log)
    window.close()
    assert window.isVisible() and lab.experiment_running
    assert log[0].startswith("The depth experiment is training")  # one question, the window's
    answer_dialog("Discard changes and close" if window.document.modified else "Stop and close")
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)
    window.shutdown()
    assert not lab.experiment_jobs.running



def test_the_diff_view_reads_old_then_new(qtbot):
    """LeNet with conv1 widened from 6 to 8 channels: each changed layer reads old → new
    (shape, parameters), and the changed block names its parameter's old and new value."""
    from explorer.core import edit
    from explorer.core.diff import diff_specs
    from explorer.core.inspector import inspect_spec
    from explorer.ui.widgets.arch_diff import ArchitectureDiffView

    old = preset_spec("lenet")
    new = edit.set_param(old, (0,), "out_channels", 8)
    view = ArchitectureDiffView()
    qtbot.addWidget(view)
    view.set_diff(diff_specs(old, new, old_summary=inspect_spec(old, depth=8),
                             new_summary=inspect_spec(new, depth=8)))
    conv1, conv2 = view.layers.topLevelItem(0), view.layers.topLevelItem(3)
    assert (conv1.text(0), conv2.text(0)) == ("block 0 (conv2d)", "block 3 (conv2d)")
    assert (conv1.text(1), conv1.text(2)) == ("6×28×28 → 8×28×28", "156 → 208")
    assert (conv2.text(1), conv2.text(2)) == ("16×10×10", "2,416 → 3,216")
    block = view.blocks.topLevelItem(0)
    assert block.text(0) == "~" and block.text(3) == "out_channels 6 → 8"


def test_the_run_table_reads_each_runs_numbers_in_its_column(qtbot, tmp_path):
    """Two runs: the table reads 95.00 % and 90.00 %, their parameters, multiply-adds and
    time; the smaller, less accurate one and the better one are both on the front."""
    from explorer.training.compare import RunPoint
    from explorer.training.runs import RunInfo
    from explorer.ui.widgets.run_compare import COLUMNS, RunCompareView, RunData

    def data(name, accuracy, params, time):
        info = RunInfo(tmp_path / name, name, "", "d", "cpu", 3, 2, accuracy, None, None, {})
        return RunData(RunPoint(info, accuracy, params, 10 * params, time))

    view = RunCompareView()
    qtbot.addWidget(view)
    view.set_runs([data("big", 0.95, 2000, 12.5), data("small", 0.9, 100, 3.0)])
    rows = [[view.table.topLevelItem(r).text(c) for c in range(len(COLUMNS))] for r in range(2)]
    assert [row[2:] for row in rows] == [
        ["2/3", "95.00 %", "2,000", "20,000", "12.5", "★"],
        ["2/3", "90.00 %", "100", "1,000", "3.0", "★"]]


def test_the_gradient_lab_states_the_spread_and_the_first_last_ratio(qtbot):
    """Three convolutions with gradient norms 0.5, 8 and 2.5: the status reads a spread of
    16.0× (largest over smallest) and a first/last ratio of 0.2× (0.5 over 2.5)."""
    from explorer.training.gradients import GradientProfile, LayerGradient
    from explorer.ui.widgets.gradient_lab import GradientLabView

    layers = tuple(LayerGradient(f"conv{i}", "Conv2d", i, 10, norm, 0.0, 1.0)
                   for i, norm in enumerate((0.5, 8.0, 2.5), start=1))
    view = GradientLabView()
    qtbot.addWidget(view)
    view.set_profile(0, GradientProfile("A", "plain", layers, 2.3456, 64, 0, "mnist"))
    assert view.status.text() == (
        "A: gradient spread 16.0× (first/last conv 0.2×), loss 2.346")


def test_the_weights_picked_stay_picked_when_the_runs_are_read_again(qtbot, tmp_path):
    """A run's epoch-1 weights picked; the runs read again (new objects, a new best): epoch 1
    stays. Another run picked: its last weights. Back to the first: its last, not epoch 1."""
    from explorer.training.runs import WeightsChoice
    from explorer.ui.widgets.gradient_lab import SourcePicker

    def choices(folder, best_epoch):
        return [WeightsChoice("initialisation", 0, None),
                WeightsChoice("epoch 1", 1, tmp_path / folder / "epoch-1.json"),
                WeightsChoice(f"best (epoch {best_epoch})", best_epoch,
                              tmp_path / folder / "best.json"),
                WeightsChoice("last (epoch 2)", 2, tmp_path / folder / "last.json")]

    picker = SourcePicker("A")
    qtbot.addWidget(picker)
    picker.fill(["lenet"], [("a", "run a", choices("a", 1)), ("b", "run b", choices("b", 2))],
                "lenet")
    _pick(picker, ("run", "a"))
    assert picker.weights.currentText() == "last (epoch 2)"
    picker.weights.setCurrentIndex(1)
    picker.fill(["lenet"], [("a", "run a", choices("a", 2)), ("b", "run b", choices("b", 2))],
                "lenet")
    assert picker.source().weights == str(tmp_path / "a" / "epoch-1.json")
    picker.weights.setCurrentIndex(0)  # the initialisation (no checkpoint) stays too
    picker.fill(["lenet"], [("a", "run a", choices("a", 2))], "lenet")
    assert picker.weights.currentText() == "initialisation"
    picker.fill(["lenet"], [("a", "run a", choices("a", 2)), ("b", "run b", choices("b", 2))],
                "lenet")
    _pick(picker, ("run", "b"))
    assert picker.source().weights == str(tmp_path / "b" / "last.json")
    picker.weights.setCurrentIndex(1)
    _pick(picker, ("run", "a"))
    assert picker.source().weights == str(tmp_path / "a" / "last.json")


def test_an_edit_refreshes_the_diff_choices_without_reading_the_runs(window, lab, tmp_path,
                                                                      monkeypatch):
    """A network opened from a file makes "Saved version" a diff choice at once, and no job
    reads the runs for it; a network without a file takes the choice away."""
    submitted = []
    monkeypatch.setattr(lab.jobs, "submit", lambda *a, key, **k: submitted.append(key))

    def choices():
        combo = lab.diff.old_side.combo
        return [combo.itemData(i) for i in range(combo.count())]

    assert ("saved", "") not in choices()
    window.document.open_spec(ArchitectureSpec.from_dict(DEEP), tmp_path / "deep.json")
    assert ("saved", "") in choices() and ("preset", "plain56") in choices()
    window.document.open_spec(ArchitectureSpec.from_dict(DEEP))
    assert ("saved", "") not in choices()
    assert not lab._timers["choices"].isActive() and "choices" not in submitted


def test_runs_made_elsewhere_are_offered_when_a_lab_view_comes_forward(qtbot, window, lab):
    """Runs written by another program after the lab was filled: offered by the gradient lab
    and the diff once either view is brought forward."""
    narrow, wide = _train_two_runs(lab.runs_root)
    pickers = lab.gradients.pickers

    def offered(combo) -> list:
        return [combo.itemData(i) for i in range(combo.count())]

    assert ("run", str(narrow)) not in offered(pickers[0].network)
    lab.show_view("gradients")
    qtbot.waitUntil(lambda: ("run", str(wide)) in offered(pickers[1].network), timeout=TIMEOUT)
    assert ("run", str(narrow)) in offered(lab.diff.new_side.combo)
