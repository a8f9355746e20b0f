"""The command line on a user's Python file: ``summary``, ``train`` and ``export`` of
``net.py`` or ``net.py:Name``.

``summary`` inspects the file in a child process (as the window does: a file that loops,
exits or crashes is stopped and reported, this process goes on). ``train`` and ``export``
inspect it the same way first, then build the network here from the text that was
inspected. Problems with the file are one line on stderr naming the file and line (exit 2);
a network whose forward pass fails prints the rows up to the failure (exit 1), as a spec
with a shape error does.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

CLI_TIME_LIMIT = 60.0
"""Seconds the command line gives a file to import, build and inspect."""


def _usage(message: str):
    from explorer.cli import UsageError

    return UsageError(message)


def inspect_target(network: str, input_shape=None, depth: int = 2, convert: bool = False):
    """``(report, source)`` of ``net.py[:Name]``, inspected in a child process."""
    from explorer.core.pyfile import FileRequest, parse_target
    from explorer.core.pyfile.isolate import inspect_isolated
    from explorer.core.pyfile.source import _Problem, read_source

    path, target = parse_target(network)
    try:
        source = read_source(path)
    except _Problem as exc:
        raise _usage(exc.problem.message) from None
    request = FileRequest(path, source, target, tuple(input_shape) if input_shape else None,
                          depth, convert)
    return inspect_isolated(request, time_limit=CLI_TIME_LIMIT), source


def problem_line(report) -> str:
    """One line for the terminal: the problem, where it happened and the hint."""
    problem = report.problem
    if problem.kind == "choose":
        names = ", ".join(f"{Path(report.path).name}:{c.name} ({c.kind}"
                          + (f", line {c.line})" if c.line else ")") for c in report.candidates)
        return (f"{Path(report.path).name} offers {len(report.candidates)} networks; name one: "
                f"{names}")
    line = f"line {problem.line}: " if problem.line else ""
    where = f"{Path(problem.file).name}, {line}" if problem.file else ""
    code = f" [{problem.code}]" if problem.code else ""
    hint = f"; {problem.hint}" if problem.hint else ""
    return f"{where}{problem.message}{code}{hint}"


def _echo_output(report) -> None:
    """What the file printed, on stderr (as running it with python would have shown)."""
    for text in (report.stdout, report.stderr):
        if text:
            sys.stderr.write(text if text.endswith("\n") else text + "\n")


def cmd_summary(args) -> int:
    """``explorer summary net.py[:Name]``: the table (or JSON) of the file's network."""
    from explorer.core.summary import format_table

    report, _ = inspect_target(args.network, args.input, args.depth)
    _echo_output(report)
    if report.problem is not None and report.summary is None:
        raise _usage(problem_line(report))
    summary = report.table_summary()
    if args.json:
        out = summary.to_json()
        out["candidates"] = [c.name for c in report.candidates]
        out["input_from"] = report.input_from
        print(json.dumps(out, indent=2))
    else:
        print(format_table(summary))
        if report.problem is not None and report.problem.details:
            print(report.problem.details, file=sys.stderr)
    return 1 if summary.error is not None else 0


def file_network(network: str, input_shape=None):
    """The :class:`FileNetwork` of ``net.py[:Name]`` once it inspects cleanly and ends in one
    score per class, with its summary; ``UsageError`` naming the problem otherwise."""
    from explorer.core.pyfile.network import FileNetwork
    from explorer.core.shapes import fmt_shape

    report, source = inspect_target(network, input_shape, depth=1)
    if report.problem is not None:
        raise _usage(f"cannot use {report.name}: {problem_line(report)}")
    if report.num_classes is None:
        raise _usage(f"{report.name} ends in {fmt_shape(report.summary.output_shape)}, not one "
                     "score per class: end it with a Linear layer (one output per class)")
    made = FileNetwork(report.path, source, report.target, tuple(report.input_shape),
                       report.num_classes)
    return made, report.summary


def prepare_training(args, config):
    """``(network, dataset, run_dir, control, events)`` for ``explorer train net.py``."""
    import torch

    from explorer.core.pyfile.network import FileNetworkError
    from explorer.data import DataError, load_dataset
    from explorer.training import ConfigError, TrainControl, TrainError, train
    from explorer.training.config import resolve_device
    from explorer.training.memory import check_summary_fits
    from explorer.training.runs import RunDirError, default_run_dir, prepare_run_dir

    network, summary = file_network(args.network)
    try:
        if len(network.input_shape) != 3:
            raise TrainError(f"{network.name} takes a {network.input_shape} input; training "
                             "feeds images (set INPUT_SHAPE = (C, H, W))")
        from explorer.cli import _download_progress

        dataset = load_dataset(config.dataset, progress=_download_progress())
        check_summary_fits(network.name, summary, config, resolve_device(config.device))
        run_dir = prepare_run_dir(Path(args.out) if args.out else default_run_dir(network.name),
                                  overwrite=args.overwrite)
        control = TrainControl()
        # with --json, stdout holds the result only: what the code prints goes to stderr
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            with torch.random.fork_rng():  # seeded as the engine seeds a spec's weights
                torch.manual_seed(config.seed)
                model = network.build("cpu")
            events = train(network, config, dataset=dataset, run_dir=run_dir,
                           control=control, model=model)
    except (ConfigError, DataError, TrainError, RunDirError, FileNetworkError) as exc:
        raise _usage(str(exc)) from None
    if args.json:
        events = _printing_to_stderr(events)
    return network, dataset, run_dir, control, events


def _printing_to_stderr(events):
    iterator = iter(events)
    while True:
        with contextlib.redirect_stdout(sys.stderr):
            try:
                event = next(iterator)
            except StopIteration:
                return
        yield event


def cmd_export(args) -> int:
    """``explorer export net.py[:Name] --format onnx -o FILE``."""
    from explorer.export import ExportError

    if args.format != "onnx":
        raise _usage(f"{args.network} is PyTorch code already; --format {args.format} writes "
                     "code for networks built in the app: use --format onnx")
    if args.output is None:
        raise _usage("--format onnx writes a file: give -o FILE")
    network, _ = file_network(args.network, args.input)
    try:
        from explorer.core.pyfile.network import FileNetworkError
        from explorer.export.onnx_export import write_onnx

        model = network.build("cpu")
        if args.weights:
            model.load_state_dict(_state_dict(args.weights), strict=True)
        written = write_onnx(model, network.input_shape, args.output, network.name)
    except (ExportError, FileNetworkError) as exc:
        raise _usage(f"cannot export {network.name}: {exc}") from None
    except RuntimeError as exc:  # load_state_dict: weights of another network
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise _usage(f"{args.weights}: the weights do not fit {network.name} ({first})") \
            from None
    except OSError as exc:
        raise _usage(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {written}", file=sys.stderr)
    return 0


def _state_dict(path: str) -> dict:
    """Weights from a run's checkpoint (.json/.safetensors) or a .pt state dict, never
    unpickled beyond plain tensors."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from explorer.training.checkpoint import TORCH_SUFFIXES, checkpoint_paths

    if Path(path).suffix in TORCH_SUFFIXES:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 (refused or unreadable: one line)
            raise _usage(f"{path}: cannot be read as plain weights ({type(exc).__name__})") \
                from None
        if not isinstance(state, dict):
            raise _usage(f"{path}: holds a {type(state).__name__}, not a state dict")
        return state
    weights = checkpoint_paths(path)[1]
    try:
        return load_file(weights)
    except (OSError, SafetensorError) as exc:
        raise _usage(f"{weights}: cannot be read ({exc})") from None
