"""What one live prediction of a drawn digit costs, step by step, against the network's own
forward pass measured in the same run.

The Draw view classifies the canvas (280×280) after every stroke: the drawing is made into an
MNIST-style 28×28 digit and checked for being a digit at all (one pass, ``read_drawing``),
then the bundled model classifies it. Printed: medians in milliseconds and each step as a
multiple of the forward pass. Target: preprocessing no more than a few forward passes.

    python benchmarks/drawing_predict.py [--repeats 300]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms  # benchmarks/timing.py, beside this script


def seven(size: int = 280):
    """A seven drawn with an 18-pixel pen, as on the canvas."""
    import numpy as np

    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    image = np.zeros((size, size), np.uint8)
    for y0, x0, y1, x1 in ((40, 60, 40, 220), (40, 220, 240, 120)):
        d = np.array([y1 - y0, x1 - x0], np.float32)
        t = np.clip(((yy - y0) * d[0] + (xx - x0) * d[1]) / float(d @ d), 0, 1)
        image[np.hypot(yy - (y0 + t * d[0]), xx - (x0 + t * d[1])) < 9] = 255
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()

    import torch

    from explorer.data.drawing import read_drawing
    from explorer.training.analysis import Snapshot, drawing_input, predict_drawing
    from explorer.training.checkpoint import load_checkpoint
    from explorer.training.predict import default_model_path

    torch.set_num_threads(1)  # as the prediction worker runs beside the GUI thread
    snapshot = Snapshot.of_checkpoint(load_checkpoint(default_model_path()), "bundled")
    model = snapshot.build()
    image = seven()
    digit, problem = read_drawing(image)
    assert problem is None, problem
    x, _ = drawing_input(snapshot, digit)

    def forward() -> None:
        with torch.inference_mode():
            model(x)

    steps = [("forward pass (baseline)", forward),
             ("read_drawing (digit + check)", lambda: read_drawing(image)),
             ("whole prediction", lambda: predict_drawing(model, snapshot, image))]
    base = None
    print(f"{'step':<32}{'median ms':>10}{'× forward':>11}")
    for name, fn in steps:
        ms = median_ms(fn, args.repeats)
        base = base or ms
        print(f"{name:<32}{ms:>10.3f}{ms / base:>10.1f}×")
    print(f"({args.repeats} repeats, torch threads 1, {image.shape[1]}×{image.shape[0]} canvas)")


if __name__ == "__main__":
    main()
