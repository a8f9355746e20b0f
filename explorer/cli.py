"""The ``explorer`` command: headless work for scripts and for people who live in a terminal.

Exit codes: 0 success; 1 the network has a shape error (the partial table is still printed);
2 unusable input (missing file, not JSON, unknown block type, invalid value), reported as one
line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from explorer import __version__


class UsageError(Exception):
    """Unusable input: reported as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not valid: expected an integer ≥ 1")
    return value


def _shape(text: str) -> tuple[int, int, int]:
    parts = text.replace("x", ",").replace("×", ",").split(",")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not valid: expected C,H,W with three integers ≥ 1, e.g. 1,28,28"
        )
    return shape  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="explorer",
        description="Network Explorer: build, inspect and train convolutional networks.",
    )
    parser.add_argument("--version", action="version", version=f"explorer {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("presets", help="list the preset networks")
    p.add_argument("--json", action="store_true", help="print JSON for machines")

    p = sub.add_parser("blocks", help="list the blocks and their parameters")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. 'res*'")
    p.add_argument("--json", action="store_true", help="print JSON for machines")

    p = sub.add_parser("spec", help="print a preset's architecture JSON (to save and edit)")
    p.add_argument("name", help="a preset name (see 'explorer presets')")
    _add_shape_options(p)

    p = sub.add_parser("summary", help="per-layer output shapes, parameters and cost")
    p.add_argument("network", help="a preset name, torchvision:NAME, or an architecture .json")
    _add_shape_options(p)
    p.add_argument("--depth", type=_positive_int, default=2,
                   help="how deep inside blocks to list rows (default 2)")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    return parser


def _add_shape_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", type=_shape, metavar="C,H,W", help="input shape, e.g. 3,32,32")
    p.add_argument("--classes", type=_positive_int, metavar="N", help="number of classes")


def resolve_spec(network: str, input_shape=None, num_classes=None):
    """An architecture from a preset name or a JSON file, with optional overrides."""
    from explorer.core import SpecError, load_spec
    from explorer.core.presets import preset_spec

    path = Path(network)
    if network.endswith(".json") or path.exists():
        try:
            spec = load_spec(path)
        except SpecError as exc:
            raise UsageError(str(exc)) from None
        if input_shape:
            spec.input_shape = tuple(input_shape)
        if num_classes:
            spec.num_classes = num_classes
        return spec
    try:
        return preset_spec(network, input_shape=input_shape, num_classes=num_classes)
    except KeyError as exc:
        raise UsageError(
            f"{exc.args[0]}; give a preset name (see 'explorer presets') or the path of an "
            "architecture .json file"
        ) from None


def cmd_presets(args: argparse.Namespace) -> int:
    from explorer.core import list_presets

    presets = list_presets()
    if args.json:
        print(json.dumps([
            {"name": p.name, "description": p.doc, "input_shape": list(p.input_shape),
             "num_classes": p.num_classes, "source": p.source, "tags": list(p.tags)}
            for p in presets
        ], indent=2))
        return 0
    width = max((len(p.name) for p in presets), default=0)
    for p in presets:
        shape = "×".join(map(str, p.input_shape))
        print(f"{p.name.ljust(width)}  {shape.ljust(9)}  {p.doc}")
    return 0


def cmd_blocks(args: argparse.Namespace) -> int:
    from explorer.core import list_blocks

    blocks = list_blocks(args.pattern)
    if not blocks:
        raise UsageError(f"no block matches {args.pattern!r} (see 'explorer blocks')")
    if args.json:
        print(json.dumps([b.to_json() for b in blocks], indent=2))
        return 0
    category = None
    for b in blocks:
        if b.category != category:
            category = b.category
            print(f"\n{category}:" if blocks[0] is not b else f"{category}:")
        print(f"  {b.name:<18} {b.doc}")
        for p in b.params:
            default = "required" if p.required else f"default {json.dumps(p.default)}"
            print(f"      {p.name:<20} {p.describe()}; {default}")
    return 0


def cmd_spec(args: argparse.Namespace) -> int:
    spec = resolve_spec(args.name, args.input, args.classes)
    sys.stdout.write(spec.to_json())
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from explorer.core.inspector import format_table, inspect_spec, inspect_torchvision

    if args.network.startswith("torchvision:"):
        try:
            summary = inspect_torchvision(
                args.network, input_shape=args.input, num_classes=args.classes or 1000,
                depth=args.depth,
            )
        except KeyError as exc:
            raise UsageError(exc.args[0]) from None
    else:
        summary = inspect_spec(resolve_spec(args.network, args.input, args.classes), args.depth)
    if summary.error is not None and summary.error.kind == "spec":
        raise UsageError(summary.error.text())
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        print(format_table(summary))
    return 1 if summary.error is not None else 0


COMMANDS = {
    "presets": cmd_presets,
    "blocks": cmd_blocks,
    "spec": cmd_spec,
    "summary": cmd_summary,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"explorer: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("explorer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `explorer summary vgg11 | head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
