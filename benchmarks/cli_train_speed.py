"""``explorer train`` as a user runs it, against a bare PyTorch script doing the same work.

Both are whole processes, start-up included, timed from launch to exit:

- explorer: ``python -m explorer train lenet --epochs N --out DIR`` on the bundled sample
  (it also writes its run folder: configuration, metrics, checkpoints);
- bare: a script of plain PyTorch that loads the same sample, normalises it once, builds
  LeNet by hand (Xavier weights, as the preset), and trains it with the same settings
  (SGD lr 0.01 momentum 0.5, batch 64, shuffled each epoch), evaluating the 500 test images
  after each epoch, then saves its weights once.

They run interleaved, the medians are printed, and the ratio bare seconds / explorer seconds
(≥ 1: explorer at least as fast), of wall time and of CPU time (user + system, which a
machine shared with other work disturbs less than the wall time). ``--profile`` writes a cProfile of one explorer run.

    python benchmarks/cli_train_speed.py [--epochs 3] [--rounds 5] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "resources" / "mnist_sample.npz"

BARE = '''
import sys
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

epochs, sample, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
torch.manual_seed(0)
data = np.load(sample)
images = torch.from_numpy(data["images"]).float().div_(255).sub_(0.1307).div_(0.3081)
images = images.reshape(-1, 1, 28, 28)
labels = torch.from_numpy(data["labels"]).long()
train_x, train_y, test_x, test_y = images[:4000], labels[:4000], images[4000:], labels[4000:]
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
    nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
    nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))
for layer in model:
    if isinstance(layer, (nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(layer.weight)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
for epoch in range(epochs):
    model.train()
    order = torch.randperm(len(train_y))
    for i in range(0, len(order), 64):
        index = order[i:i + 64]
        loss = F.cross_entropy(model(train_x[index]), train_y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
    print(f"epoch {epoch + 1}: test accuracy {accuracy:.2%}")
torch.save(model.state_dict(), out)
'''


def seconds(argv: list[str], env: dict, cpu: list[float] | None = None) -> float:
    """Wall seconds of one run; its CPU seconds (user + system) appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", metavar="FILE", help="cProfile one explorer run into FILE")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "bare.py").write_text(BARE)

        def explorer(i: int, *profile: str) -> list[str]:
            return [sys.executable, *profile, "-m", "explorer", "train", "lenet", "--epochs",
                    str(args.epochs), "--out", str(folder / f"run{i}")]

        bare = [sys.executable, str(folder / "bare.py"), str(args.epochs), str(SAMPLE),
                str(folder / "bare.pt")]
        if args.profile:
            seconds(explorer(0, "-m", "cProfile", "-o", args.profile), env)
            print(f"profile of one explorer run in {args.profile}")
        times: dict[str, list[float]] = {"explorer": [], "bare": []}
        cpu: dict[str, list[float]] = {"explorer": [], "bare": []}
        seconds(bare, env)  # warm the file cache
        for i in range(1, args.rounds + 1):
            times["explorer"].append(seconds(explorer(i), env, cpu["explorer"]))
            times["bare"].append(seconds(bare, env, cpu["bare"]))
            print(f"  round {i}: explorer {times['explorer'][-1]:.2f} s "
                  f"({cpu['explorer'][-1]:.2f} s CPU), bare {times['bare'][-1]:.2f} s "
                  f"({cpu['bare'][-1]:.2f} s CPU)", flush=True)
    print(f"LeNet, {args.epochs} epochs of 4,000 images, {args.rounds} interleaved rounds "
          "(medians; bare/explorer ≥ 1: explorer at least as fast):")
    for label, values in (("wall", times), ("CPU", cpu)):
        ratios = [b / e for b, e in zip(values["bare"], values["explorer"])]
        print(f"  {label:<4} explorer {statistics.median(values['explorer']):.2f} s, bare "
              f"{statistics.median(values['bare']):.2f} s; bare/explorer "
              f"{statistics.median(ratios):.3f}× (median of the per-round ratios)")


if __name__ == "__main__":
    main()
