"""Regression tests for issue 7: each hostile input the issue lists gets a clear answer.

Exit codes: 0 success, 1 a shape error / failed run / unwritable output, 2 unusable input,
70 an internal error (a bug), 130 interrupted.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import resource
import signal
import struct
import time

import pytest
import torch
from PIL import Image

from explorer.cli import main
from explorer.data import DataError, load_dataset
from explorer.data.datasets import read_idx

FAST = ["--epochs", "1", "--max-batches", "2", "--batch-size", "8", "--device", "cpu"]


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    """Crash logs go to a temporary state folder."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "network-explorer" / "crashes"


@pytest.fixture
def sigint():
    """Put SIGINT and SIGTERM back as they were (an interrupted main ignores SIGINT after)."""
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGINT, before[0])
    signal.signal(signal.SIGTERM, before[1])


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def arch(path, blocks, **fields):
    document = {"name": "x", "input_shape": [1, 28, 28], "num_classes": 10, "blocks": blocks}
    document.update(fields)
    path.write_text(json.dumps(document))
    return path


def tiny(path, **fields):
    return arch(path, [{"type": "flatten"}, {"type": "linear", "out_features": "classes"}],
                **fields)


def nested(levels, leaf=None):
    block = leaf or {"type": "conv2d", "out_channels": 2}
    for _ in range(levels):
        block = {"type": "group", "blocks": [block]}
    return block


def one_error_line(err):
    assert err.startswith("explorer: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# ------------------------------------------------------------------ huge numbers


@pytest.mark.parametrize("block, words", [
    ({"type": "conv2d", "out_channels": 10**18}, "out_channels = 1000000000000000000 is not valid"),
    ({"type": "conv2d", "out_channels": 4, "kernel_size": 10**9}, "≤ 1024"),
    ({"type": "conv2d", "out_channels": 4, "dilation": 10**12}, "dilation"),
    ({"type": "vgg_block", "num_convs": 100000, "out_channels": 4}, "num_convs"),
    ({"type": "dense_block", "num_layers": 100000}, "num_layers"),
    ({"type": "dense_block", "growth_rate": 10**9}, "growth_rate"),
    ({"type": "linear", "out_features": 10**12}, "out_features"),
])
def test_huge_sizes_are_refused_by_the_schema(capsys, tmp_path, block, words):
    path = arch(tmp_path / "a.json", [block])
    start = time.perf_counter()
    code, _, err = run(capsys, "summary", path)
    assert code == 2 and words in one_error_line(err)
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "w.pt")
    code, _, err = run(capsys, "predict", "--weights", tmp_path / "w.pt", "--arch", path,
                       tmp_path / "x.png")
    assert code == 2 and words in one_error_line(err)
    assert time.perf_counter() - start < 30  # never "never answers"


def test_huge_sizes_are_refused_by_train(capsys, tmp_path):
    path = arch(tmp_path / "a.json", [{"type": "conv2d", "out_channels": 10**18}])
    code, _, err = run(capsys, "train", path, *FAST, "--out", tmp_path / "run")
    assert code == 2 and "out_channels" in one_error_line(err)
    assert not (tmp_path / "run").exists()


def test_dilation_is_named_when_the_dilated_kernel_does_not_fit(capsys, tmp_path):
    path = arch(tmp_path / "a.json", [{"type": "conv2d", "out_channels": 4, "dilation": 20}])
    code, out, _ = run(capsys, "summary", path)
    assert code == 1
    assert "kernel 3×3 with dilation 20 spans 41×41 pixels, more than the 28×28 input" in out


def test_too_many_layers_by_repeats(capsys, tmp_path):
    inner = {"type": "group", "repeat": 1000, "blocks": [{"type": "relu"}]}
    path = arch(tmp_path / "a.json", [{"type": "group", "repeat": 1000, "blocks": [inner]}])
    code, _, err = run(capsys, "summary", path)
    assert code == 2 and "more than 5,000 layers" in one_error_line(err)


@pytest.mark.parametrize("lr", ["1e39", "1e308", "inf", "nan"])
def test_learning_rate_past_float32_is_refused(capsys, tmp_path, lr):
    code, _, err = run(capsys, "train", "lenet", *FAST, "--lr", lr, "--out", tmp_path / "r")
    assert code == 2 and "lr" in one_error_line(err)


# ------------------------------------------------------------------ unbounded work


def test_nested_groups_cost_what_the_network_costs(capsys, tmp_path):
    path = arch(tmp_path / "a.json", [nested(32), {"type": "flatten"}])
    code, out, _ = run(capsys, "summary", path, "--json")
    assert code == 0 and json.loads(out)["output_shape"] == [2 * 26 * 26]


def test_deep_nesting_is_refused_not_a_recursion_error(capsys, tmp_path):
    for levels in (33, 450, 5000):
        text = '{"type": "group", "blocks": [' * levels + '{"type": "relu"}' + "]}" * levels
        (tmp_path / "a.json").write_text('{"input_shape": [1, 8, 8], "blocks": [' + text + "]}")
        code, _, err = run(capsys, "summary", tmp_path / "a.json")
        assert code == 2 and "nested" in one_error_line(err)
    (tmp_path / "b.json").write_text('{"blocks": ' + "[" * 100000 + "]" * 100000 + "}")
    code, _, err = run(capsys, "summary", tmp_path / "b.json")
    assert code == 2 and "nested too deeply" in one_error_line(err)


def test_a_shapes_only_summary_of_a_huge_input_needs_no_memory(capsys):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, out, _ = run(capsys, "summary", "lenet", "--input", "3,100000,100000")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert code in (0, 1) and after - before < 2**20  # KiB: well under a GiB more at peak
    code, out, _ = run(capsys, "summary", "torchvision:resnet18", "--input", "3,100000,100000")
    assert code == 0 and "more than this machine's" in out and "bytes" in out
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 2**20


def test_torchvision_model_that_cannot_take_the_input(capsys):
    code, out, err = run(capsys, "summary", "torchvision:alexnet", "--input", "3,8,8")
    assert code == 1 and "Traceback" not in err
    assert "0: features" in out and "Conv2d" in out  # the rows up to the failure
    assert "features.2: kernel 3×3 is larger than the 1×1 input" in out


def test_big_integers_in_json_are_refused(capsys, tmp_path):
    (tmp_path / "a.json").write_text('{"blocks": [{"type": "conv2d", "out_channels": '
                                     + "9" * 5000 + "}]}")
    code, _, err = run(capsys, "summary", tmp_path / "a.json")
    assert code == 2 and "cannot be read" in one_error_line(err)


def test_preset_overrides_past_the_bounds(capsys):
    code, _, err = run(capsys, "spec", "lenet", "--input", "99999999999999999999,1,1")
    assert code == 2 and "input_shape" in one_error_line(err)
    code, _, err = run(capsys, "summary", "lenet", "--classes", "1000000000000")
    assert code == 2 and "num_classes" in one_error_line(err)


# ------------------------------------------------------------------ where we write


@pytest.mark.parametrize("name", ["../../x", "/tmp/absolute-run", "..", "a/b\\c"])
def test_network_names_never_choose_the_folder(capsys, tmp_path, monkeypatch, name):
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    code, _, err = run(capsys, "train", tiny(work / "a.json", name=name), *FAST)
    assert code == 0, err
    (run_dir,) = (work / "runs").iterdir()
    assert (run_dir / "best.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep"]
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["work"]


def test_out_into_an_existing_run_needs_overwrite(capsys, tmp_path):
    network, out = tiny(tmp_path / "a.json"), tmp_path / "run"
    assert run(capsys, "train", network, *FAST, "--out", out)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, err = run(capsys, "train", network, *FAST, "--out", out)
    assert code == 2 and "--overwrite" in one_error_line(err)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    code, _, err = run(capsys, "train", network, *FAST, "--out", out, "--overwrite")
    assert code == 0, err


def test_out_never_replaces_the_users_files(capsys, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"mine": true}')
    for extra in ([], ["--overwrite"]):
        code, _, err = run(capsys, "train", tiny(tmp_path / "a.json"), *FAST, "--out", mine,
                           *extra)
        assert code == 2 and "not a training run" in one_error_line(err)
    assert [p.name for p in mine.iterdir()] == ["config.json"]
    assert (mine / "config.json").read_text() == '{"mine": true}'


@pytest.mark.parametrize("where", ["file", "file/under", "/proc/explorer-run"])
def test_out_that_cannot_be_a_folder(capsys, tmp_path, where):
    (tmp_path / "file").write_text("")
    out = where if where.startswith("/") else tmp_path / where
    code, _, err = run(capsys, "train", tiny(tmp_path / "a.json"), *FAST, "--out", out)
    assert code == 2 and str(out) in one_error_line(err)


def test_a_full_disk_names_the_file_and_leaves_no_temporary_file(capsys, tmp_path,
                                                                 monkeypatch):
    out = tmp_path / "run"

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    code, out_text, err = run(capsys, "train", tiny(tmp_path / "a.json"), *FAST, "--out", out)
    assert code == 1 and "Traceback" not in err
    assert f"cannot write {out}" in out_text and "No space left on device" in out_text
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_a_full_output_is_one_line(capsys, monkeypatch):
    import sys

    class Full:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

        def fileno(self):
            return os.open(os.devnull, os.O_WRONLY)

    monkeypatch.setattr(sys, "stdout", Full())
    code = main(["spec", "lenet"])
    err = capsys.readouterr().err
    assert code == 1 and err == ("explorer: error: cannot write the output: No space left on "
                                 "device\n")


# ------------------------------------------------------------------ what we print


def test_escape_codes_in_names_are_shown_not_obeyed(capsys, tmp_path):
    evil = "\x1b[2J\x1b]0;pwned\x07evil\u202e"
    path = tiny(tmp_path / "a.json", name=evil)
    for argv in (["summary", path], ["summary", path, "--json"], ["spec", path]):
        code, out, err = run(capsys, *argv)
        assert code == 0 and not any(c in out + err for c in "\x1b\x07\u202e")
    assert json.loads(run(capsys, "spec", path)[1])["name"] == evil  # JSON keeps its meaning
    code, out, err = run(capsys, "train", path, *FAST, "--out", tmp_path / "r")
    assert code == 0 and "\x1b" not in out + err and "\\u001b[2J" in out
    code, _, err = run(capsys, "blocks", "\x1b[31m")
    assert code == 2 and "\x1b" not in err


# ------------------------------------------------------------------ data and checkpoints


def _idx(path, dims, payload=b""):
    path.write_bytes(struct.pack(">BBBB", 0, 0, 8, len(dims))
                     + b"".join(struct.pack(">I", d) for d in dims) + payload)
    return path


def test_idx_files_that_declare_empty_or_overflowing_sizes(tmp_path):
    with pytest.raises(DataError, match=r"declares 0×0 items"):
        read_idx(_idx(tmp_path / "a", (10**9, 0, 0)))
    with pytest.raises(DataError, match="more than the"):
        read_idx(_idx(tmp_path / "b", (2**32 - 1,) * 4))
    with pytest.raises(DataError, match="truncated"):
        read_idx(_idx(tmp_path / "c", (10, 28, 28), b"\0" * 5))
    with gzip.open(tmp_path / "d.gz", "wb") as f:  # a gzip bomb is read no further than declared
        f.write(_idx(tmp_path / "d", (1, 2, 2)).read_bytes() + b"\0" * 10**6)
    with pytest.raises(DataError, match="corrupt"):
        read_idx(tmp_path / "d.gz")
    assert read_idx(_idx(tmp_path / "e", (1, 2, 2), b"\1\2\3\4")).tolist() == [[[1, 2], [3, 4]]]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real run's best checkpoint (a tiny network on the bundled sample)."""
    folder = tmp_path_factory.mktemp("ckpt")
    spec = folder / "a.json"
    tiny(spec)
    code = main(["train", str(spec), *FAST, "--out", str(folder / "run")])
    assert code == 0
    return folder / "run" / "best"


@pytest.fixture(scope="module")
def digit(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "digit.png"
    Image.fromarray(load_dataset("mnist-sample").test.images[0, 0].numpy()).save(path)
    return path


def _variant(checkpoint, tmp_path, change):
    document = json.loads(checkpoint.with_suffix(".json").read_text())
    change(document)
    (tmp_path / "c.safetensors").write_bytes(checkpoint.with_suffix(".safetensors").read_bytes())
    document["weights"] = "c.safetensors"
    (tmp_path / "c.json").write_text(json.dumps(document))
    return tmp_path / "c.json"


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(classes=["a", "b"]), "names 2 classes but its architecture has 10"),
    (lambda d: d["normalization"].update(mean=[float("nan")]), "mean is [nan]; expected finite"),
    (lambda d: d["normalization"].update(std=[0.0]), "std is [0.0]; expected numbers > 0"),
    (lambda d: d.update(version=0), '"version" is 0; this release reads versions 1 to 1'),
    (lambda d: d.update(classes={"a": 1}), "classes"),
    (lambda d: d.update(metrics=[1]), "metrics"),
])
def test_broken_sidecars(capsys, tmp_path, checkpoint, digit, change, words):
    code, _, err = run(capsys, "predict", "--weights", _variant(checkpoint, tmp_path, change),
                       digit)
    assert code == 2 and words in one_error_line(err)


@pytest.mark.parametrize("content, words", [
    (b"hello world\n", "not a PyTorch file (it starts with the text 'hello world')"),
    (bytes(range(256)) * 4, "not a PyTorch file (it starts with the bytes 00 01 02"),
    (b"\x80\x02" + os.urandom(200), "not a readable PyTorch file"),
    (b"", "not a PyTorch file (the file is empty)"),
])
def test_pt_files_that_are_not_weights(capsys, tmp_path, digit, content, words):
    (tmp_path / "w.pt").write_bytes(content)
    code, _, err = run(capsys, "predict", "--weights", tmp_path / "w.pt", "--arch", "lenet",
                       digit)
    assert code == 2 and words in one_error_line(err)
    assert "weights_only=False" not in err and "Python objects" not in err


def test_special_files_are_refused_and_the_rest_classified(capsys, tmp_path, digit):
    os.mkfifo(tmp_path / "fifo.png")
    code, out, err = run(capsys, "predict", tmp_path / "fifo.png", digit, "/dev/zero", tmp_path)
    assert code == 2
    assert "fifo.png is not an image (it is a named pipe (FIFO))" in err
    assert "/dev/zero is not an image (it is a character device)" in err
    assert "is not an image (it is a folder)" in err
    assert out.startswith(f"{digit}: ")
    os.mkfifo(tmp_path / "a.json")
    code, _, err = run(capsys, "summary", tmp_path / "a.json")
    assert code == 2 and "is a named pipe (FIFO), not a file" in one_error_line(err)
    os.mkfifo(tmp_path / "w.pt")
    code, _, err = run(capsys, "predict", "--weights", tmp_path / "w.pt", "--arch", "lenet",
                       digit)
    assert code == 2 and "named pipe" in one_error_line(err)


def test_a_folder_named_like_a_preset_does_not_shadow_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lenet").mkdir()
    code, out, _ = run(capsys, "summary", "lenet")
    assert code == 0 and out.startswith("lenet  input 1×28×28")
    code, _, err = run(capsys, "summary", "./lenet")
    assert code == 2 and "is a folder, not a file" in one_error_line(err)


# ------------------------------------------------------------------ signals


def _stop_on_batch(monkeypatch, signals):
    """Send ``signals`` to this process, one after the other, when the first batch ends."""
    from explorer.progress import TrainProgress
    from explorer.training import BatchEnd

    pending = list(signals)
    update = TrainProgress.update

    def send(self, event):
        while isinstance(event, BatchEnd) and pending:
            os.kill(os.getpid(), pending.pop(0))
        update(self, event)

    monkeypatch.setattr(TrainProgress, "update", send)


def test_sigterm_stops_like_ctrl_c_and_says_no_best_checkpoint_exists(capsys, tmp_path,
                                                                      monkeypatch, sigint):
    _stop_on_batch(monkeypatch, [signal.SIGTERM])
    out_dir = tmp_path / "run"
    code, out, err = run(capsys, "train", "lenet", "--epochs", "3", "--batch-size", "8",
                         "--out", out_dir)
    assert code == 130, err
    assert "stopped by request after batch 1 of epoch 1" in out
    assert "no best checkpoint yet" in out and str(out_dir / "last.json") in out
    assert (out_dir / "last.safetensors").is_file() and not (out_dir / "best.json").exists()
    assert not [p for p in out_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_second_ctrl_c_exits_quietly(capsys, tmp_path, monkeypatch, sigint):
    _stop_on_batch(monkeypatch, [signal.SIGINT, signal.SIGINT])
    code, _, err = run(capsys, "train", "lenet", "--epochs", "3", "--batch-size", "8",
                       "--out", tmp_path / "run")
    assert code == 130 and err == "explorer: interrupted\n"
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # a third one during exit: ignored


# ------------------------------------------------------------------ last line of defence


def test_an_unexpected_exception_is_one_line_and_a_crash_log(capsys, monkeypatch, state_home):
    from explorer import cli

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setitem(cli.COMMANDS, "presets", broken)
    code, _, err = run(capsys, "presets")
    assert code == 70 and err.count("\n") == 1 and "ZeroDivisionError: a bug" in err
    (log,) = state_home.iterdir()
    assert str(log) in err and "Traceback" in log.read_text()


# ------------------------------------------------------------------ memory


def test_a_network_too_big_for_memory_is_reported_and_not_trained(capsys, tmp_path,
                                                                  monkeypatch):
    from explorer.core import limits

    monkeypatch.setattr(limits.os, "sysconf", lambda name: 1024)  # 1024 pages of 1 KiB
    code, out, _ = run(capsys, "summary", "lenet")  # 1 MiB of "memory": lenet fits
    assert code == 0 and "Warning" not in out
    code, out, _ = run(capsys, "summary", "vgg11")
    assert "Warning: the parameters take" in out and "more than this machine's 1.0 MiB" in out
    code, _, err = run(capsys, "train", "lenet", *FAST, "--out", tmp_path / "run")
    assert code == 2 and "needs at least" in one_error_line(err) and "bytes" in err
    assert not (tmp_path / "run").exists()


def test_progress_bar_is_silent_when_not_a_terminal_and_live_on_one():
    import io

    from explorer.progress import TrainProgress
    from explorer.training import BatchEnd

    event = BatchEnd(epoch=1, batch=3, batches=10, step=3, loss=0.5, lr=0.1,
                     samples_per_second=100.0)
    quiet = io.StringIO()
    progress = TrainProgress(2, stream=quiet)
    progress.update(event)
    progress.line("epoch 1", file=quiet)
    progress.close()
    assert quiet.getvalue() == "epoch 1\n"

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    live = Terminal()
    progress = TrainProgress(2, stream=live)
    progress.update(event)
    progress.line("epoch \x1b[2J1", file=live)
    progress.close()
    assert "epoch 1/2" in live.getvalue() and "loss 0.5000" in live.getvalue()
    assert "epoch \\u001b[2J1" in live.getvalue() and "\x1b[2J" not in live.getvalue()



def test_the_progress_bar_counts_batches_across_epochs_and_shows_the_speed():
    """Batch 3 of 10 in epoch 2 of 2: 13 of 20 batches done, the batch's loss and images/s."""
    import io

    from explorer.progress import TrainProgress
    from explorer.training import BatchEnd

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    progress = TrainProgress(2, stream=Terminal())
    progress.update(BatchEnd(epoch=2, batch=3, batches=10, step=13, loss=0.25, lr=0.1,
                             samples_per_second=1234.0))
    assert (progress.bar.n, progress.bar.total) == (13, 20)
    assert progress.bar.postfix == "loss 0.2500, 1,234 img/s"
    progress.close()

def test_an_unreadable_image_folder_is_a_data_error(capsys, tmp_path, monkeypatch):
    from pathlib import Path

    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)

    def refuse(self, pattern):
        raise PermissionError(errno.EACCES, "Permission denied", str(self / "secret"))

    monkeypatch.setattr(Path, "rglob", refuse)
    code, _, err = run(capsys, "train", "lenet", *FAST, "--dataset", tmp_path / "data",
                       "--out", tmp_path / "run")
    assert code == 2 and "secret cannot be read (Permission denied)" in one_error_line(err)
