"""What the diagram and the layer table cost the GUI thread per update, against the inspection.

The inspection runs in a worker; the GUI thread then lays out the diagram (pure Python),
rebuilds its scene and refills the layer table. Each step is timed here (medians), with the
inspection of the same network as the baseline in the same run. Target: the diagram layout
well under 50 ms for ResNet-56 and GoogLeNet, and the whole GUI-side update a small fraction
of the inspection.

    python benchmarks/views_speed.py [--repeats 15] [--nets googlenet resnet56]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms  # benchmarks/timing.py, beside this script


def row(name: str, view, table, repeats: int) -> None:
    """Time one network's steps and print them as a table row."""
    from explorer.core.inspector import inspect_spec
    from explorer.core.presets import preset_spec
    from explorer.ui.diagram_layout import layout_network

    spec = preset_spec(name)
    summary = inspect_spec(spec, depth=8)
    c, h, w = spec.input_shape  # a previous summary in which every row differs
    previous = inspect_spec(dataclasses.replace(spec, input_shape=(c, h + 32, w + 32)), depth=8)
    inspect = median_ms(lambda: inspect_spec(spec, depth=8), repeats)
    layout = median_ms(lambda: layout_network(spec, summary), repeats)
    everything: dict[str, bool] = {}
    while True:  # open every block, nested ones too
        more = {b.key: True for b in layout_network(spec, summary, everything).boxes
                if b.expandable}
        if more.keys() <= everything.keys():
            break
        everything |= more
    all_open = median_ms(lambda: layout_network(spec, summary, everything), repeats)
    diagram = median_ms(lambda: view.set_network(spec, summary), repeats)
    paint = median_ms(lambda: view.viewport().grab(), repeats)
    fill = median_ms(lambda: table.set_summary(summary, previous), repeats)
    gui = diagram + paint + fill
    print(f"{name:<12} {len(summary.layers):>5} {inspect:>11.1f} {layout:>10.2f} "
          f"{all_open:>12.2f} {diagram:>11.2f} {paint:>9.2f} {fill:>9.2f} {gui / inspect:>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--nets", nargs="+", default=["googlenet", "resnet56"])
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from explorer.ui.widgets.diagram import DiagramView
    from explorer.ui.widgets.layer_table import LayerTableView

    app = QApplication.instance() or QApplication([])
    view = DiagramView()
    view.resize(600, 800)
    table = LayerTableView()
    table.resize(900, 600)
    view.show()
    table.show()
    app.processEvents()

    print(f"{'network':<12} {'rows':>5} {'inspect ms':>11} {'layout ms':>10} "
          f"{'all open ms':>12} {'diagram ms':>11} {'paint ms':>9} {'table ms':>9} "
          f"{'GUI/inspect':>12}")
    for name in args.nets:
        row(name, view, table, args.repeats)
    print("layout: default view (containers open, built blocks closed); all open: every block "
          "expanded;\ndiagram: set_network (layout + scene); paint: one viewport render; "
          "table: set_summary, every row changed")


if __name__ == "__main__":
    main()
