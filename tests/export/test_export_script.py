"""The exported training script: one process, torchrun with two Gloo processes, the app's
checkpoint format, resuming, and the three kinds of --data."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from export_helpers import load_code
from PIL import Image

from explorer.core.spec import ArchitectureSpec
from explorer.export.script import export_script
from explorer.paths import resource_path
from explorer.training.checkpoint import load_checkpoint
from explorer.training.config import TrainConfig

TINY = ArchitectureSpec.from_dict({
    "name": "tiny", "input_shape": [1, 28, 28], "num_classes": 10,
    "blocks": [{"type": "conv2d", "out_channels": 4, "kernel_size": 5},
               {"type": "relu"}, {"type": "max_pool2d", "kernel_size": 4},
               {"type": "flatten"}, {"type": "linear", "out_features": "classes"}],
})


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    folder = tmp_path_factory.mktemp("script")
    path = folder / "train.py"
    path.write_text(export_script(TINY), encoding="utf-8")
    sample = np.load(resource_path("mnist_sample.npz"))
    np.savez(folder / "small.npz", images=sample["images"][:300], labels=sample["labels"][:300])
    return path


def _run(args, cwd, timeout=240):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, timeout=timeout,
                          capture_output=True, text=True, check=False)


def test_defaults_are_the_apps(script):
    text = script.read_text()
    config = TrainConfig()
    assert f"default={config.lr!r}" in text and f"default={config.momentum!r}" in text
    assert f'"--batch-size", type=int, default={config.batch_size}' in text
    assert f"default={config.optimizer!r}" in text



@pytest.mark.parametrize("schedule", ["step", "cosine", "onecycle"])
def test_the_scripts_schedule_is_the_apps(script, schedule):
    """Seven epochs of five batches: a step (× 0.5) every 7 // 3 = 2 epochs, a cosine over
    7 epochs, one cycle over 35 batches, as the app schedules them."""
    from explorer.training.engine import make_scheduler

    module = load_code(script.read_text(), "train_script")
    args = module.parse_args(["--data", "x.npz", "--epochs", "7", "--schedule", schedule,
                              "--gamma", "0.5"])
    weights = [torch.nn.Parameter(torch.zeros(1))]
    exported = module.make_scheduler(args, torch.optim.SGD(weights, lr=args.lr), 5)
    config = TrainConfig(epochs=7, schedule=schedule, gamma=0.5)
    app = make_scheduler(torch.optim.SGD(weights, lr=config.lr), config, 5)
    expected = {"step": {"step_size": 2, "gamma": 0.5},
                "cosine": {"T_max": 7, "eta_min": 0.0},
                "onecycle": {"total_steps": 35}}[schedule]
    assert type(exported) is type(app)
    assert {k: getattr(exported, k) for k in expected} == expected
    assert {k: getattr(app, k) for k in expected} == expected

def test_one_process_trains_checkpoints_and_resumes(script):
    folder = script.parent
    done = _run([script, "--data", "small.npz", "--epochs", "1", "--out", "run1"], folder)
    assert done.returncode == 0, done.stderr
    assert "epoch   1/1" in done.stdout and "1 process(es)" in done.stdout
    best = load_checkpoint(folder / "run1" / "best.json")  # the app opens it
    assert best.spec.blocks == TINY.blocks and best.epoch == 1
    assert best.classes == [str(i) for i in range(10)] and best.metrics["test_accuracy"] > 0
    again = _run([script, "--data", "small.npz", "--epochs", "2", "--out", "run1"], folder)
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stdout and "epoch   2/2" in again.stdout
    assert "epoch   1/" not in again.stdout
    assert load_checkpoint(folder / "run1" / "last.json").epoch == 2
    rows = [json.loads(r) for r in (folder / "run1" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    accuracies = [r["test_accuracy"] for r in rows]  # the best is the first epoch at the top
    assert load_checkpoint(folder / "run1" / "best.json").epoch == \
        1 + accuracies.index(max(accuracies))
    # train and test loss are both means per image: of one size on the same small data
    assert all(0.5 < r["train_loss"] / r["test_loss"] < 2 for r in rows), rows


# Runs the exported script under torchrun, rank 0 slow to save its checkpoints, and writes
# when each rank saved and when it tore its process group down.
_TIMED = """
import sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import train as script

rank = script.os.environ["RANK"]
save, destroy = script.save_checkpoint, script.dist.destroy_process_group

def slow_save(*args, **kwargs):
    time.sleep(1.0)
    save(*args, **kwargs)
    Path(f"saved-{rank}").write_text(str(time.time()))

def timed_destroy(*args, **kwargs):
    Path(f"destroyed-{rank}").write_text(str(time.time()))
    destroy(*args, **kwargs)

script.save_checkpoint, script.dist.destroy_process_group = slow_save, timed_destroy
sys.exit(script.main())
"""


def test_torchrun_two_gloo_processes_train_resume_and_end_together(script):
    """Two processes train, rank 0 alone logs and writes the app's checkpoints, and no rank
    destroys the process group while rank 0 still writes them (which aborted a run now and
    then: "terminate called without an active exception"); twice, the second run resuming."""
    folder = script.parent
    (folder / "timed.py").write_text(_TIMED)
    for epochs in (1, 2):
        done = _run(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                     "timed.py", "--data", "small.npz", "--epochs", str(epochs),
                     "--out", "ddp"], folder, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "terminate called" not in done.stderr
        assert "2 process(es) on cpu" in done.stdout
        assert done.stdout.count(f"epoch   {epochs}/{epochs}") == 1  # rank 0 logs alone
        assert "epoch   1/2" not in done.stdout  # the second run resumed after epoch 1
        saved = float((folder / "saved-0").read_text())
        assert not (folder / "saved-1").exists()
        for rank in (0, 1):
            assert float((folder / f"destroyed-{rank}").read_text()) >= saved
    assert load_checkpoint(folder / "ddp" / "last.json").epoch == 2
    rows = [json.loads(r) for r in (folder / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and rows[0]["processes"] == 2


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_and_image_folders(script, tmp_path):
    module = load_code(script.read_text(), "train_script")
    sample = np.load(resource_path("mnist_sample.npz"))
    idx = tmp_path / "idx"
    idx.mkdir()
    for prefix, part in (("train", slice(0, 64)), ("t10k", slice(64, 96))):
        _write_idx(idx / f"{prefix}-images-idx3-ubyte.gz", sample["images"][part])
        _write_idx(idx / f"{prefix}-labels-idx1-ubyte.gz", sample["labels"][part])
    assert module.main(["--data", str(idx), "--epochs", "1", "--out", str(tmp_path / "a")]) == 0
    assert load_checkpoint(tmp_path / "a" / "last.json").epoch == 1
    images = tmp_path / "images"
    for label in ("cat", "dog"):
        (images / label).mkdir(parents=True)
        for i in range(6):
            rgb = np.random.default_rng(i).integers(0, 255, (40, 30, 3), dtype=np.uint8)
            Image.fromarray(rgb).save(images / label / f"{i}.png")
    assert module.main(["--data", str(images), "--epochs", "1", "--out", str(tmp_path / "b")]) == 0
    assert load_checkpoint(tmp_path / "b" / "best.json").classes[:2] == ["cat", "dog"]


def test_bad_data_is_one_clear_error(script, tmp_path):
    folder = script.parent
    np.savez(tmp_path / "wrong.npz", pictures=np.zeros((4, 28, 28), np.uint8))
    done = _run([script, "--data", tmp_path / "wrong.npz", "--out", tmp_path / "r"], folder)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "train.py: error: " + f"{tmp_path / 'wrong.npz'}: needs arrays 'images' and 'labels' "
        "(it has pictures)"]
