"""Files, exports and runs as a user meets them: trained weights in File › Export, the
questions before work is replaced, the names and messages a user reads, runs told apart."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from ui_helpers import answer_dialog, click_tree, fresh_summary, quick_settings, select_run

from explorer.core.presets import preset_spec
from explorer.training import TrainConfig, TrainControl, load_checkpoint, train
from explorer.training.runs import default_run_dir
from explorer.ui.workspaces import BUILD

TIMEOUT = 30_000


def save_to(monkeypatch, path) -> None:
    """The next save dialog answers ``path`` (what the user typed)."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def export(qtbot, window, fmt: str, answer: str | None, log: list | None = None) -> None:
    """File › Export (``fmt``), answering the weights question with ``answer`` (``None``:
    no question expected), and wait until the files are written."""
    if answer is not None:
        answer_dialog(answer, log=log)
    window.export_actions[fmt].trigger()
    qtbot.waitUntil(lambda: not window._code_exports, timeout=120_000)  # ONNX: ~20 s cold


def delete_block(qtbot, window, index: int) -> None:
    window.workspaces.setCurrentIndex(BUILD)  # where the tree is (a run shows Train & look)
    click_tree(qtbot, window, (index,))
    window.tree.setFocus()
    fresh_summary(qtbot, window, lambda: window.act_delete.trigger())


def a_run(controller, name: str = "lenet", *, lr: float = 0.01, stop_after: int | None = None):
    """A short run of the preset ``name`` in the window's runs folder (the engine itself);
    ``stop_after`` batches, the user pressed Stop."""
    spec = preset_spec(name)
    run_dir = default_run_dir(name, root=controller.runs_root)
    config = TrainConfig(epochs=2, batch_size=32, max_batches_per_epoch=3, device="cpu",
                         lr=lr, optimizer="adam")
    control = TrainControl()
    batches = 0
    for event in train(spec, config, run_dir=run_dir, control=control):
        batches += type(event).__name__ == "BatchEnd"
        if stop_after is not None and batches == stop_after:
            control.stop()
    return spec, run_dir


# ------------------------------------------------------------------ 5. export with weights


def test_export_after_a_run_includes_its_weights_and_says_which(qtbot, app_window, tmp_path,
                                                                monkeypatch):
    onnxruntime = pytest.importorskip("onnxruntime")
    window, controller = app_window
    quick_settings(controller.panel, epochs=2, batches=3)
    with qtbot.waitSignal(controller.runner.confusion_ready, timeout=TIMEOUT):
        controller.panel.start_action.trigger()
    qtbot.waitUntil(lambda: not controller.runner.running, timeout=TIMEOUT)
    best = controller.job.run_dir / "best.json"
    checkpoint = load_checkpoint(best)

    save_to(monkeypatch, tmp_path / "model")  # typed without an extension
    log: list[str] = []
    export(qtbot, window, "pytorch", "Yes", log)
    assert f"best checkpoint of run {controller.job.run_dir.name} (epoch " in log[0]
    assert log[1] == str(best)  # the details name the file
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["model.pt", "model.py"]
    exported = torch.load(tmp_path / "model.pt", weights_only=True)
    expected = checkpoint.model.state_dict()
    assert exported.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(exported[key], value), key
    assert "with the weights of the best checkpoint" in window.statusBar().currentMessage()

    save_to(monkeypatch, tmp_path / "net")
    export(qtbot, window, "onnx", "Yes")
    session = onnxruntime.InferenceSession(str(tmp_path / "net.onnx"),
                                           providers=["CPUExecutionProvider"])
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        want = checkpoint.model.eval()(x)
    got = torch.from_numpy(session.run(None, {"images": x.numpy()})[0])
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)

    save_to(monkeypatch, tmp_path / "plain.py")
    export(qtbot, window, "pytorch", "No")
    assert not (tmp_path / "plain.pt").exists() and (tmp_path / "plain.py").exists()
    assert "without trained weights" in window.statusBar().currentMessage()

    delete_block(qtbot, window, 1)  # the network changed: those weights are not its own
    save_to(monkeypatch, tmp_path / "edited.py")
    export(qtbot, window, "pytorch", None)
    assert not (tmp_path / "edited.pt").exists()
    assert "before your edits" in window.statusBar().currentMessage()


def test_export_after_loading_a_runs_best_weights_uses_that_checkpoint(
        qtbot, app_window, tmp_path, monkeypatch):
    window, controller = app_window
    _spec, run_dir = a_run(controller)
    select_run(qtbot, controller.runs, run_dir)
    qtbot.mouseClick(controller.runs.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.document.spec.name == "lenet", timeout=TIMEOUT)
    save_to(monkeypatch, tmp_path / "lenet.py")
    log: list[str] = []
    export(qtbot, window, "script", "Yes", log)
    assert f"of run {run_dir.name}" in log[0] and log[1] == str(run_dir / "best.json")
    exported = torch.load(tmp_path / "lenet.pt", weights_only=True)
    expected = load_checkpoint(run_dir / "best.json").model.state_dict()
    assert all(torch.equal(exported[k], v) for k, v in expected.items())


def test_no_weights_no_question(qtbot, window, tmp_path, monkeypatch):
    save_to(monkeypatch, tmp_path / "course")
    export(qtbot, window, "pytorch", None)  # a question here would block the test
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["course.py"]


# ------------------------------------------------------------------ replacing work


def test_new_a_preset_and_loading_a_run_ask_before_replacing_unsaved_work(
        qtbot, app_window):
    window, controller = app_window
    _spec, run_dir = a_run(controller)
    select_run(qtbot, controller.runs, run_dir)
    delete_block(qtbot, window, 1)
    edited = window.document.spec
    for action in (window.act_new.trigger, lambda: window.open_preset("nin"),
                   lambda: qtbot.mouseClick(controller.runs.load_button,
                                            Qt.MouseButton.LeftButton)):
        log: list[str] = []
        answer_dialog("Cancel", log=log)
        action()
        assert "has changes that are not saved" in log[0]
        assert window.document.spec is edited and window.document.modified
    answer_dialog("Discard")
    fresh_summary(qtbot, window, lambda: window.open_preset("nin"))
    assert window.document.spec == preset_spec("nin") and not window.document.modified
    assert window.windowTitle() == "nin[*]" and not window.isWindowModified()
    window.document.undo_stack.undo()  # the discarded edit is still one undo away
    assert window.document.spec == edited


def test_a_torchvision_model_fills_the_network_section(qtbot, window):
    fresh_summary(qtbot, window, lambda: window.open_torchvision("torchvision:resnet18"))
    props = window.properties
    assert props.name_edit.text() == "resnet18"
    assert [f.value() for f in props.shape_fields] == [3, 224, 224]
    assert props.classes_field.value() == 1000
    assert not props.widget().isEnabled()  # read-only
    assert not window.document.modified  # looking at a model changes nothing


# ------------------------------------------------------------------ file names and messages


def test_save_as_names_an_untitled_network_after_its_file(qtbot, window, tmp_path,
                                                          monkeypatch):
    fresh_summary(qtbot, window, window.act_new.trigger)
    assert window.windowTitle() == "untitled[*]"
    save_to(monkeypatch, tmp_path / "my-net")
    window.act_save_as.trigger()
    assert (tmp_path / "my-net.json").is_file()
    assert window.document.spec.name == "my-net"
    assert window.windowTitle() == "my-net — my-net.json[*]"
    assert window.network_label.text() == "my-net" and not window.document.modified


def test_summary_export_without_an_extension_gets_one(qtbot, window, tmp_path, monkeypatch):
    save_to(monkeypatch, tmp_path / "summary")
    window.act_export_md.trigger()
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["summary.md"]


@pytest.mark.parametrize("content, words", [
    ("", ["empty.json: the file is empty"]),
    ('{\n  "input_shape": [1, 28, 28],\n  "blocks": [\n',
     ["empty.json: the file ends early (truncated?) at line 3"]),
    ('{"input_shape": [1, 28, 28], "num_classes": 10, "blocks": [{"type": "warp_drive"}]}',
     ["empty.json: block 0: unknown block type 'warp_drive'"]),
])
def test_a_file_that_cannot_be_opened_says_why_and_names_it(qtbot, window, tmp_path,
                                                            content, words):
    path = tmp_path / "empty.json"
    path.write_text(content)
    before = window.document.spec
    log: list[str] = []
    answer_dialog("Ok", log=log)
    assert not window.open_file(path)
    for word in words:
        assert word in log[0]
    assert window.document.spec is before


def test_a_50_mb_file_is_refused_by_its_size_before_it_is_read(qtbot, window, tmp_path,
                                                               monkeypatch):
    from explorer.core import spec as spec_module

    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.truncate(50 * 2**20)
    parsed: list = []
    monkeypatch.setattr(spec_module.ArchitectureSpec, "from_json",
                        classmethod(lambda cls, *a, **k: parsed.append(1)))
    log: list[str] = []
    answer_dialog("Ok", log=log)
    assert not window.open_file(path)
    assert "huge.json: is 52,428,800 bytes, more than the 2,097,152" in log[0]
    assert parsed == []


# ------------------------------------------------------------------ runs


def test_two_runs_of_one_network_are_told_apart_and_a_stopped_one_says_so(
        qtbot, app_window, kolkata):
    _window, controller = app_window
    _spec, finished = a_run(controller, lr=0.01)
    _spec, stopped = a_run(controller, lr=0.003, stop_after=2)
    view = controller.runs
    with qtbot.waitSignal(view.jobs.result, timeout=10_000):
        view.refresh()
    rows = {}
    for i in range(view.tree.topLevelItemCount()):
        item = view.tree.topLevelItem(i)
        info = item.data(0, Qt.ItemDataRole.UserRole)
        rows[info.path] = [item.text(c) for c in range(view.tree.columnCount())]
    header = [view.tree.headerItem().text(c) for c in range(view.tree.columnCount())]
    assert header == ["Run", "Status", "Best test", "Epochs", "Settings", "Started"]
    assert rows[finished][1] == "finished" and rows[stopped][1] == "stopped"
    assert rows[finished][3] == "2/2" and rows[stopped][3] == "0/2"
    assert rows[finished][4] == "adam · lr 0.01 · batch 32 · seed 0"
    assert rows[stopped][4] == "adam · lr 0.003 · batch 32 · seed 0"
    assert rows[finished][0] == rows[stopped][0] == "lenet · mnist-sample"
    shown = datetime.strptime(rows[finished][5], "%Y-%m-%d %H:%M:%S")
    now = datetime.now(timezone(timedelta(hours=5, minutes=30))).replace(tzinfo=None)
    assert abs((now - shown).total_seconds()) < 300  # the local time, not UTC's
