"""Does the exported training script end cleanly under torchrun? N runs in a row, counted.

Each run exports the script of a small network, then trains it for one short epoch with
two CPU processes (Gloo) under ``torchrun --standalone --nproc_per_node=2``, and records
torchrun's exit code and whether a process aborted at teardown ("terminate called without
an active exception", SIGABRT). Target: every run exits 0, no abort.

    python benchmarks/torchrun_teardown.py [--runs 50] [--net lenet] [--images 300]
        [--max-batches N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from explorer.core.presets import preset_spec
from explorer.export.script import export_script
from explorer.paths import resource_path

ABORT = "terminate called without an active exception"


def run_once(script: Path, folder: Path, index: int, extra: list[str]) -> tuple[int, bool, float]:
    """``(exit code, aborted, seconds)`` of one two-process run."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), "--data", "small.npz", "--epochs", "1", "--out", f"run{index}", *extra],
        cwd=folder, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
        text=True, check=False, timeout=300)
    aborted = ABORT in done.stderr or "SIGABRT" in done.stderr or "Signal 6" in done.stderr
    return done.returncode, aborted, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--net", default="lenet")
    parser.add_argument("--images", type=int, default=300, help="of the bundled sample")
    parser.add_argument("--max-batches", type=int, help="per epoch (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "train.py"
        script.write_text(export_script(preset_spec(args.net)), encoding="utf-8")
        sample = np.load(resource_path("mnist_sample.npz"))
        np.savez(folder / "small.npz", images=sample["images"][:args.images],
                 labels=sample["labels"][:args.images])
        extra = ["--max-batches", str(args.max_batches)] if args.max_batches else []
        failed = aborted = 0
        for i in range(1, args.runs + 1):
            code, abort, seconds = run_once(script, folder, i, extra)
            failed += code != 0
            aborted += abort
            print(f"run {i:>3}: exit {code}{'  ABORT' if abort else ''}  {seconds:.1f} s",
                  flush=True)
    print(f"{args.runs} runs of {args.net} under torchrun (2 Gloo processes): "
          f"{args.runs - failed} exited 0, {failed} failed, {aborted} aborted at teardown")


if __name__ == "__main__":
    main()
