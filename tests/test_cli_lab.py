"""`explorer gradients`, `explorer runs [compare]` and `explorer diff`: output and one-line
errors."""

from __future__ import annotations

import json

import pytest

from explorer.cli import main
from explorer.core.spec import ArchitectureSpec, save_spec

SMALL = {"name": "small", "input_shape": [1, 8, 8], "num_classes": 10, "blocks": [
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "batch_norm2d"}, {"type": "relu"},
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "global_avg_pool"}, {"type": "flatten"},
    {"type": "linear", "out_features": "classes"}]}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "small.json"
    save_spec(ArchitectureSpec.from_dict(SMALL), path)
    return path


def test_gradients_json_has_a_row_per_parameterised_layer(capsys, small_file):
    code, out, err = run(capsys, "gradients", small_file, "--json", "--batch", "4",
                         "--seed", "3")
    assert code == 0, err
    result = json.loads(out)
    assert [(r["name"], r["type"]) for r in result["layers"]] == [
        ("conv1", "Conv2d"), ("bn1", "BatchNorm2d"), ("conv2", "Conv2d"), ("fc1", "Linear")]
    assert all(r["grad_norm"] > 0 and r["activation_std"] > 0 for r in result["layers"])
    assert (result["batch"], result["seed"], result["dataset"]) == (4, 3, "mnist-sample")
    norms = [r["grad_norm"] for r in result["layers"] if r["type"] == "Conv2d"]
    assert result["spread"] == pytest.approx(max(norms) / min(norms))
    code, text, _ = run(capsys, "gradients", small_file, "--batch", "4", "--seed", "3")
    assert "small (small.json) at initialisation · one batch of 4 mnist-sample images (seed 3)" \
        in text
    assert f"span a factor of {result['spread']:,.1f}" in text


@pytest.mark.parametrize(("argv", "words"), [
    (["gradients", "nope"], "'nope' is neither a preset"),
    (["gradients", "lenet", "--epoch", "2"], "--epoch applies to a run folder"),
    (["gradients", "lenet", "--batch", "0"], "0 is not valid: expected an integer ≥ 1 and ≤ 4096"),
    (["gradients", "lenet", "--batch", "4097"], "expected an integer ≥ 1 and ≤ 4096"),
    (["gradients", "lenet", "--batch", "8.5"], "'8.5' is not an integer"),
    (["gradients", "lenet", "--seed", "-1"], "-1 is not valid: expected an integer ≥ 0 and ≤ "),
    (["diff", "lenet"], "the following arguments are required: new"),
    (["runs", "compare", "no-such-run", "--root", "."], "no run 'no-such-run'"),
])
def test_bad_input_is_one_line_and_exit_code_2(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1 and not out


def test_diff_of_two_files(capsys, small_file, tmp_path):
    wider = dict(SMALL, blocks=[dict(SMALL["blocks"][0], out_channels=6), *SMALL["blocks"][1:]])
    save_spec(ArchitectureSpec.from_dict(wider), tmp_path / "wider.json")
    code, out, _ = run(capsys, "diff", small_file, tmp_path / "wider.json")
    assert code == 0
    assert "~ block 0 (conv2d): changed (out_channels 4 → 6)" in out
    assert "block 1 (batch_norm2d): output 4×8×8 → 6×8×8; parameters 8 → 12" in out
    assert "block 3 (conv2d): parameters 148 → 220" in out  # unchanged, wider input
    code, out, _ = run(capsys, "diff", small_file, tmp_path / "wider.json", "--json")
    diff = json.loads(out)
    assert diff["counts"]["changed"] == 1 and diff["blocks"][0]["params"] == [
        {"name": "out_channels", "old": 4, "new": 6}]
    assert diff["new"]["params"] - diff["old"]["params"] == 2 * (9 + 1) + 2 * 2 + 2 * 4 * 9


def test_runs_list_and_compare(capsys, tmp_path, small_file):
    for name in ("a", "b"):
        code, _, err = run(capsys, "train", small_file, "--epochs", "1", "--max-batches", "2",
                           "--batch-size", "16", "--out", tmp_path / "runs" / name,
                           "--device", "cpu")
        assert code == 0, err
    code, out, _ = run(capsys, "runs", "--root", tmp_path / "runs", "--json")
    listed = json.loads(out)
    assert sorted(r["run"].rsplit("/", 1)[-1] for r in listed) == ["a", "b"]
    code, out, _ = run(capsys, "runs", "compare", "a", "b", "--root", tmp_path / "runs",
                       "--json")
    compared = json.loads(out)
    assert [p["params"] for p in compared["runs"]] == [(4 * 9 + 4) + 8 + (4 * 36 + 4) + 50] * 2
    assert set(compared["pareto_front"]) == {"params", "mult_adds", "train_time"}
    code, out, _ = run(capsys, "runs", "compare", tmp_path / "runs" / "a",
                       tmp_path / "runs" / "b")
    assert code == 0 and out.splitlines()[0].startswith("run ")



def test_runs_list_reads_each_runs_accuracy_and_epochs(capsys, tmp_path, monkeypatch,
                                                       kolkata):
    """Two runs as the list prints them: best accuracy in percent, epochs done of planned,
    data set, start time in local time (as the window shows it; stored in UTC); a run
    without an epoch yet shows a dash."""
    from pathlib import Path

    from explorer.training import runs
    from explorer.training.runs import RunInfo

    listed = [RunInfo(Path("/r/lenet-1"), "lenet", "2026-01-02T03:04:05+00:00", "mnist", "cpu",
                      epochs_planned=5, epochs_done=3, best_test_accuracy=0.9876, best=None,
                      last=None, config={}),
              RunInfo(Path("/r/tiny"), "tiny", "2026-01-03T00:00:00+00:00", "fashion", "cpu",
                      epochs_planned=2, epochs_done=0, best_test_accuracy=None, best=None,
                      last=None, config={})]
    monkeypatch.setattr(runs, "all_runs", lambda roots: listed)
    code, out, _ = run(capsys, "runs", "--root", tmp_path)
    assert code == 0
    assert [line.split() for line in out.splitlines()] == [
        ["lenet-1", "98.76", "%", "3/5", "epochs", "mnist", "2026-01-02", "08:34:05"],
        ["tiny", "—", "0/2", "epochs", "fashion", "2026-01-03", "05:30:00"]]

def test_python_files_have_gradients_and_a_diff(capsys, tmp_path):
    from pyfile_sources import COURSE_NET, write

    path = write(tmp_path, "net.py", COURSE_NET)
    code, out, err = run(capsys, "gradients", path, "--json", "--batch", "4")
    assert code == 0, err
    assert [r["name"] for r in json.loads(out)["layers"]] == ["conv1", "conv2", "fc"]
    assert "after conv2" in err  # the file's print, kept off the JSON
    code, out, err = run(capsys, "diff", path, "course-resnet")
    assert code == 0, err
    assert out.startswith("Net (8,490 parameters") and "~ block 0 (conv2d): changed " \
        "(out_channels 10 → 16)" in out
