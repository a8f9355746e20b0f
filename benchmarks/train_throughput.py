"""Training throughput of the engine, against the course's loop and a bare loop.

On the course networks and the bundled MNIST sample (4,000 training images), with the
course's setup (SGD lr 0.01 momentum 0.5, batch 64, the same seed), three ways to train:

(a) course: the course's loop — a torchvision-style Dataset giving PIL images, per-sample
    ``ToTensor()`` + ``Normalize((0.1307,), (0.3081,))``, ``DataLoader(batch_size=64,
    shuffle=True)`` with ``num_workers=0``;
(b) bare: preloaded normalised tensors, a permutation and slicing — the practical limit;
(c) engine: ``explorer.training.train``, consuming its events (timed from ``Started`` to the
    last ``BatchEnd`` of each epoch: its test evaluation is left out, as (a) and (b) have none).

Each is timed over the same training samples after a short untimed warm-up, in interleaved
rounds; the medians are printed (the ratios are medians of the per-round ratios).
Targets: the engine within 5 % of the bare loop on both networks, and about 1.4× the
course loop on course-resnet.

    python benchmarks/train_throughput.py [--epochs 1] [--rounds 3]
        [--nets course-resnet course-inception]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms

from explorer.core import build_model
from explorer.core.presets import preset_spec
from explorer.data import Dataset, load_dataset
from explorer.training import BatchEnd, EpochEnd, Started, TrainConfig, train

SEED = 0
BATCH = 64
LR, MOMENTUM = 0.01, 0.5
MEAN, STD = 0.1307, 0.3081


class CourseMNIST(torch.utils.data.Dataset):
    """Like ``torchvision.datasets.MNIST``: one PIL image per item, then the transform."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform) -> None:
        self.images = images[:, 0].numpy()
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        image = Image.fromarray(self.images[index], mode="L")
        return self.transform(image), self.labels[index]


def fresh_model(spec) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(SEED)
    model = build_model(spec, device="cpu")
    model.train()
    return model, torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)


def samples_per_second(run, spec, epochs: int, warmup: int) -> float:
    """Warm up ``run`` on a throw-away model, then time ``epochs`` epochs on a fresh one."""
    run(*fresh_model(spec), limit=warmup)
    model, optimizer = fresh_model(spec)
    start = time.perf_counter()
    seen = sum(run(model, optimizer) for _ in range(epochs))
    return seen / (time.perf_counter() - start)


def course_loop(spec, data: Dataset, epochs: int, warmup: int) -> float:
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))]
    )
    train_set = CourseMNIST(data.train.images, data.train.labels, transform)
    loader = DataLoader(train_set, batch_size=BATCH, shuffle=True, num_workers=0,
                        generator=torch.Generator().manual_seed(SEED))
    criterion = nn.CrossEntropyLoss()

    def run(model, optimizer, limit=None) -> int:
        seen, running_loss = 0, 0.0
        for batch, (x, y) in enumerate(loader, start=1):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            seen += len(y)
            if limit is not None and batch >= limit:
                break
        return seen

    return samples_per_second(run, spec, epochs, warmup)


def bare_loop(spec, data: Dataset, epochs: int, warmup: int) -> float:
    x_all = (data.train.images.float() / 255 - MEAN) / STD
    y_all = data.train.labels
    n = len(y_all)
    generator = torch.Generator().manual_seed(SEED)

    def run(model, optimizer, limit=None) -> int:
        order = torch.randperm(n, generator=generator)
        seen = 0
        for batch, i in enumerate(range(0, n, BATCH), start=1):
            index = order[i : i + BATCH]
            x, y = x_all[index], y_all[index]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            seen += len(index)
            if limit is not None and batch >= limit:
                break
        return seen

    return samples_per_second(run, spec, epochs, warmup)


def engine(spec, data: Dataset, epochs: int, warmup: int) -> float:
    config = TrainConfig(epochs=epochs, batch_size=BATCH, optimizer="sgd", lr=LR,
                         momentum=MOMENTUM, seed=SEED, device="cpu")
    warm = dataclasses.replace(config, epochs=1, max_batches_per_epoch=warmup)
    for _ in train(spec, warm, dataset=data):
        pass
    seconds, mark, last = 0.0, 0.0, 0.0
    for event in train(spec, config, dataset=data):
        now = time.perf_counter()
        if isinstance(event, Started):
            mark = now
        elif isinstance(event, BatchEnd):
            last = now
        elif isinstance(event, EpochEnd):
            seconds += last - mark
            mark = now
    return epochs * len(data.train) / seconds


METHODS = {"course": course_loop, "bare": bare_loop, "engine": engine}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repeats")
    parser.add_argument("--warmup", type=int, default=10, help="untimed warm-up batches")
    parser.add_argument("--nets", nargs="+", default=["course-resnet", "course-inception"])
    args = parser.parse_args()

    data = load_dataset("mnist-sample")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; "
          f"{data.name}: {len(data.train)} training images, batch {BATCH}, "
          f"SGD lr {LR} momentum {MOMENTUM}, seed {SEED}")
    print(f"{args.epochs} timed epoch(s) after {args.warmup} warm-up batches, "
          f"median of {args.rounds} interleaved rounds")
    print("course: PIL images, per-sample ToTensor + Normalize, DataLoader(batch_size=64, "
          "shuffle=True, num_workers=0)")
    print("engine: timed from Started to each epoch's last BatchEnd (evaluation excluded)\n")

    specs = {name: preset_spec(name) for name in args.nets}
    results = {(net, m): [] for net in args.nets for m in METHODS}
    for round_ in range(1, args.rounds + 1):
        for net, spec in specs.items():
            for method, measure in METHODS.items():
                rate = measure(spec, data, args.epochs, args.warmup)
                results[net, method].append(rate)
                print(f"  round {round_}  {net:<17} {method:<7} {rate:8.0f} samples/s",
                      flush=True)

    print(f"\n{'net':<17} {'course/s':>9} {'bare/s':>9} {'engine/s':>9} "
          f"{'engine/course':>14} {'engine/bare':>12}")
    for net in args.nets:
        course, bare, eng = (results[net, m] for m in METHODS)
        # ratios within each round, then their median: robust to a machine that speeds up or
        # slows down between rounds
        over_course = statistics.median(e / c for e, c in zip(eng, course))
        over_bare = statistics.median(e / b for e, b in zip(eng, bare))
        print(f"{net:<17} {statistics.median(course):9.0f} {statistics.median(bare):9.0f} "
              f"{statistics.median(eng):9.0f} {over_course:13.2f}× {over_bare:11.3f}×")
    print("samples/s: medians over rounds; ratios: medians of the per-round ratios")


if __name__ == "__main__":
    main()
