"""The ``explorer`` command: headless work for scripts and for people who live in a terminal.

Exit codes: 0 success; 1 the network has a shape error (the partial table is still printed),
a training run failed, or the output could not be written; 2 unusable input (missing file,
not JSON, unknown block type, invalid value, an unusable run folder), reported as one line on
stderr, never a traceback; 70 an internal error (one line on stderr, the traceback in a crash
log in the user's state folder); 130 interrupted.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import gc
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from explorer import cli_lab


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


class _VersionAction(argparse.Action):
    """``--version``: the version is read only when asked for (it is not cheap to import)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show the version and exit") -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from explorer import __version__

        print(f"explorer {__version__}")
        parser.exit()


def parse_int(text: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """An option's integer, within ``minimum`` and ``maximum`` when given; else an
    ``ArgumentTypeError`` naming the valid range as the window's fields do."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = [f"{sign} {bound}" for sign, bound in (("≥", minimum), ("≤", maximum))
                  if bound is not None]
        raise argparse.ArgumentTypeError(
            f"{value} is not valid: expected an integer {' and '.join(bounds)}")
    return value


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _positive_int(text: str) -> int:
    return parse_int(text, 1)


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


SUMMARY_FORMATS = ("table", "json", "torchinfo")
"""``explorer summary --format``: the app's table, its JSON, torchinfo's own table."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="explorer",
        description="Network Explorer: build, inspect and train convolutional networks.",
    )
    parser.add_argument("--version", action=_VersionAction)
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
    p.add_argument("network", help="a preset name, torchvision:NAME, an architecture .json, "
                                    "or a Python file (net.py or net.py:Name)")
    _add_shape_options(p)
    p.add_argument("--depth", type=_positive_int, default=2,
                   help="how deep inside blocks to list rows (default 2)")
    p.add_argument("--format", choices=SUMMARY_FORMATS, default="table",
                   help="table: the app's (default); json: for machines; torchinfo: "
                        "torchinfo.summary's own table, with its own numbers")
    p.add_argument("--json", action="store_true", help="the same as --format json")

    p = sub.add_parser("train", help="train a network (progress bar, per-epoch lines)",
                       more_options=_add_setting_options)
    p.add_argument("network", help="a preset name, an architecture .json or a Python file "
                                    "(net.py or net.py:Name)")
    p.add_argument("--out", metavar="RUN_DIR",
                   help="run folder for config, metrics and checkpoints "
                        "(default runs/NAME-DATE-TIME); a folder that holds files is refused")
    p.add_argument("--overwrite", action="store_true",
                   help="let --out name a folder holding an earlier run, whose files are "
                        "replaced (a folder with other files is still refused)")
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
    _add_export_parser(sub)
    _add_desktop_parser(sub)
    cli_lab.add_parsers(sub)
    return parser


# other spellings of a setting's option, besides --<name with dashes>
_SETTING_ALIASES = {"max_batches_per_epoch": ("--max-batches",)}
_SETTING_TYPES = {"int": parse_int, "float": _float, "str": str, "choice": str}


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

    if _is_file(network):
        try:
            spec = load_spec(Path(network))
        except SpecError as exc:
            raise UsageError(str(exc)) from None
        if input_shape:
            spec = dataclasses.replace(spec, input_shape=tuple(input_shape))
        if num_classes:
            spec = dataclasses.replace(spec, num_classes=num_classes)
        return spec
    try:
        return preset_spec(network, input_shape=input_shape, num_classes=num_classes)
    except SpecError as exc:  # e.g. --classes past the bound
        raise UsageError(str(exc)) from None
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
    if args.json:
        args.format = "json"
    args.json = args.format == "json"
    if _is_python(args.network):
        if args.format == "torchinfo":
            raise UsageError("--format torchinfo takes a preset, torchvision:NAME or an "
                             "architecture .json; for a Python file leave out --format")
        from explorer.pyfile_cli import cmd_summary as summary_of_file

        return summary_of_file(args)
    from explorer.core.inspector import inspect_spec, inspect_torchvision
    from explorer.core.summary import format_table

    spec = None
    if args.network.startswith("torchvision:"):
        try:
            summary = inspect_torchvision(
                args.network, input_shape=args.input, num_classes=args.classes or 1000,
                depth=args.depth,
            )
        except KeyError as exc:
            raise UsageError(exc.args[0]) from None
    else:
        spec = resolve_spec(args.network, args.input, args.classes)
        summary = inspect_spec(spec, args.depth)
    if summary.error is not None and summary.error.kind == "spec":
        raise UsageError(summary.error.text())
    if args.format == "json":
        print(json.dumps(summary.to_json(), indent=2))
    elif args.format == "torchinfo":
        _print_torchinfo(args, spec, summary)
    else:
        print(format_table(summary))
    return 1 if summary.error is not None else 0


def _print_torchinfo(args: argparse.Namespace, spec, summary) -> None:
    """torchinfo's own table (of the blocks that fit); the app's error, if any, on stderr."""
    from explorer.core.summary_formats import torchinfo_table

    error = summary.error
    if spec is not None or error is None:  # a torchvision model that fails has no table
        try:
            print(torchinfo_table(spec, None if spec is not None else args.network,
                                  input_shape=args.input, num_classes=args.classes or 1000,
                                  depth=args.depth))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if error is not None:
        where = f"the table stops before block {error.block}: " if spec is not None else ""
        hint = f"; {error.hint}" if error.hint else ""
        print(f"explorer: {where}{error.text()}{hint}", file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> int:
    config = _train_config(args)
    log = sys.stderr if args.json else sys.stdout
    if _is_python(args.network):
        from explorer.pyfile_cli import prepare_training as prepare
    else:
        prepare = _prepare_training
    spec, dataset, run_dir, control, events = prepare(args, config)
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
    """``(spec, dataset, run_dir, control, events)``, or UsageError naming what is wrong.

    Everything is checked before the run folder is made; the weights are built once, drawn
    from the seed as the window draws them (the same network trains the same way in both).
    """
    import torch

    from explorer.core import ShapeError, SpecError, build_model
    from explorer.data import DataError, load_dataset
    from explorer.training import ConfigError, TrainControl, TrainError, train
    from explorer.training.config import resolve_device
    from explorer.training.memory import check_fits
    from explorer.training.runs import RunDirError, default_run_dir, prepare_run_dir

    try:
        dataset = load_dataset(config.dataset, progress=_download_progress())
        # a preset takes the data set's class count; a file must already match it
        spec = resolve_spec(args.network, None,
                            None if _is_file(args.network) else len(dataset.classes))
        check_fits(spec, config, resolve_device(config.device))  # before a weight is made
        model = build_model(spec, "cpu", generator=torch.Generator().manual_seed(config.seed))
        path = Path(args.out) if args.out else default_run_dir(spec.name)
        control = TrainControl()
        # checks the settings, the device and that the network can learn; writes nothing
        # before the first event
        events = train(spec, config, dataset=dataset, run_dir=path, control=control,
                       model=model)
        run_dir = prepare_run_dir(path, overwrite=args.overwrite)
    except (ConfigError, DataError, TrainError, SpecError, ShapeError, RunDirError) as exc:
        raise UsageError(str(exc)) from None
    return spec, dataset, run_dir, control, events


def _drive_training(events, control, epochs: int, log):
    """Run the events with a progress bar and one line per epoch; return the Finished.

    The first Ctrl-C or SIGTERM stops between batches (checkpoints kept); a second one
    interrupts at once, quietly.
    """
    from explorer.progress import TrainProgress
    from explorer.training import EpochEnd, Finished

    bar = TrainProgress(epochs, stream=getattr(sys.stderr, "raw", sys.stderr))
    finished = None

    def interrupt(signum, frame) -> None:
        if control.stopped:  # the second request: stop now
            raise KeyboardInterrupt
        control.stop()

    previous = _handle_stop_signals(interrupt)
    try:
        for event in events:
            bar.update(event)
            if isinstance(event, EpochEnd):
                bar.line(
                    f"epoch {event.epoch:>3}/{event.epochs}  loss {event.train_loss:.4f}  "
                    f"train {event.train_accuracy:6.2%}  test loss {event.test_loss:.4f}  "
                    f"test {event.test_accuracy:6.2%}  {event.epoch_time:5.1f} s"
                    + ("  best" if event.is_best else ""), file=log)
            elif isinstance(event, Finished):
                finished = event
    finally:
        _handle_stop_signals(previous)
        bar.close()
    return finished


def _handle_stop_signals(handler):
    """Install ``handler`` (a callable or a dict of them by signal) for SIGINT and SIGTERM;
    return the previous ones (a dict). Only the main thread may: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        new = handler.get(sig) if isinstance(handler, dict) else handler
        if new is not None:
            previous[sig] = signal.signal(sig, new)
    return previous


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
            saved = f"checkpoint {finished.checkpoint}" if finished.checkpoint else "not saved"
            print(f"best test accuracy {best:.2%}; {saved}; "
                  f"{finished.samples_per_second:,.0f} images/s; {finished.elapsed:.1f} s")
        elif finished.status != "failed":
            last = run_dir / "last.json"
            print("no best checkpoint yet: the run ended before its first epoch did; "
                  + (f"the weights so far are in {last}" if last.is_file()
                     else "no weights were saved (no batch was trained)"))
    return {"finished": 0, "stopped": 130}.get(finished.status, 1)


def _is_python(network: str) -> bool:
    """Whether ``network`` names a Python file (``net.py`` or ``net.py:Name``)."""
    from explorer.core.pyfile.report import is_python_target

    return is_python_target(network)


def _is_file(network: str) -> bool:
    """Whether ``network`` names a file rather than a preset: it ends in .json, holds a
    folder separator, or exists and is no preset's name (a folder called ``lenet`` does not
    hide the preset; write ``./lenet`` for the file)."""
    from explorer.core.registry import PRESETS

    if network.endswith(".json") or os.sep in network or (os.altsep or os.sep) in network:
        return True
    return Path(network).exists() and network not in PRESETS.names()


def _download_progress():
    """Report a data set download on stderr (only downloads call it with sizes)."""

    def progress(done: int, total: int) -> None:
        stream = getattr(sys.stderr, "raw", sys.stderr)  # "\r" must reach the terminal
        if total > 1 and stream.isatty():
            print(f"\rdownloading {done / 2**20:.1f} / {total / 2**20:.1f} MiB",
                  end="", file=stream, flush=True)

    return progress


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


# --------------------------------------------------------------------------- export, desktop


def _add_export_parser(sub) -> None:
    from explorer.export import FORMATS

    p = sub.add_parser("export", help="PyTorch code, a training script or an ONNX model")
    p.add_argument("network", help="a preset name, an architecture .json, or a Python file "
                                    "(net.py[:Name], --format onnx)")
    p.add_argument("--format", required=True, choices=FORMATS,
                   help="pytorch: a module of nn.Module classes; script: a training script "
                        "(torchrun-ready); onnx: a model file with the weights inside")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="where to write it (pytorch and script: standard output if omitted)")
    p.add_argument("--weights", metavar="CHECKPOINT",
                   help="trained weights to export (a checkpoint .json/.safetensors, or .pt); "
                        "pytorch and script write them beside the code as FILE.pt")
    _add_shape_options(p)


def cmd_export(args: argparse.Namespace) -> int:
    if _is_python(args.network):
        from explorer.pyfile_cli import cmd_export as export_file

        return export_file(args)
    from explorer.core import ShapeError, SpecError
    from explorer.export import ExportError, export_text, write_export

    spec = resolve_spec(args.network, args.input, args.classes)
    try:
        if args.output is None:
            if args.format == "onnx" or args.weights:
                raise UsageError(f"--format {args.format}"
                                 + (" with --weights" if args.weights else "")
                                 + " writes files: give -o FILE")
            sys.stdout.write(export_text(spec, args.format))
            return 0
        written = write_export(spec, args.format, args.output, weights=args.weights)
    except (SpecError, ShapeError, ExportError) as exc:
        raise UsageError(f"cannot export {spec.name}: {exc}") from None
    except (FileExistsError, NotADirectoryError) as exc:
        raise UsageError(f"cannot write {args.output}: {exc.filename} is a file, not a "
                         "folder") from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}"
                         + (f" ({exc.filename})" if exc.filename else "")) from None
    print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return 0


def _add_desktop_parser(sub) -> None:
    p = sub.add_parser("desktop", help="add or remove the launcher entry and icon (this user)")
    p.add_argument("action", choices=("install", "uninstall"))


def cmd_desktop(args: argparse.Namespace) -> int:
    from explorer.desktop import DesktopError, install, uninstall

    try:
        paths = install() if args.action == "install" else uninstall()
    except DesktopError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or 'the data folder'}: "
                         f"{exc.strerror or exc} (is $XDG_DATA_HOME a folder?)") from None
    verb = "installed" if args.action == "install" else "removed"
    for path in paths:
        print(f"{verb} {path}")
    if not paths:
        print("nothing to remove: the launcher entry is not installed")
    return 0


COMMANDS = {
    "presets": cmd_presets,
    "blocks": cmd_blocks,
    "spec": cmd_spec,
    "summary": cmd_summary,
    "train": cmd_train,
    "predict": cmd_predict,
    "export": cmd_export,
    "desktop": cmd_desktop,
    **cli_lab.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (no subcommand opens the window).

    Everything printed passes through :func:`explorer.textout.clean` (control characters
    from names and files are escaped); an exception that is nobody's input error is written
    to a crash log and reported in one line (exit code 70).
    """
    from explorer.textout import CleanStream

    if argv is None:  # the process's own command line: this process ends with it
        atexit.register(_skip_final_collections)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = CleanStream(stdout), CleanStream(stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _skip_final_collections() -> None:
    """Registered first, so run after every other exit handler: the interpreter's last
    garbage collections would walk the millions of objects PyTorch's compiler modules
    (imported by any optimiser) leave, 0.5-0.9 s of a 2-core machine's time after the work
    is done (``benchmarks/cli_train_speed.py``). Frozen objects are skipped; files are
    still flushed and closed, and the other exit handlers have run."""
    gc.freeze()


def _main(argv: Sequence[str] | None) -> int:
    from explorer.textout import OutputError

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (len(argv) == 1 and argv[0] not in COMMANDS
                    and (argv[0].endswith(".json") or Path(argv[0]).is_file()
                         or _is_python(argv[0]))):
        # `explorer`, `explorer FILE.json`, `explorer net.py[:Name]` (the window)
        from explorer.ui.app import main as open_window

        return open_window(argv)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a full disk under `> file` shows here, not at exit
        return code
    except UsageError as exc:
        print(f"explorer: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _quiet_from_now_on()
        print("explorer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `explorer summary vgg11 | head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OutputError as exc:  # e.g. `explorer spec lenet > /dev/full`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"explorer: error: cannot write the output: {exc.strerror}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001  (the last line of defence: a bug, not bad input)
        from explorer.crash import report_crash

        command = " ".join(sys.argv[1:] if argv is None else argv)
        return report_crash(exc, context=f"explorer {command}")


def _quiet_from_now_on() -> None:
    """After an interrupt the process is ending: a further Ctrl-C (say, while PyTorch's exit
    handlers run) must not print a traceback."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
