"""Property-based tests (Hypothesis): whatever a user gives, only our own errors come out.

Architecture files with random blocks, nesting, sizes, types and values at and past every
bound; option sets for every command; corrupt checkpoints. Each property has a small example
budget, so the file runs in well under a minute on two cores; no per-example deadline (a
timing is not what these check, and a loaded machine made one example take 11 s).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.cli import main
from explorer.core import limits
from explorer.core.inspector import inspect_spec
from explorer.core.registry import list_blocks
from explorer.core.spec import ArchitectureSpec, SpecError
from explorer.core.summary import Summary
from explorer.training import CheckpointError, load_checkpoint

QUICK = settings(max_examples=40, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])

BLOCKS = {b.name: b for b in list_blocks()}
LEAVES = sorted(name for name, b in BLOCKS.items() if not b.container)
JUNK = st.one_of(
    st.none(), st.booleans(), st.text(max_size=4), st.just("classes"),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(-2, 9), max_size=3), st.dictionaries(st.text(max_size=2), st.none(),
                                                             max_size=1),
)


def mostly(valid, *others):
    """``valid`` nine times in ten, else one of ``others``."""
    return st.integers(0, 9).flatmap(lambda n: valid if n else st.one_of(*others))


def number_values(param):
    """Values of a numeric parameter: mostly small valid ones, and every bound's edges."""
    low = int(param.minimum) if param.minimum is not None else -3
    edges = [low, low - 1, 0, -1, 10**18, 2**63, -(2**63) - 1]
    if param.maximum is not None:
        high = param.maximum
        edges += [high, high + 1, high * 1000] if param.kind != "float" else [high, high * 2]
    if param.kind == "float":
        small = st.floats(min_value=max(low, 0), max_value=1, allow_nan=False)
        return mostly(small, st.sampled_from(edges + [float("nan"), float("inf"), 1e308]))
    small = st.integers(max(low, 1), max(low, 1) + 6)
    sizes = mostly(small, st.sampled_from(edges))
    if param.kind == "size":
        return mostly(sizes, st.lists(sizes, min_size=1, max_size=3))
    return sizes


def value_for(param):
    if param.kind in ("int", "float", "size"):
        valid = number_values(param)
    elif param.kind == "choice":
        valid = st.sampled_from(param.choices)
    elif param.kind == "bool":
        valid = st.booleans()
    else:
        valid = st.text(alphabet="ab_1.\x1b/", max_size=6)
    return mostly(valid, JUNK)


@st.composite
def leaf(draw):
    name = draw(mostly(st.sampled_from(LEAVES), st.text(max_size=6)))
    block = {"type": name}
    definition = BLOCKS.get(name)
    for param in definition.params if definition else ():
        if param.required or draw(st.booleans()):
            block[param.name] = draw(value_for(param))
    if draw(st.integers(0, 9)) == 0:
        block[draw(st.text(max_size=4))] = draw(JUNK)
    return block


def containers(children):
    lists = st.lists(children, max_size=3)
    return mostly(st.one_of(
        st.builds(lambda b, r: {"type": "group", "blocks": b, "repeat": r}, lists,
                  st.one_of(st.integers(1, 3), st.sampled_from([0, 1000, 1001, 10**9]))),
        st.builds(lambda b, s: {"type": "residual", "body": b, "shortcut": s}, lists,
                  st.sampled_from(["identity", "conv1x1", "pad", "none", "bogus"])),
        st.builds(lambda b, m: {"type": "parallel", "branches": b, "merge": m},
                  st.lists(lists, max_size=3), st.sampled_from(["concat", "add", 3]))),
        JUNK,
    )


BLOCK = st.recursive(leaf(), containers, max_leaves=12)
SHAPE = mostly(
    st.tuples(st.integers(1, 4), st.integers(1, 40), st.integers(1, 40)).map(list),
    st.lists(st.sampled_from([0, -1, 1, limits.MAX_INPUT_CHANNELS, limits.MAX_INPUT_SIZE,
                              limits.MAX_INPUT_SIZE + 1, 10**20]), min_size=3, max_size=3),
    JUNK,
)
ARCHITECTURE = st.fixed_dictionaries(
    {"input_shape": SHAPE, "blocks": st.lists(BLOCK, max_size=6)},
    optional={"name": mostly(st.text(max_size=8), JUNK),
              "num_classes": mostly(st.integers(1, 12), st.sampled_from(
                  [0, limits.MAX_CLASSES, limits.MAX_CLASSES + 1]), JUNK),
              "version": mostly(st.just(1), st.sampled_from([0, 2, "1", None])),
              "init": mostly(st.sampled_from(["default", "xavier", "kaiming"]), st.just("x"))},
)


@QUICK
@given(ARCHITECTURE)
def test_any_architecture_file_gives_a_summary_or_a_spec_error(document):
    try:
        spec = ArchitectureSpec.from_json(json.dumps(document))
    except SpecError:
        return
    summary = inspect_spec(spec, depth=3)  # never raises for a user's mistake
    assert isinstance(summary, Summary)
    assert summary.error is not None or all(s >= 1 for s in summary.output_shape)
    assert summary.param_bytes >= 0 and summary.activation_bytes >= 0


@QUICK
@given(st.lists(st.sampled_from([
    "summary", "spec", "blocks", "presets", "lenet", "resnet20", "torchvision:alexnet",
    "torchvision:nope", "nowhere.json", "/dev/null", "--json", "--input", "--classes",
    "--depth", "3,32,32", "1,1,1", "0,1,1", "3,100000,100000", "99999999999999999999,1,1",
    "1", "0", "-1", "1000000000000", "x", "*", "[", "\x1b[2J", "",
]), min_size=1, max_size=5))
def test_any_options_give_a_documented_exit_code(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exc:  # --help and --version
        assert exc.code == 0
        return
    _, err = capsys.readouterr()
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and "\x1b" not in err


TRAIN_OPTIONS = st.fixed_dictionaries({}, optional={
    "--epochs": st.sampled_from(["1", "2", "0", "-1", "x", "1e3", "1000001"]),
    "--batch-size": st.sampled_from(["1", "16", "0", "65537", "nan"]),
    "--lr": st.sampled_from(["0.1", "0", "-1", "1e39", "inf", "nan", "3e38"]),
    "--optimizer": st.sampled_from(["sgd", "adam", "adamw", "rmsprop", ""]),
    "--momentum": st.sampled_from(["0.9", "1", "-0.5", "nan"]),
    "--schedule": st.sampled_from(["none", "step", "cosine", "onecycle", "exp"]),
    "--seed": st.sampled_from(["0", "-1", str(2**64)]),
    "--dataset": st.sampled_from(["mnist-sample", "nowhere", "/dev/null", "/proc"]),
    "--device": st.sampled_from(["cpu", "tpu", "cuda:99"]),
})


@settings(QUICK, max_examples=15)
@given(TRAIN_OPTIONS, st.sampled_from(["lenet", "tiny", "nowhere.json"]))
def test_any_training_options_give_a_documented_exit_code(capsys, options, network):
    with tempfile.TemporaryDirectory() as folder:
        if network == "tiny":
            network = str(Path(folder) / "tiny.json")
            Path(network).write_text(json.dumps({
                "input_shape": [1, 28, 28], "num_classes": 10,
                "blocks": [{"type": "flatten"}, {"type": "linear", "out_features": "classes"}]}))
        argv = ["train", network, "--max-batches", "1", "--out", str(Path(folder) / "run")]
        for flag, value in options.items():
            argv += [flag, value]
        code = main(argv)
        _, err = capsys.readouterr()
        assert code in (0, 1, 2), err
        assert "Traceback" not in err


@cache
def _checkpoint() -> tuple[bytes, bytes]:
    """A real tiny checkpoint (sidecar, weights), trained once."""
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "tiny.json"
        spec.write_text(json.dumps({
            "input_shape": [1, 28, 28], "num_classes": 10,
            "blocks": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3},
                       {"type": "global_avg_pool"}, {"type": "flatten"},
                       {"type": "linear", "out_features": "classes"}]}))
        run = Path(folder) / "run"
        assert main(["train", str(spec), "--epochs", "1", "--max-batches", "1",
                     "--out", str(run)]) == 0
        return (run / "best.json").read_bytes(), (run / "best.safetensors").read_bytes()


SIDECAR_FIELDS = ["format", "version", "architecture", "normalization", "classes", "epoch",
                  "metrics", "weights"]


@st.composite
def corrupt_checkpoint(draw):
    sidecar, weights = _checkpoint()
    document = json.loads(sidecar)
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(SIDECAR_FIELDS + ["mean", "std", "blocks"]))
        value = draw(st.one_of(JUNK, st.lists(st.floats(), max_size=3),
                               st.lists(st.text(max_size=2), max_size=12)))
        if key in ("mean", "std") and isinstance(document.get("normalization"), dict):
            document["normalization"][key] = value
        elif key == "blocks" and isinstance(document.get("architecture"), dict):
            document["architecture"]["blocks"] = draw(st.lists(BLOCK, max_size=3))
        elif draw(st.booleans()):
            document.pop(key, None)
        else:
            document[key] = value
    document["weights"] = "c.safetensors" if "weights" not in document or draw(
        st.booleans()) else document["weights"]
    data = bytearray(weights)
    action = draw(st.sampled_from(["keep", "truncate", "flip", "append", "header"]))
    if action == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif action == "flip":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    elif action == "append":
        data += draw(st.binary(max_size=64))
    elif action == "header":  # a header that declares other sizes
        data[:8] = draw(st.integers(0, 2**64 - 1)).to_bytes(8, "little")
    return json.dumps(document, allow_nan=True), bytes(data)


@QUICK
@given(corrupt_checkpoint())
def test_any_corrupt_checkpoint_loads_or_is_a_checkpoint_error(files):
    sidecar, weights = files
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "c.json").write_text(sidecar)
        (Path(folder) / "c.safetensors").write_bytes(weights)
        try:
            loaded = load_checkpoint(Path(folder) / "c.json")
        except CheckpointError as exc:
            assert "weights_only=False" not in str(exc)
            return
    assert len(loaded.classes) == loaded.spec.num_classes
    assert all(math.isfinite(v) for v in loaded.mean + loaded.std) and min(loaded.std) > 0


@QUICK
@given(st.binary(max_size=300), st.sampled_from([".pt", ".pth", ".json", ".safetensors"]))
def test_any_bytes_as_weights_are_refused_by_name(data, suffix):
    from explorer.core.presets import preset_spec

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"w{suffix}"
        path.write_bytes(data)
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path, spec=preset_spec("lenet"))
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert os.fspath(path) not in ("",)
