"""Render the layer table and the diagram offscreen into PNGs, to look at them.

    python scripts/render_views.py [OUT_DIR] [--dark]

Writes, for the course Inception net, GoogLeNet (one Inception block expanded), ResNet-56 and
a network with a shape error: ``<name>-table.png`` and ``<name>-diagram.png`` (default
``docs/screenshots/views``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _cases():
    from explorer.core.inspector import inspect_spec
    from explorer.core.presets import preset_spec
    from explorer.core.spec import BlockSpec

    def case(name, spec, previous=None, expand=(), select=None, width=600):
        summary = inspect_spec(spec, depth=8)
        prev = inspect_spec(previous, depth=8) if previous is not None else None
        return name, spec, summary, prev, expand, select, width

    inception = preset_spec("course-inception")
    yield case("course-inception", inception)
    yield case("googlenet", preset_spec("googlenet"), expand=("stage3.inception1",),
               select=(2, "blocks", 0), width=760)
    yield case("resnet56", preset_spec("resnet56"), expand=("stage2.residual1",))
    blocks = list(inception.blocks)
    blocks[4] = BlockSpec("conv2d", {"out_channels": 20, "kernel_size": 13})
    broken = dataclasses.replace(inception, blocks=_blocks(blocks))
    yield case("shape-error", broken)
    blocks = list(inception.blocks)
    blocks[4] = BlockSpec("conv2d", {"out_channels": 32, "kernel_size": 5})
    edited = dataclasses.replace(inception, blocks=_blocks(blocks))
    yield case("after-edit", edited, previous=inception)


def _blocks(blocks: list):
    """The spec's own kind of block list (a tuple for frozen specs)."""
    return tuple(blocks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="docs/screenshots/views")
    parser.add_argument("--dark", action="store_true", help="use a dark palette")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    from explorer.ui.widgets.diagram import DiagramView
    from explorer.ui.widgets.layer_table import LayerTableView

    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    if args.dark:
        pal = QPalette()
        for role, colour in (
            (QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.Base, "#1f1f1f"),
            (QPalette.ColorRole.AlternateBase, "#272727"), (QPalette.ColorRole.Text, "#e6e6e6"),
            (QPalette.ColorRole.WindowText, "#e6e6e6"), (QPalette.ColorRole.Button, "#353535"),
            (QPalette.ColorRole.ButtonText, "#e6e6e6"), (QPalette.ColorRole.Highlight, "#3d7fd9"),
            (QPalette.ColorRole.HighlightedText, "#ffffff"),
            (QPalette.ColorRole.PlaceholderText, "#9a9a9a"), (QPalette.ColorRole.Link, "#6aa6ff"),
            (QPalette.ColorRole.ToolTipBase, "#353535"), (QPalette.ColorRole.ToolTipText, "#e6e6e6"),
        ):
            pal.setColor(role, QColor(colour))
        app.setPalette(pal)
    suffix = "-dark" if args.dark else ""
    for name, spec, summary, previous, expand, select, width in _cases():
        table = LayerTableView()
        table.resize(900, 640)
        table.set_summary(summary, previous)
        if select is not None:
            table.select_block(select)
            table.tree.expand(table.tree.currentIndex())
        table.show()
        app.processEvents()
        table.grab().save(str(out / f"{name}-table{suffix}.png"))

        diagram = DiagramView()
        diagram.resize(width, 900)
        diagram.set_network(spec, summary)
        for key in expand:
            diagram.set_expanded(key, True)
        diagram.show()
        app.processEvents()
        if select is not None:
            diagram.select_block(select)
        if expand:  # show the opened block
            diagram.centerOn(*diagram.diagram_layout().box(expand[0]).center)
        elif name == "course-inception":
            diagram.fit()
        app.processEvents()
        diagram.grab().save(str(out / f"{name}-diagram{suffix}.png"))
        table.close()
        diagram.close()
        print(out / f"{name}-*{suffix}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
