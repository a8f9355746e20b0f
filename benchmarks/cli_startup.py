"""How long the quick commands take, against starting Python itself.

``explorer --help``, ``presets``, ``blocks`` and ``spec NAME`` answer without importing torch;
each is run as a fresh process (as a user types it), interleaved with ``python -c pass`` and
``python -c "import torch"`` for scale, and the medians are printed with each command's time
beyond a bare Python start. Target: each command within 0.3 s.

    python benchmarks/cli_startup.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "explorer --help": [sys.executable, "-m", "explorer", "--help"],
    "explorer presets": [sys.executable, "-m", "explorer", "presets"],
    "explorer blocks": [sys.executable, "-m", "explorer", "blocks"],
    "explorer spec lenet": [sys.executable, "-m", "explorer", "spec", "lenet"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
}


def seconds(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for argv in COMMANDS.values():  # warm the file cache
        seconds(argv, env)
    for _ in range(args.repeats):  # interleaved, so that load changes hit every command
        for name, argv in COMMANDS.items():
            times[name].append(seconds(argv, env))
    base = statistics.median(times["python -c pass"])
    print(f"{args.repeats} runs each, medians; {os.cpu_count()} CPUs")
    print(f"{'command':<28} {'seconds':>8} {'beyond python':>14} {'ratio':>7}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<28} {median:>8.3f} {median - base:>+14.3f} {median / base:>6.1f}×")


if __name__ == "__main__":
    main()
