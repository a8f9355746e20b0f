"""Does training in a thread stall the main (GUI) thread, and does ``gc.freeze`` help?

A long-lived app holds many Python objects (Qt wrappers, torch modules, pyqtgraph items); a
full garbage collection in the training thread walks all of them while holding the GIL, and
the GUI thread waits. This measures it: the main thread runs a 1 ms timer loop
(``time.sleep(0.001)``) and records the longest gap between two ticks while the engine
trains LeNet on the bundled MNIST sample in a worker thread, in three modes, interleaved:

(a) idle: no training (the timer's own noise on this machine);
(b) plain: training as the engine does it (no gc.freeze);
(c) frozen: ``gc.collect(); gc.freeze()`` before the run and ``gc.unfreeze()`` after it,
    what the engine used to do (without the unfreeze).

An app-sized heap (``--objects``, default 500,000 small containers) is built first, and each
tick the main thread keeps a few objects for a while (``--churn`` per tick, alive for 2,000
ticks), as a window's events and plot buffers do, so that objects reach the oldest
generation and full collections happen. One untimed warm-up run comes first. The longest
gap, the 99th percentile and the number of full (generation 2) collections are printed per
mode, with the medians over the rounds.

    python benchmarks/gc_stall.py [--rounds 3] [--batches 300] [--objects 500000] [--churn 300]

Measured (2 shared, loaded cores, Python 3.11, torch 2.14): with ``--churn 20`` no full
collection happened during a run and the longest gaps were 9 / 27 / 17 ms (idle / plain /
frozen, noise); with ``--churn 300`` one full collection per run stalled the main thread
522 ms idle, 552 ms plain and 107 ms frozen. The stall is the collector walking the app's
heap, whichever thread triggers it; training adds nothing to it. So the engine does not
freeze (a freeze around a run would also undo an app's own ``gc.freeze``); an app that wants
the gain freezes once after start-up.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import threading
import time
from collections import deque

import torch

from explorer.core.presets import preset_spec
from explorer.data import load_dataset
from explorer.training import TrainConfig, train


def _heap(objects: int) -> list:
    """Long-lived objects the collector must walk, as an app's would be."""
    return [{"i": i, "items": [i, (i,)]} for i in range(objects // 3)]


def _measure(work, freeze: bool, churn: int) -> tuple[float, float, int]:
    """(longest gap ms, 99th percentile ms, full collections) while ``work`` runs."""
    full = [0]
    kept: deque = deque(maxlen=2000)

    def count(phase, info):
        if phase == "start" and info["generation"] == 2:
            full[0] += 1

    if freeze:
        gc.collect()
        gc.freeze()
    gc.callbacks.append(count)
    worker = threading.Thread(target=work)
    gaps = []
    try:
        worker.start()
        last = time.perf_counter()
        while worker.is_alive():
            time.sleep(0.001)
            kept.append([[i] for i in range(churn)])  # lists: tracked by the collector
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
        worker.join()
    finally:
        gc.callbacks.remove(count)
        if freeze:
            gc.unfreeze()
    gaps.sort()
    return gaps[-1] * 1000, gaps[int(len(gaps) * 0.99)] * 1000, full[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=300, help="training batches per run")
    parser.add_argument("--objects", type=int, default=500_000)
    parser.add_argument("--churn", type=int, default=300, help="objects kept per tick")
    args = parser.parse_args()
    torch.set_num_threads(1)
    heap = _heap(args.objects)
    dataset = load_dataset("mnist-sample")
    spec = preset_spec("lenet", num_classes=10)
    config = TrainConfig(epochs=1, max_batches_per_epoch=args.batches, device="cpu")

    def run_training():
        for _ in train(spec, config, dataset=dataset):
            pass

    def idle():
        time.sleep(1.0)

    print(f"heap: {len(gc.get_objects()):,} tracked objects; {args.batches} LeNet batches "
          f"per run; {args.churn} objects kept per tick; {args.rounds} rounds")
    _measure(run_training, freeze=False, churn=args.churn)  # warm-up
    results: dict[str, list[tuple[float, float, int]]] = {"idle": [], "plain": [], "frozen": []}
    for _ in range(args.rounds):
        results["idle"].append(_measure(idle, freeze=False, churn=args.churn))
        results["plain"].append(_measure(run_training, freeze=False, churn=args.churn))
        results["frozen"].append(_measure(run_training, freeze=True, churn=args.churn))
    for mode, rows in results.items():
        worst = statistics.median(r[0] for r in rows)
        p99 = statistics.median(r[1] for r in rows)
        full = statistics.median(r[2] for r in rows)
        each = ", ".join(f"{r[0]:.1f}" for r in rows)
        print(f"{mode:>6}: longest gap {worst:6.1f} ms (rounds: {each}), p99 {p99:5.1f} ms, "
              f"full collections {full:g}")
    plain = statistics.median(r[0] for r in results["plain"])
    frozen = statistics.median(r[0] for r in results["frozen"])
    print(f"longest gap, plain / frozen: {plain / frozen:.2f}")
    del heap


if __name__ == "__main__":
    main()
