"""What does a summary cost as containers nest? Ours against torchinfo's, same network.

A conv2d wrapped in N groups (nothing else), summarised on the meta device at depth 2:
``inspect_spec`` (one hooked forward pass) and ``torchinfo.summary`` on the same meta network.
torchinfo's parameter bookkeeping (``leftover_params`` over every descendant, recursively)
doubles per level; ours should grow linearly. Prints seconds per summary and the ratio.

    python benchmarks/nesting_cost.py [--levels 4 8 12 16 18 20]

Measured (2 shared cores, torch 2.14, torchinfo 1.8): at 8 / 16 / 18 / 20 levels ours takes
3.4 / 4.2 / 5.4 / 6.0 ms, torchinfo 2 / 77 / 310 / 1187 ms (ratio 0.6 / 18 / 57 / 199; the
issue saw 5 s at 20 and 62 s at 26 levels); ours at the bound of 32 levels 12 ms.
"""

from __future__ import annotations

import argparse
import json
import time

from explorer.core.builder import build_partial, fast_meta_shapes
from explorer.core.inspector import inspect_spec
from explorer.core.spec import ArchitectureSpec


def nested(levels: int) -> ArchitectureSpec:
    block = {"type": "conv2d", "out_channels": 2}
    for _ in range(levels):
        block = {"type": "group", "blocks": [block]}
    return ArchitectureSpec.from_json(json.dumps(
        {"input_shape": [1, 12, 12], "blocks": [block, {"type": "flatten"}]}))


def best_of(fn, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(spec: ArchitectureSpec) -> tuple[float, float]:
    """Seconds of our summary (best of 3) and of torchinfo's (one run) for ``spec``."""
    import torchinfo

    ours = best_of(lambda: inspect_spec(spec, depth=2))
    network = build_partial(spec, device="meta").network

    def theirs():
        with fast_meta_shapes(network):
            torchinfo.summary(network, input_size=(1, *spec.input_shape), device="meta",
                              depth=2, verbose=0, mode="eval")

    return ours, best_of(theirs, rounds=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[4, 8, 12, 16, 18, 20])
    args = parser.parse_args()
    inspect_spec(nested(2))  # warm-up
    print(f"{'levels':>6}  {'ours (s)':>9}  {'torchinfo (s)':>13}  {'ratio':>7}")
    for levels in args.levels:
        ours, other = measure(nested(levels))
        print(f"{levels:>6}  {ours:>9.4f}  {other:>13.4f}  {other / ours:>7.1f}")
    bound = best_of(lambda: inspect_spec(nested(32), depth=2))
    print(f"{32:>6}  {bound:>9.4f}  (ours, at the nesting bound)")


if __name__ == "__main__":
    main()
