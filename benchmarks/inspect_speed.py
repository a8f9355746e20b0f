"""How long a shape summary takes, against one bare forward pass of the same network.

Target: a summary costs no more than 3 forward passes, so every edit in the app can be
re-inspected at once. Both are timed in the same run (medians of several repeats), and the
ratio is printed, since absolute times on shared machines are noisy. ``--before DIR`` also
times the summary of another checkout of the project (say, main before a change) in a
child process, on the same machine in the same run, and prints after/before.

    python benchmarks/inspect_speed.py [--repeats 15] [--nets course-inception resnet18]
        [--torchvision resnet18 googlenet vit_b_16] [--before /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from timing import median_ms  # benchmarks/timing.py, beside this script


def summarise(name: str):
    """The summary a user gets for ``name`` (a preset, or ``torchvision:NAME``)."""
    from explorer.core.inspector import inspect_spec, inspect_torchvision
    from explorer.core.presets import preset_spec

    if name.startswith("torchvision:"):
        return inspect_torchvision(name, num_classes=1000, depth=3)
    return inspect_spec(preset_spec(name), depth=3)


def real_network(name: str):
    """``(model on the CPU in eval mode, its input shape)``."""
    from explorer.core import build_model
    from explorer.core.presets import preset_spec, torchvision_model

    if name.startswith("torchvision:"):
        model = torchvision_model(name, num_classes=1000, device="cpu")
        return model, model.input_shape
    spec = preset_spec(name)
    return build_model(spec).eval(), tuple(spec.input_shape)


def summary_seconds_in(tree: str, name: str, repeats: int) -> float:
    """Median seconds of ``name``'s summary with the project imported from ``tree``."""
    env = {**os.environ, "PYTHONPATH": os.path.abspath(tree)}
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--summary-only", name,
         "--repeats", str(repeats)],
        env=env, cwd=tree, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--nets", nargs="*", default=["course-inception", "resnet18"])
    parser.add_argument("--torchvision", nargs="*", default=[], metavar="NAME",
                        help="torchvision models, e.g. resnet18 googlenet vit_b_16")
    parser.add_argument("--before", metavar="DIR", help="another checkout to compare with")
    parser.add_argument("--summary-only", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.summary_only:  # the child process of --before
        print(median_ms(lambda: summarise(args.summary_only), args.repeats) / 1e3)
        return

    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, batch 1")
    before = f"{'before ms':>10} {'after/before':>13}" if args.before else ""
    print(f"{'network':<22} {'input':>10} {'forward ms':>11} {'summary ms':>11} "
          f"{'summary/forward':>16} {before}")
    names = args.nets + [f"torchvision:{n}" for n in args.torchvision]
    for name in names:
        model, shape = real_network(name)
        x = torch.zeros(1, *shape)

        def forward(model=model, x=x) -> None:
            with torch.no_grad():
                model(x)

        big = name.startswith("torchvision:")
        repeats = max(3, args.repeats // 3) if big else args.repeats
        fwd = median_ms(forward, repeats) / 1e3
        summ = median_ms(lambda name=name: summarise(name), repeats) / 1e3
        line = (f"{name:<22} {'×'.join(map(str, shape)):>10} {fwd * 1e3:>11.2f} "
                f"{summ * 1e3:>11.2f} {summ / fwd:>15.2f}×")
        if args.before:
            old = summary_seconds_in(args.before, name, repeats)
            line += f" {old * 1e3:>10.2f} {summ / old:>12.2f}×"
        print(line, flush=True)


if __name__ == "__main__":
    main()
