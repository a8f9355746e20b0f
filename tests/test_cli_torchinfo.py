"""``explorer summary --format torchinfo``: torchinfo's own table, with its own numbers, and
the edges (a network that does not fit, a torchvision model given the wrong input)."""

from __future__ import annotations

import json

from explorer.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_lenet_is_torchinfos_table(capsys):
    code, out, err = run(capsys, "summary", "lenet", "--format", "torchinfo")
    assert code == 0 and err == ""
    assert "Layer (type (var_name))" in out and "Mult-Adds" in out
    assert "Total params: 61,706" in out
    assert "Total mult-adds (Units.MEGABYTES): 0.42" in out
    assert "├─Conv2d (conv1)" in out and "[1, 6, 28, 28]" in out
    assert "Trainable params: 61,706" in out


def test_depth_and_torchvision(capsys):
    code, out, _ = run(capsys, "summary", "torchvision:resnet18", "--format", "torchinfo",
                       "--depth", "1")
    assert code == 0 and "Total params: 11,689,512" in out
    assert "├─Sequential (layer1)" in out and "BasicBlock" not in out  # depth 1: no blocks
    code, out, _ = run(capsys, "summary", "course-inception", "--format", "torchinfo",
                       "--depth", "2")
    assert "│    └─Sequential (branch5x5)" in out and "│    └─Conv2d (branch1x1)" in out


def test_json_is_the_same_as_before(capsys):
    _, by_flag, _ = run(capsys, "summary", "lenet", "--json")
    _, by_format, _ = run(capsys, "summary", "lenet", "--format", "json")
    assert json.loads(by_flag) == json.loads(by_format)
    assert json.loads(by_format)["total_params"] == 61_706


def test_a_block_that_does_not_fit_ends_the_table_exit_1(capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({
        "name": "bad", "input_shape": [1, 28, 28], "num_classes": 10,
        "blocks": [{"type": "conv2d", "out_channels": 4, "kernel_size": 5},
                   {"type": "max_pool2d", "kernel_size": 2},
                   {"type": "conv2d", "out_channels": 4, "kernel_size": 20},
                   {"type": "flatten"}, {"type": "linear", "out_features": "classes"}]}))
    code, out, err = run(capsys, "summary", str(path), "--format", "torchinfo")
    assert code == 1
    assert "Total params: 104" in out  # the first convolution's, the blocks that fit
    assert err.count("\n") == 1 and "stops before block 2" in err and "20×20" in err


def test_torchvision_model_given_a_small_input_names_the_size_it_needs(capsys):
    for extra in ((), ("--format", "torchinfo")):
        code, out, err = run(capsys, "summary", "torchvision:vit_b_16", "--input", "3,28,28",
                             *extra)
        assert code == 1, err
        assert "3×224×224" in out + err and "28" in out + err
        assert "internal error" not in err


def _nested(tmp_path, groups: int):
    block = {"type": "conv2d", "out_channels": 2}
    for _ in range(groups):
        block = {"type": "group", "blocks": [block]}
    path = tmp_path / f"deep{groups}.json"
    path.write_text(json.dumps({"input_shape": [1, 12, 12], "blocks": [block]}))
    return str(path)


def test_too_deep_for_torchinfo_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "summary", _nested(tmp_path, 16), "--format", "torchinfo")
    assert code == 2 and "17 deep" in err and "at most 16" in err
    code, out, _ = run(capsys, "summary", _nested(tmp_path, 16))  # the app's table: no limit
    assert code == 0 and "Parameters:" in out
    code, out, _ = run(capsys, "summary", _nested(tmp_path, 15), "--format", "torchinfo",
                       "--depth", "1")
    assert code == 0 and "Total params: 20" in out  # 16 deep: still made


def test_python_files_are_refused_in_torchinfo_format(capsys, tmp_path):
    path = tmp_path / "net.py"
    path.write_text("import torch\nnet = torch.nn.Linear(4, 2)\n")
    code, _, err = run(capsys, "summary", str(path), "--format", "torchinfo")
    assert code == 2 and "--format torchinfo" in err
