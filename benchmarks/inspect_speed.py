"""How long a shape summary takes, against one bare forward pass of the same network.

Target: a summary costs no more than 3 forward passes, so every edit in the app can be
re-inspected at once. Both are timed in the same run (medians of several repeats), and the
ratio is printed, since absolute times on shared machines are noisy.

    python benchmarks/inspect_speed.py [--repeats 15] [--nets course-inception resnet18]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from explorer.core import build_model
from explorer.core.inspector import inspect_spec
from explorer.core.presets import preset_spec


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (imports, first-call caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--nets", nargs="+", default=["course-inception", "resnet18"])
    args = parser.parse_args()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, batch 1")
    print(f"{'network':<18} {'input':>10} {'forward ms':>11} {'summary ms':>11} "
          f"{'rebuild+forward ms':>16} {'summary/forward':>16}")
    for name in args.nets:
        spec = preset_spec(name)
        model = build_model(spec).eval()
        x = torch.zeros(1, *spec.input_shape)

        def forward(model=model, x=x) -> None:
            with torch.no_grad():
                model(x)

        def rebuild_and_forward(spec=spec, x=x) -> None:
            with torch.no_grad():
                build_model(spec).eval()(x)

        fwd = median_seconds(forward, args.repeats)
        summ = median_seconds(lambda spec=spec: inspect_spec(spec, depth=3), args.repeats)
        # what an edit would cost if the real module were rebuilt and run instead
        rebuild = median_seconds(rebuild_and_forward, max(3, args.repeats // 3))
        shape = "×".join(map(str, spec.input_shape))
        print(f"{name:<18} {shape:>10} {fwd * 1e3:>11.2f} {summ * 1e3:>11.2f} "
              f"{rebuild * 1e3:>16.2f} {summ / fwd:>15.2f}×")


if __name__ == "__main__":
    main()
