"""The command line: listing, specs, summaries, exit codes and one-line errors."""

from __future__ import annotations

import json

import pytest

from explorer import __version__
from explorer.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_presets_and_blocks_listings(capsys):
    code, out, _ = run(capsys, "presets")
    assert code == 0 and "course-inception" in out and "resnet56" in out
    shapes = {line.split()[0]: line.split()[1] for line in out.splitlines()}
    assert (shapes["lenet"], shapes["alexnet"]) == ("1×28×28", "1×224×224")
    code, out, _ = run(capsys, "presets", "--json")
    names = [p["name"] for p in json.loads(out)]
    assert {"course-inception", "course-resnet", "lenet", "alexnet", "vgg11", "nin",
            "googlenet", "resnet18", "densenet", "plain20", "resnet20", "plain56",
            "resnet56"} <= set(names)
    code, out, _ = run(capsys, "blocks", "--json")
    blocks = {b["name"]: b for b in json.loads(out)}
    assert {"conv2d", "parallel", "residual", "group", "inception_a"} <= set(blocks)
    conv = {p["name"]: p for p in blocks["conv2d"]["params"]}
    assert conv["out_channels"]["required"] and conv["kernel_size"]["default"] == 3
    code, out, _ = run(capsys, "blocks", "conv2d")
    settings = {line.split()[0]: line.rsplit("; ", 1)[-1] for line in out.splitlines()[2:]}
    assert settings == {"out_channels": "required", "kernel_size": "default 3",
                        "stride": "default 1", "padding": "default 0", "dilation": "default 1",
                        "bias": "default true"}
    code, out, _ = run(capsys, "blocks", "res*")
    assert code == 0 and "residual" in out and "conv2d" not in out


def test_spec_round_trips_through_summary(capsys, tmp_path):
    code, out, _ = run(capsys, "spec", "lenet", "--classes", "5")
    assert code == 0
    path = tmp_path / "lenet.json"
    path.write_text(out)
    code, out, _ = run(capsys, "summary", str(path), "--json")
    data = json.loads(out)
    assert code == 0 and data["error"] is None
    assert data["output_shape"] == [5]
    assert data["total_params"] == sum(layer["params"] for layer in data["layers"]
                                       if layer["depth"] == 1)
    for key in ("name", "type", "output_shape", "params", "mult_adds", "receptive_field"):
        assert key in data["layers"][0]


def test_summary_table_and_overrides(capsys):
    code, out, _ = run(capsys, "summary", "course-inception")
    assert code == 0
    assert "inception" in out and "88×12×12" in out and "Parameters:" in out
    code, out, _ = run(capsys, "summary", "resnet18", "--input", "3,64,64", "--classes", "7",
                       "--depth", "1", "--json")
    data = json.loads(out)
    assert data["input_shape"] == [3, 64, 64] and data["output_shape"] == [7]
    assert all(layer["depth"] == 1 for layer in data["layers"])


def test_shape_error_exits_1_with_the_partial_table(capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({
        "format": "network-explorer/architecture", "version": 1, "name": "bad",
        "input_shape": [1, 28, 28], "num_classes": 10,
        "blocks": [{"type": "conv2d", "out_channels": 4, "kernel_size": 5},
                   {"type": "max_pool2d", "kernel_size": 8},
                   {"type": "conv2d", "out_channels": 4, "kernel_size": 5}]}))
    code, out, _ = run(capsys, "summary", str(path))
    assert code == 1
    assert "pool1" in out and "Error at block 2" in out and "kernel 5×5" in out
    code, out, _ = run(capsys, "summary", str(path), "--json")
    data = json.loads(out)
    assert code == 1 and data["error"]["block"] == 2 and len(data["layers"]) == 2


@pytest.mark.parametrize(
    "argv, words",
    [
        (["summary", "no-such-net"], ["unknown preset 'no-such-net'", "explorer presets"]),
        (["summary", "missing.json"], ["missing.json: no such file"]),
        (["summary", "lenet", "--input", "1,28"], ["--input", "C,H,W"]),
        (["summary", "lenet", "--classes", "0"], ["--classes", "≥ 1"]),
        (["summary", "lenet", "--depth", "x"], ["--depth", "not an integer"]),
        (["summary", "torchvision:nope"], ["nope"]),
        (["spec", "nope"], ["unknown preset"]),
        (["blocks", "zzz*"], ["no block matches"]),
        (["frobnicate"], ["invalid choice"]),
    ],
)
def test_unusable_input_exits_2_with_one_line(capsys, argv, words):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("explorer: error:")
    for word in words:
        assert word in err


@pytest.mark.parametrize(
    "content, words",
    [
        ('{"input_shape": [1, 28, 28], "blocks": [', ["ends early (truncated?)", "line 1"]),
        ('{"input_shape": [1, 28, 28], "blocks": ]}', ["not valid JSON", "line 1, column 40"]),
        ('{"input_shape": [1, 28, 28], "blocks": [{"type": "conv9d"}]}',
         ["block 0", "unknown block type 'conv9d'"]),
        ('{"input_shape": [1, 28, 28], "blocks": [{"type": "conv2d", "out_channels": 0}]}',
         ["block 0 (conv2d)", "out_channels = 0"]),
        ('{"input_shape": [1, 28, 28], "blocks": [{"type": "linear", "out_features": "x"}]}',
         ["out_features"]),
        ('[1, 2, 3]', ["must be a JSON object"]),
    ],
)
def test_bad_architecture_files_exit_2(capsys, tmp_path, content, words):
    path = tmp_path / "net.json"
    path.write_text(content)
    code, _, err = run(capsys, "summary", str(path))
    assert code == 2 and err.count("\n") == 1
    for word in words:
        assert word in err
