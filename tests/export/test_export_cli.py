"""``explorer export``: the three formats, trained weights, and one-line errors (exit 2)."""

from __future__ import annotations

import json

import pytest
import torch
from export_helpers import load_code, randomise

from explorer.cli import main
from explorer.core.builder import build_model
from explorer.core.presets import preset_spec
from explorer.training.checkpoint import save_checkpoint


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, err, *words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("explorer: error:"), err
    for word in words:
        assert word in lines[0]


def test_pytorch_to_stdout_and_to_a_file(capsys, tmp_path):
    code, out, _ = run(capsys, "export", "lenet", "--format", "pytorch")
    assert code == 0 and "class Lenet(nn.Module):" in out
    code, _, err = run(capsys, "export", "lenet", "--format", "script", "-o",
                       tmp_path / "sub" / "train.py")
    assert code == 0 and (tmp_path / "sub" / "train.py").is_file()
    assert "wrote" in err


def test_architecture_file_and_preset_overrides(capsys, tmp_path):
    path = tmp_path / "net.json"
    path.write_text(preset_spec("course-resnet").to_json())
    code, out, _ = run(capsys, "export", path, "--format", "pytorch")
    assert code == 0 and "nn.Linear(512, 10)" in out
    code, out, _ = run(capsys, "export", "course-resnet", "--format", "pytorch", "--classes", "7")
    assert code == 0 and "nn.Linear(512, 7)" in out


def test_trained_weights_travel_with_the_code(capsys, tmp_path):
    spec = preset_spec("course-resnet")
    app = build_model(spec, device="cpu")
    randomise(app, 5)
    checkpoint = save_checkpoint(tmp_path / "best", app, spec, mean=[0.1], std=[0.3],
                                 classes=list("abcdefghij"), epoch=4, metrics={})
    code, _, _ = run(capsys, "export", "course-resnet", "--format", "pytorch",
                     "--weights", checkpoint, "-o", tmp_path / "out" / "model.py")
    assert code == 0 and (tmp_path / "out" / "model.pt").is_file()
    source = (tmp_path / "out" / "model.py").read_text()
    assert "CLASSES = ('a', 'b'" in source and "MEAN = (0.1,)" in source
    module = load_code(source.replace("Path(__file__)", f"Path({str(tmp_path / 'out' / 'x')!r})"))
    exported = module.build_model()  # loads the weights beside it by default
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(exported.eval()(x), app.eval()(x))


def test_unknown_format_exits_2_with_one_line(capsys):
    code, _, err = run(capsys, "export", "lenet", "--format", "keras", "-o", "x.py")
    _one_line_error(code, err, "keras", "pytorch", "script", "onnx")


def test_unwritable_path_exits_2_with_one_line(capsys, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    code, _, err = run(capsys, "export", "lenet", "--format", "pytorch", "-o",
                       blocker / "model.py")
    _one_line_error(code, err, "cannot write", "not a folder")
    assert blocker.read_text() == "not a folder"


def test_network_with_a_shape_error_exits_2_with_one_line(capsys, tmp_path):
    spec = preset_spec("lenet").to_dict()
    spec["blocks"].insert(0, {"type": "conv2d", "out_channels": 4, "kernel_size": 40})
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(spec))
    code, _, err = run(capsys, "export", path, "--format", "pytorch", "-o", tmp_path / "m.py")
    _one_line_error(code, err, "block 0", "kernel 40×40 is larger")
    assert not (tmp_path / "m.py").exists()


@pytest.mark.parametrize("extra", [["--format", "onnx"],
                                   ["--format", "pytorch", "--weights", "x.json"]])
def test_files_formats_need_an_output(capsys, extra):
    code, _, err = run(capsys, "export", "lenet", *extra)
    _one_line_error(code, err, "-o FILE")


def test_weights_of_another_network_exit_2(capsys, tmp_path):
    spec = preset_spec("lenet")
    checkpoint = save_checkpoint(tmp_path / "lenet", build_model(spec), spec, mean=[0.1],
                                 std=[0.3], classes=list("0123456789"), epoch=1, metrics={})
    code, _, err = run(capsys, "export", "course-resnet", "--format", "pytorch", "--weights",
                       checkpoint, "-o", tmp_path / "m.py")
    _one_line_error(code, err, "do not fit", "conv1.weight")
