"""How long the PyTorch code export takes (the Code view regenerates it after every edit),
against building the same network on the meta device, which the export does first.

Both are timed in the same run (medians), and the ratio printed. More than a few ms means
the Code view must generate off the GUI thread (it does).

    python benchmarks/export_speed.py [--repeats 9] [--nets course-inception googlenet resnet56]
"""

from __future__ import annotations

import argparse

from timing import median_ms  # benchmarks/timing.py, beside this script

from explorer.core import build_model
from explorer.core.presets import preset_spec
from explorer.export import export_pytorch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--nets", nargs="+",
                        default=["course-inception", "googlenet", "resnet56", "plain56"])
    args = parser.parse_args()
    print(f"{'network':<18} {'meta build ms':>14} {'export ms':>10} {'ratio':>6} {'lines':>6}")
    for name in args.nets:
        spec = preset_spec(name)
        build = median_ms(lambda s=spec: build_model(s, device="meta"), args.repeats)
        export = median_ms(lambda s=spec: export_pytorch(s), args.repeats)
        lines = export_pytorch(spec).count("\n")
        print(f"{name:<18} {build:>14.1f} {export:>10.1f} {export / build:>6.2f} {lines:>6}")


if __name__ == "__main__":
    main()
