"""The lab's commands: ``explorer gradients``, ``explorer runs [compare]``, ``explorer diff``.

Kept apart from :mod:`explorer.cli`, which registers them; nothing here imports torch until a
command runs. Bad input raises the CLI's ``UsageError`` (one line on stderr, exit code 2).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from explorer.training.config import DEFAULT_DATASET


def _usage(message: str) -> Exception:
    from explorer.cli import UsageError

    return UsageError(message)


def _batch(text: str) -> int:
    from explorer.cli import parse_int
    from explorer.training.gradients import MAX_LAB_BATCH

    return parse_int(text, 1, MAX_LAB_BATCH)


def _seed(text: str) -> int:
    from explorer.cli import parse_int

    return parse_int(text, 0, 2**63 - 1)


def add_parsers(sub) -> None:
    """Add ``gradients``, ``runs`` and ``diff`` to the subcommands ``sub``."""
    p = sub.add_parser("gradients", help="gradient norms and activations per layer, on one "
                                         "batch (why deep plain nets need shortcuts)")
    p.add_argument("network", help="a preset name, an architecture .json, a run folder, a "
                                   "checkpoint .json or a Python file (net.py[:Name])")
    p.add_argument("--epoch", metavar="E",
                   help="for a run folder: 0 (its initial weights), N (a kept epoch-N "
                        "checkpoint), best or last (default last)")
    p.add_argument("--batch", type=_batch, default=64, metavar="N",
                   help="images in the batch (default 64)")
    p.add_argument("--seed", type=_seed, metavar="S",
                   help="seed of the batch and of initial weights (default 0; a run's own)")
    p.add_argument("--dataset", metavar="NAME",
                   help="the data (default mnist-sample, or the run's), adapted to the input")
    p.add_argument("--json", action="store_true", help="print JSON for machines")

    p = sub.add_parser("runs", help="list training runs; 'runs compare A B …' compares them")
    _runs_options(p)
    runs_sub = p.add_subparsers(dest="runs_command", parser_class=type(p))
    c = runs_sub.add_parser("compare", help="a table of runs: best test accuracy, parameters, "
                                            "multiply-adds, time, Pareto front")
    c.add_argument("runs", nargs="+", metavar="RUN",
                   help="run folders, or names of folders in the runs folders")
    _runs_options(c)

    p = sub.add_parser("diff", help="compare two architectures block by block")
    p.add_argument("old", help="a preset, an architecture .json, a run folder, a checkpoint "
                               "or a Python file that converts to blocks")
    p.add_argument("new", help="the same kinds")
    p.add_argument("--same", action="store_true",
                   help="also list the unchanged blocks inside changed containers")
    p.add_argument("--json", action="store_true", help="print JSON for machines")


def _runs_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", action="append", metavar="DIR", default=argparse.SUPPRESS,
                   help="a folder of runs (repeatable; default: the user's runs folder and "
                        "./runs)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                   help="print JSON for machines")


# --------------------------------------------------------------------------- gradients


def cmd_gradients(args: argparse.Namespace) -> int:
    from explorer.training.gradients import GradientError, format_profile, gradient_profile

    if _is_python(args.network):
        spec, model = _python_network(args)
        state, stats, seed, dataset_name, epoch, label = None, (None, None), args.seed or 0, \
            args.dataset or DEFAULT_DATASET, 0, spec.name
    else:
        spec, state, stats, seed, dataset_name, epoch, label = _weights(_source(args.network),
                                                                        args)
        model = None
    dataset = _dataset(dataset_name)
    try:  # what a Python file's forward prints goes to stderr, as for `explorer train`
        with contextlib.redirect_stdout(sys.stderr) if model is not None else \
                contextlib.nullcontext():
            profile = gradient_profile(spec, dataset, batch=args.batch, seed=seed, state=state,
                                       mean=stats[0], std=stats[1], label=label, epoch=epoch,
                                       model=model)
    except GradientError as exc:
        raise _usage(str(exc)) from None
    print(json.dumps(profile.to_json(), indent=2) if args.json else format_profile(profile))
    return 0


def _is_python(name: str) -> bool:
    from explorer.core.pyfile.report import is_python_target

    return is_python_target(name)


def _python_network(args: argparse.Namespace):
    """``(network, model)`` of ``net.py[:Name]``: the model built here, seeded by --seed."""
    import torch

    from explorer.core.pyfile.network import FileNetworkError
    from explorer.pyfile_cli import file_network

    if args.epoch is not None:
        raise _usage(f"--epoch applies to a run folder; {args.network!r} is a Python file")
    network, _summary = file_network(args.network)
    try:
        with torch.random.fork_rng(devices=[]), contextlib.redirect_stdout(sys.stderr):
            torch.manual_seed(args.seed or 0)
            return network, network.build("cpu")
    except FileNetworkError as exc:
        raise _usage(str(exc)) from None


def _python_spec(name: str):
    """The editable network a Python file converts to, for the diff."""
    from explorer.core.spec import ArchitectureSpec
    from explorer.pyfile_cli import inspect_target, problem_line

    report, _source = inspect_target(name, depth=1, convert=True)
    if report.problem is not None:
        raise _usage(f"cannot use {report.name}: {problem_line(report)}")
    if report.spec_json is None:
        raise _usage(f"{name} cannot be compared block by block: {report.not_convertible} "
                     "(only networks that convert to the app's blocks can)")
    return ArchitectureSpec.from_json(report.spec_json)


def _source(name: str):
    from explorer.training.sources import SourceError, resolve_network

    try:
        return resolve_network(name)
    except SourceError as exc:
        raise _usage(str(exc)) from None


def _weights(source, args: argparse.Namespace):
    """``(spec, state, (mean, std), seed, dataset, epoch, label)`` for the profile."""
    from explorer.core.spec import SpecError, validate

    try:
        validate(source.spec)
    except SpecError as exc:
        raise _usage(str(exc)) from None
    if args.epoch is not None and source.kind != "run":
        raise _usage(f"--epoch applies to a run folder; {args.network!r} is a {source.kind}")
    seed, dataset, none = (args.seed or 0), args.dataset or DEFAULT_DATASET, (None, None)
    if source.kind == "checkpoint":
        checkpoint = _load(source.checkpoint)
        return (source.spec, checkpoint.model.state_dict(), (checkpoint.mean, checkpoint.std),
                seed, dataset, checkpoint.epoch, source.label)
    if source.kind != "run":
        return source.spec, None, none, seed, dataset, 0, source.label
    info = source.run
    seed = args.seed if args.seed is not None else int(info.config.get("seed", 0) or 0)
    dataset = args.dataset or info.config.get("dataset") or DEFAULT_DATASET
    choice = _run_choice(info, args.epoch or "last")
    label = f"{source.spec.name} ({info.path.name}, {choice.label})"
    if choice.sidecar is None:
        return source.spec, None, none, seed, dataset, 0, label
    checkpoint = _load(choice.sidecar)
    return (checkpoint.spec, checkpoint.model.state_dict(), (checkpoint.mean, checkpoint.std),
            seed, dataset, checkpoint.epoch, label)


def _run_choice(info, wanted: str):
    from explorer.training.runs import run_weights

    choices = run_weights(info)
    for choice in choices:
        name = choice.label.split(" ")[0]
        if wanted in (name, str(choice.epoch)) or (wanted in ("0", "init") and not choice.epoch):
            return choice
    offered = ", ".join(c.label for c in choices)
    raise _usage(f"--epoch {wanted}: {info.path.name} offers {offered} (keep every epoch's "
                 "weights with 'explorer train --keep-epochs')")


def _load(sidecar: Path):
    from explorer.training.checkpoint import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(sidecar)
    except CheckpointError as exc:
        raise _usage(str(exc)) from None


def _dataset(name: str):
    from explorer.data import DataError, load_dataset

    try:
        return load_dataset(name)
    except DataError as exc:
        raise _usage(str(exc)) from None


# --------------------------------------------------------------------------- runs


def _roots(args: argparse.Namespace) -> list[Path]:
    from explorer.training.runs import runs_folder

    given = getattr(args, "root", None)
    return [Path(r) for r in given] if given else [runs_folder(), Path("runs")]


def cmd_runs(args: argparse.Namespace) -> int:
    from explorer.training.runs import all_runs

    as_json = getattr(args, "json", False)
    if args.runs_command == "compare":
        return _compare(args, as_json)
    runs = all_runs(_roots(args))
    if as_json:
        print(json.dumps([{
            "run": str(r.path), "name": r.name, "dataset": r.dataset, "started": r.started,
            "epochs_done": r.epochs_done, "epochs_planned": r.epochs_planned,
            "best_test_accuracy": r.best_test_accuracy} for r in runs], indent=2))
        return 0
    if not runs:
        print("no runs in " + ", ".join(str(r) for r in _roots(args)))
        return 0
    for r in runs:
        accuracy = f"{100 * r.best_test_accuracy:6.2f} %" if r.best_test_accuracy is not None \
            else "      —"
        print(f"{r.path.name:<44} {accuracy}  {r.epochs_done:>3}/{r.epochs_planned:<3} "
              f"epochs  {r.dataset}  {r.started_local}")
    return 0


def _compare(args: argparse.Namespace, as_json: bool) -> int:
    from explorer.training.compare import (
        COSTS,
        CompareError,
        find_run,
        format_comparison,
        pareto_front,
        run_point,
    )

    roots = _roots(args)
    try:
        points = [run_point(find_run(name, roots)) for name in args.runs]
    except CompareError as exc:
        raise _usage(str(exc)) from None
    if as_json:
        fronts = {cost: [str(p.info.path) for p in pareto_front(points, cost)] for cost in COSTS}
        print(json.dumps({"runs": [p.to_json() for p in points], "pareto_front": fronts},
                         indent=2))
    else:
        print(format_comparison(points))
    return 0


# --------------------------------------------------------------------------- diff


def cmd_diff(args: argparse.Namespace) -> int:
    from explorer.core.diff import compare_architectures, format_diff

    old, new = (_python_spec(n) if _is_python(n) else _source(n).spec
                for n in (args.old, args.new))
    diff = compare_architectures(old, new)
    if args.json:
        print(json.dumps(diff.to_json(), indent=2))
    else:
        print(format_diff(diff, show_same=args.same))
    return 0


COMMANDS = {"gradients": cmd_gradients, "runs": cmd_runs, "diff": cmd_diff}
