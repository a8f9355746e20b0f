"""The ``explorer`` command: headless work for scripts and for people who live in a terminal.

Exit codes: 0 success; 1 the network has a shape error (the partial table is still printed);
2 unusable input (missing file, not JSON, unknown block type, invalid value), reported as one
line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from explorer import __version__


class UsageError(Exception):
    """Unusable input: reported as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """One-line errors; ``more_options(parser)``, when given, adds options on first use (so
    a command whose options come from a heavy module costs nothing to the others)."""

    def __init__(self, *args, more_options=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._more_options = more_options

    def _add_more_options(self) -> None:
        if self._more_options is not None:
            add, self._more_options = self._more_options, None
            add(self)

    def parse_known_args(self, args=None, namespace=None):
        self._add_more_options()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._add_more_options()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_more_options()
        return super().format_help()

    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


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

    p = sub.add_parser("train", help="train a network (progress bar, per-epoch lines)",
                       more_options=_add_setting_options)
    p.add_argument("network", help="a preset name or an architecture .json")
    p.add_argument("--out", metavar="RUN_DIR",
                   help="run folder for config, metrics and checkpoints "
                        "(default runs/NAME-DATE-TIME)")
    p.add_argument("--json", action="store_true",
                   help="print one final JSON object on stdout (progress goes to stderr)")

    p = sub.add_parser("predict", help="classify images of digits")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--weights", metavar="CHECKPOINT",
                   help="a checkpoint (.json/.safetensors from 'explorer train', or a .pt of "
                        "plain weights with --arch); default: the bundled digit model")
    p.add_argument("--arch", metavar="NAME|FILE.json",
                   help="the architecture of a .pt or sidecar-less .safetensors file")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    return parser


# other spellings of a setting's option, besides --<name with dashes>
_SETTING_ALIASES = {"max_batches_per_epoch": ("--max-batches",)}
_SETTING_TYPES = {"int": _int, "float": _float, "str": str, "choice": str}


def _setting_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_setting_options(p: argparse.ArgumentParser) -> None:
    """One option per training setting, from the schema (explorer.training.config.SETTINGS).

    Options not given are left out of the namespace, so the schema's defaults apply.
    """
    from explorer.training.config import SETTINGS

    group = p.add_argument_group("training settings")
    for setting in SETTINGS:
        flags = (_setting_flag(setting.name), *_SETTING_ALIASES.get(setting.name, ()))
        options = {"dest": setting.name, "default": argparse.SUPPRESS}
        if setting.kind == "bool":
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = _SETTING_TYPES[setting.kind]
            options["metavar"] = "N" if setting.kind == "int" else setting.name.upper()
        if setting.choices:
            options["choices"] = setting.choices
            options.pop("metavar", None)
        help_text = setting.help
        if setting.default is not None:
            shown = json.dumps(setting.default) if setting.kind == "bool" else setting.default
            help_text += f" (default {shown})"
        if setting.applies_when:
            help_text += "; only with " + _condition(setting)
        group.add_argument(*flags, help=help_text.replace("%", "%%"), **options)


def _condition(setting) -> str:
    """A setting's ``applies_when`` as options, e.g. ``--optimizer sgd``."""
    return " and ".join(
        f"{_setting_flag(other)} {' or '.join(map(str, allowed))}"
        for other, allowed in setting.applies_when
    )


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


def cmd_train(args: argparse.Namespace) -> int:
    config = _train_config(args)
    log = sys.stderr if args.json else sys.stdout
    spec, dataset, run_dir, control, events = _prepare_training(args, config)
    print(f"Training {spec.name} on {dataset.name} ({len(dataset.train):,} training, "
          f"{len(dataset.test):,} test images) → {run_dir}", file=log)
    finished = _drive_training(events, control, config.epochs, log)
    return _report_training(finished, run_dir, args.json)


def _train_config(args: argparse.Namespace):
    """The TrainConfig of the options given; an option that the others make unused (e.g.
    --momentum with --optimizer adam) is refused rather than ignored."""
    from explorer.training import ConfigError, TrainConfig
    from explorer.training.config import SETTINGS

    given = {s.name: getattr(args, s.name) for s in SETTINGS if hasattr(args, s.name)}
    try:
        config = TrainConfig.from_dict(given)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    values = config.to_dict()
    for setting in SETTINGS:
        if setting.name in given and not setting.applies(values):
            now = ", ".join(f"{_setting_flag(o)} is {values[o]}" for o, _ in setting.applies_when)
            raise UsageError(
                f"{_setting_flag(setting.name)} is used only with {_condition(setting)} "
                f"(here {now}): leave it out or change that option"
            )
    return config


def _prepare_training(args: argparse.Namespace, config):
    """``(spec, dataset, run_dir, control, events)``, or UsageError naming what is wrong."""
    from explorer.core import ShapeError, SpecError
    from explorer.data import DataError, load_dataset
    from explorer.training import ConfigError, TrainControl, TrainError, train

    try:
        dataset = load_dataset(config.dataset, progress=_download_progress())
        # a preset takes the data set's class count; a file must already match it
        spec = resolve_spec(args.network, None,
                            None if _is_file(args.network) else len(dataset.classes))
        run_dir = Path(args.out) if args.out else _default_run_dir(spec.name)
        control = TrainControl()
        events = train(spec, config, dataset=dataset, run_dir=run_dir, control=control)
    except (ConfigError, DataError, TrainError, SpecError, ShapeError) as exc:
        raise UsageError(str(exc)) from None
    return spec, dataset, run_dir, control, events


def _drive_training(events, control, epochs: int, log):
    """Run the events with a progress bar and one line per epoch; return the Finished.

    The first Ctrl-C stops between batches (checkpoints kept); a second one interrupts.
    """
    from explorer.training import EpochEnd, Finished

    bar = _ProgressBar(sys.stderr, epochs)
    finished = None

    def interrupt(signum, frame) -> None:
        control.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        for event in events:
            bar.update(event)
            if isinstance(event, EpochEnd):
                bar.clear()
                print(
                    f"epoch {event.epoch:>3}/{event.epochs}  loss {event.train_loss:.4f}  "
                    f"train {event.train_accuracy:6.2%}  test loss {event.test_loss:.4f}  "
                    f"test {event.test_accuracy:6.2%}  {event.epoch_time:5.1f} s"
                    + ("  best" if event.is_best else ""), file=log, flush=True)
            elif isinstance(event, Finished):
                finished = event
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.clear()
    return finished


def _report_training(finished, run_dir: Path, as_json: bool) -> int:
    """Print the outcome (JSON or text); the exit code: 0 finished, 130 stopped, 1 failed."""
    result = {
        "status": finished.status,
        "reason": finished.reason,
        "epochs": finished.epochs_done,
        "test_accuracy": finished.test_accuracy,
        "best_test_accuracy": finished.best_test_accuracy,
        "samples_per_second": round(finished.samples_per_second, 1),
        "elapsed": round(finished.elapsed, 2),
        "checkpoint": finished.checkpoint,
        "run_dir": str(run_dir),
    }
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        best = finished.best_test_accuracy
        print(f"{finished.status}: {finished.reason}" if finished.reason else finished.status)
        if best is not None:
            print(f"best test accuracy {best:.2%}; checkpoint {finished.checkpoint}; "
                  f"{finished.samples_per_second:,.0f} images/s; {finished.elapsed:.1f} s")
    return {"finished": 0, "stopped": 130}.get(finished.status, 1)


def _is_file(network: str) -> bool:
    return network.endswith(".json") or Path(network).exists()


def _default_run_dir(name: str) -> Path:
    from datetime import datetime

    return Path("runs") / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"


def _download_progress():
    """Report a data set download on stderr (only downloads call it with sizes)."""

    def progress(done: int, total: int) -> None:
        if total > 1 and sys.stderr.isatty():
            print(f"\rdownloading {done / 2**20:.1f} / {total / 2**20:.1f} MiB",
                  end="", file=sys.stderr, flush=True)

    return progress


class _ProgressBar:
    """One line on a terminal: epoch, bar, loss, speed and time left. Silent elsewhere."""

    def __init__(self, stream, epochs: int, width: int = 24) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.epochs = epochs
        self.width = width
        self.start: float | None = None

    def update(self, event) -> None:
        import time

        from explorer.training import BatchEnd

        if not self.live or not isinstance(event, BatchEnd):
            return
        now = time.perf_counter()
        self.start = self.start or now
        done = ((event.epoch - 1) * event.batches + event.batch) / (event.batches * self.epochs)
        eta = (now - self.start) * (1 - done) / done
        filled = int(self.width * event.batch / event.batches)
        self.stream.write(
            f"\repoch {event.epoch}/{self.epochs} [{'#' * filled}{'.' * (self.width - filled)}]"
            f" {done:4.0%}  loss {event.loss:.4f}  {event.samples_per_second:,.0f} img/s  "
            f"ETA {int(eta) // 60}:{int(eta) % 60:02d}  ")
        self.stream.flush()

    def clear(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()


def cmd_predict(args: argparse.Namespace) -> int:
    from explorer.data import DataError, load_image
    from explorer.training import CheckpointError, load_checkpoint
    from explorer.training.predict import Predictor

    try:
        if args.weights:
            spec = resolve_spec(args.arch) if args.arch else None
            predictor = Predictor(load_checkpoint(args.weights, spec=spec))
        else:
            predictor = Predictor.load()
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
    results, failed = [], 0
    for name in args.images:
        try:
            prediction = predictor.predict(load_image(name))
        except DataError as exc:
            failed += 1
            print(f"explorer: error: {exc}", file=sys.stderr)
            results.append({"file": name, "error": str(exc)})
            continue
        if prediction is None:
            results.append({"file": name, "label": None, "probabilities": None})
            if not args.json:
                print(f"{name}: no drawing (the image is empty)")
            continue
        results.append({"file": name, "label": prediction.label,
                        "probabilities": [round(p, 6) for p in prediction.probabilities]})
        if not args.json:
            print(f"{name}: {prediction.label} ({prediction.confidence:.1%})")
    if args.json:
        print(json.dumps(results, indent=2))
    return 2 if failed else 0


COMMANDS = {
    "presets": cmd_presets,
    "blocks": cmd_blocks,
    "spec": cmd_spec,
    "summary": cmd_summary,
    "train": cmd_train,
    "predict": cmd_predict,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (no subcommand opens the window)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (len(argv) == 1 and argv[0] not in COMMANDS
                    and (argv[0].endswith(".json") or Path(argv[0]).is_file())):
        from explorer.ui.app import main as open_window  # `explorer` or `explorer FILE.json`

        return open_window(argv)
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
