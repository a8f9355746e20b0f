"""``explorer train`` and ``explorer predict``: results, files, and one-line errors."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.data import load_dataset
from explorer.training import EpochEnd, Finished

SAMPLE_TEST = load_dataset("mnist-sample").test


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_json_result_and_run_folder(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, err = run(capsys, "train", "lenet", "--epochs", "2", "--max-batches", "5",
                         "--batch-size", "32", "--lr", "0.1", "--out", str(out_dir), "--json")
    assert code == 0, err
    result = json.loads(out)
    for key in ("test_accuracy", "best_test_accuracy", "epochs", "samples_per_second",
                "checkpoint"):
        assert key in result
    assert result["epochs"] == 2 and result["status"] == "finished"
    assert 0 <= result["test_accuracy"] <= 1 and result["samples_per_second"] > 0
    assert (out_dir / "best.safetensors").is_file() and (out_dir / "metrics.csv").is_file()
    assert "epoch   2/2" in err  # per-epoch lines go to stderr when stdout is JSON
    sample = load_dataset("mnist-sample")
    assert f"on mnist-sample ({len(sample.train):,} training, {len(sample.test):,} test " \
        "images)" in err

    # the checkpoint classifies an image through `predict --weights`
    image = tmp_path / "digit.png"
    Image.fromarray(SAMPLE_TEST.images[0, 0].numpy()).save(image)
    code, out, err = run(capsys, "predict", "--weights", result["checkpoint"], str(image),
                         "--json")
    assert code == 0, err
    (entry,) = json.loads(out)
    assert entry["file"] == str(image) and entry["label"] in [str(i) for i in range(10)]
    assert sum(entry["probabilities"]) == pytest.approx(1, abs=1e-4)


# two epochs and the end of a run, every figure different, as the training engine sends them
EPOCHS = [EpochEnd(1, 2, train_loss=0.5, train_accuracy=0.25, test_loss=0.75,
                   test_accuracy=0.125, epoch_time=3.5, is_best=True),
          EpochEnd(2, 2, train_loss=0.375, train_accuracy=0.3125, test_loss=0.625,
                   test_accuracy=0.0625, epoch_time=12.0, is_best=False)]
FINISHED = Finished("finished", "", epochs_done=2, best_test_accuracy=0.125,
                    test_accuracy=0.0625, checkpoint="run/best.json", elapsed=15.5,
                    samples_per_second=1234.4)


def test_epoch_lines_show_each_figure_under_its_name(capsys):
    from explorer.cli import _drive_training

    log = io.StringIO()
    control = SimpleNamespace(stopped=False, stop=lambda: None)
    assert _drive_training(iter([*EPOCHS, FINISHED]), control, 2, log) is FINISHED
    assert log.getvalue().splitlines() == [
        "epoch   1/2  loss 0.5000  train 25.00%  test loss 0.7500  test 12.50%    3.5 s  best",
        "epoch   2/2  loss 0.3750  train 31.25%  test loss 0.6250  test  6.25%   12.0 s",
    ]


def test_the_result_reads_the_last_and_best_accuracy_apart(capsys, tmp_path):
    from explorer.cli import _report_training

    assert _report_training(FINISHED, tmp_path, as_json=False) == 0
    assert capsys.readouterr().out.splitlines() == [
        "finished", "best test accuracy 12.50%; checkpoint run/best.json; 1,234 images/s; 15.5 s"]
    _report_training(FINISHED, tmp_path, as_json=True)
    result = json.loads(capsys.readouterr().out)
    assert (result["test_accuracy"], result["best_test_accuracy"]) == (0.0625, 0.125)
    assert (result["epochs"], result["samples_per_second"], result["elapsed"]) == \
        (2, 1234.4, 15.5)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--lr", "-0.1"], ["lr = -0.1", "> 0"]),
        (["--batch-size", "0"], ["batch_size = 0"]),
        (["--epochs", "0"], ["epochs = 0"]),
        (["--optimizer", "rmsprop"], ["optimizer", "sgd"]),
        (["--schedule", "linear"], ["schedule", "cosine"]),
        (["--dataset", "imagenet"], ["unknown data source 'imagenet'", "mnist-sample"]),
        (["--device", "tpu"], ["device"]),
    ],
)
def test_train_rejects_bad_options_with_one_line(capsys, tmp_path, argv, words):
    code, _, err = run(capsys, "train", "lenet", "--out", str(tmp_path / "r"), *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("explorer: error:")
    for word in words:
        assert word in err
    assert not (tmp_path / "r").exists()


def test_train_options_come_from_the_settings_schema(capsys):
    from explorer.training import SETTINGS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for setting in SETTINGS:
        assert "--" + setting.name.replace("_", "-") in text
        if setting.kind != "bool" and setting.default is not None:
            assert f"(default {setting.default})" in text
    assert "--optimizer {sgd,adam,adamw}" in text
    assert "--schedule {none,step,cosine,onecycle}" in text
    assert "SGD momentum (default 0.5); only with --optimizer sgd" in text
    assert "--amp, --no-amp" in text and "--max-batches N" in text


def test_train_options_reach_the_run_and_the_rest_are_the_defaults(capsys, tmp_path):
    from explorer.training import TrainConfig

    out_dir = tmp_path / "run"
    code, _, err = run(capsys, "train", "lenet", "--epochs", "1", "--max-batches", "2",
                       "--optimizer", "adamw", "--lr", "0.002", "--weight-decay", "0.01",
                       "--schedule", "step", "--step-size", "1", "--gamma", "0.5",
                       "--no-amp", "--augment", "--seed", "7", "--eval-batch-size", "256",
                       "--out", str(out_dir), "--json")
    assert code == 0, err
    saved = json.loads((out_dir / "config.json").read_text())["config"]
    assert saved == TrainConfig(epochs=1, max_batches_per_epoch=2, optimizer="adamw", lr=0.002,
                                weight_decay=0.01, schedule="step", step_size=1, gamma=0.5,
                                amp=False, augment=True, seed=7,
                                eval_batch_size=256).to_dict()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--optimizer", "adam", "--momentum", "0.9"],
         ["--momentum is used only with --optimizer sgd", "--optimizer is adam"]),
        (["--gamma", "0.5"], ["--gamma is used only with --schedule step", "--schedule is none"]),
        (["--epochs", "two"], ["argument --epochs", "'two' is not an integer"]),
        (["--lr", "fast"], ["argument --lr", "'fast' is not a number"]),
    ],
)
def test_train_refuses_options_that_would_be_ignored_or_do_not_parse(capsys, tmp_path, argv,
                                                                      words):
    code, _, err = run(capsys, "train", "lenet", "--out", str(tmp_path / "r"), *argv)
    assert code == 2 and err.count("\n") == 1
    for word in words:
        assert word in err
    assert not (tmp_path / "r").exists()


def test_train_rejects_a_network_that_does_not_end_in_classes(capsys, tmp_path):
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"input_shape": [1, 28, 28], "num_classes": 10,
                                "blocks": [{"type": "conv2d", "out_channels": 4}]}))
    code, _, err = run(capsys, "train", str(path), "--out", str(tmp_path / "r"))
    assert code == 2 and "class" in err and err.count("\n") == 1


def test_train_refuses_a_network_with_nothing_to_learn_before_making_a_run(capsys, tmp_path):
    path = tmp_path / "pooling.json"  # ten channels pooled to ten "scores": no weight at all
    path.write_text(json.dumps({"name": "pooling", "input_shape": [10, 4, 4], "num_classes": 10,
                                "blocks": [{"type": "global_avg_pool"}, {"type": "flatten"}]}))
    code, out, err = run(capsys, "train", str(path), "--out", str(tmp_path / "r"))
    assert code == 2 and out == ""
    assert err == ("explorer: error: 'pooling' has no parameters to train (its layers have no "
                   "weights); add a layer that learns, such as conv2d or linear\n")
    assert not (tmp_path / "r").exists()


def digit_png(path, index=0, invert=False, size=140):
    pixels = SAMPLE_TEST.images[index, 0].numpy()
    image = Image.fromarray(255 - pixels if invert else pixels).resize((size, size))
    image.save(path)
    return int(SAMPLE_TEST.labels[index])


def test_train_starts_from_the_seeds_weights_as_the_window_does(capsys, tmp_path):
    """The same network, settings and seed train to the same weights from the command line
    and from the window (which builds the model from a generator seeded with the seed)."""
    import torch
    from safetensors.torch import load_file

    from explorer.core import build_model
    from explorer.core.presets import preset_spec
    from explorer.training import TrainConfig, train

    code, _, err = run(capsys, "train", "lenet", "--epochs", "1", "--max-batches", "3",
                       "--seed", "5", "--out", str(tmp_path / "cli"), "--json")
    assert code == 0, err
    config = TrainConfig(epochs=1, max_batches_per_epoch=3, seed=5)
    spec = preset_spec("lenet")
    model = build_model(spec, "cpu", generator=torch.Generator().manual_seed(5))
    events = list(train(spec, config, dataset=load_dataset("mnist-sample"),
                        run_dir=tmp_path / "window", model=model))
    assert events[-1].status == "finished"
    cli, window = (load_file(tmp_path / d / "last.safetensors") for d in ("cli", "window"))
    assert cli.keys() == window.keys()
    for name in cli:
        assert torch.equal(cli[name], window[name]), name


def test_predict_with_the_bundled_model(capsys, tmp_path):
    files, labels = [], []
    for i in range(6):
        path = tmp_path / f"d{i}.png"
        labels.append(digit_png(path, index=i, invert=i % 2 == 1))
        files.append(str(path))
    code, out, err = run(capsys, "predict", *files, "--json")
    assert code == 0, err
    results = json.loads(out)
    assert [r["label"] for r in results] == [str(label) for label in labels]
    code, out, _ = run(capsys, "predict", files[0])
    confidence = max(results[0]["probabilities"])  # the predicted class's probability
    assert out == f"{files[0]}: {labels[0]} ({confidence:.1%})\n"


def test_predict_reports_bad_files_by_name_and_classifies_the_rest(capsys, tmp_path):
    good = tmp_path / "good.png"
    label = digit_png(good)
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    empty = tmp_path / "empty.png"
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(empty)
    code, out, err = run(capsys, "predict", str(bad), str(good), str(empty), "--json")
    assert code == 2
    assert "notes.png" in err and err.count("\n") == 1
    results = json.loads(out)
    assert "error" in results[0]
    assert results[1]["label"] == str(label)
    assert results[2]["label"] is None


def test_predict_refuses_a_corrupt_checkpoint(capsys, tmp_path):
    image = tmp_path / "d.png"
    digit_png(image)
    broken = tmp_path / "model.json"
    broken.write_text("{ not json")
    code, _, err = run(capsys, "predict", "--weights", str(broken), str(image))
    assert code == 2 and "model.json" in err and err.count("\n") == 1
