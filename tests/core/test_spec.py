"""The architecture spec: JSON round trip, validation messages, atomic save."""

from __future__ import annotations

import json
import os

import pytest

from explorer.core import ArchitectureSpec, BlockSpec, SpecError, load_spec, save_spec, validate


def make(blocks, **top):
    data = {"name": "t", "input_shape": [1, 28, 28], "num_classes": 10, "blocks": blocks}
    data.update(top)
    return ArchitectureSpec.from_dict(data)


def test_round_trip_keeps_nested_blocks():
    spec = make([
        {"type": "conv2d", "out_channels": 8, "kernel_size": [3, 5]},
        {"type": "residual", "body": [{"type": "conv2d", "out_channels": 8, "padding": 1}]},
        {"type": "parallel", "branches": [[], [{"type": "relu"}]], "merge": "add"},
    ])
    again = ArchitectureSpec.from_json(spec.to_json())
    assert again.to_dict() == spec.to_dict()
    assert again.to_dict()["format"] == "network-explorer/architecture"
    assert again.to_dict()["version"] == 1


def test_defaults_filled_by_validation():
    (params,) = validate(make([{"type": "max_pool2d"}]))
    assert params == {"kernel_size": 2, "stride": None, "padding": 0}


@pytest.mark.parametrize(
    "block, words",
    [
        ({"type": "conv3d", "out_channels": 4}, ["block 0", "unknown block type 'conv3d'",
                                                  "conv2d"]),
        ({"type": "conv2d"}, ["block 0 (conv2d)", 'missing parameter "out_channels"']),
        ({"type": "conv2d", "out_channels": 0}, ["out_channels = 0", "≥ 1"]),
        ({"type": "conv2d", "out_channels": -4}, ["out_channels = -4"]),
        ({"type": "conv2d", "out_channels": "8"}, ['out_channels = "8"', "an integer"]),
        ({"type": "conv2d", "out_channels": 8.5}, ["out_channels = 8.5"]),
        ({"type": "conv2d", "out_channels": 8, "kernel_size": [3, 3, 3]}, ["kernel_size"]),
        ({"type": "conv2d", "out_channels": 8, "stride": 0}, ["stride = 0"]),
        ({"type": "conv2d", "out_channels": 8, "padding": -1}, ["padding = -1", "≥ 0"]),
        ({"type": "conv2d", "out_channels": 8, "bias": "yes"}, ["bias", "true or false"]),
        ({"type": "conv2d", "out_channels": 8, "kernel": 3}, ["unknown parameter 'kernel'",
                                                              "kernel_size"]),
        ({"type": "dropout", "p": 1.0}, ["p = 1.0", "< 1"]),
        ({"type": "dropout", "p": float("nan")}, ["p = NaN"]),
        ({"type": "residual", "body": [{"type": "conv2d"}]},
         ["block 0 (residual) › body[0] (conv2d)", "out_channels"]),
        ({"type": "parallel", "branches": []}, ["branches"]),
        ({"type": "parallel", "branches": [["relu"]]}, ["branches[0][0]", "must be an object"]),
        ({"type": "residual", "body": [], "shortcut": "maybe"}, ["shortcut", "'conv1x1'"]),
        ({"type": "linear", "out_features": "clases"}, ['out_features = "clases"',
                                                        '"classes"']),
        ({"type": "group", "blocks": [], "name": "stage.2"}, ['name = "stage.2"',
                                                              "letters, digits and _"]),
    ],
)
def test_invalid_block_names_block_field_and_valid_values(block, words):
    with pytest.raises(SpecError) as info:
        validate(make([{"type": "relu"}, block][1:]))
    text = str(info.value)
    for word in words:
        assert word in text
    assert info.value.block == 0


@pytest.mark.parametrize(
    "top, field",
    [
        ({"input_shape": [1, 28]}, "input_shape"),
        ({"input_shape": [1, 0, 28]}, "input_shape"),
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": "ten"}, "num_classes"),
        ({"blocks": {"type": "relu"}}, "blocks"),
        ({"format": "keras"}, "format"),
        ({"version": 99}, "version"),
    ],
)
def test_invalid_architecture_fields(top, field):
    data = {"name": "t", "input_shape": [1, 28, 28], "num_classes": 10, "blocks": []}
    data.update(top)
    with pytest.raises(SpecError) as info:
        ArchitectureSpec.from_dict(data)
    assert info.value.field == field
    assert field in str(info.value)


def test_block_without_type():
    with pytest.raises(SpecError, match='block 1: the block has no "type"'):
        make([{"type": "relu"}, {"out_channels": 3}])


def test_truncated_json_says_it_ends_early_and_where(tmp_path):
    path = tmp_path / "net.json"
    text = make([{"type": "relu"}]).to_json()
    cut = text[: len(text) // 2]
    path.write_text(cut + "\n")
    line = cut.rstrip().count("\n") + 1  # the last line with text on it
    with pytest.raises(SpecError, match=rf"net.json: the file ends early \(truncated\?\) at "
                                        rf"line {line};"):
        load_spec(path)


def test_an_empty_file_says_so(tmp_path):
    for content in ("", "  \n\n"):
        path = tmp_path / "empty.json"
        path.write_text(content)
        with pytest.raises(SpecError, match=r"empty.json: the file is empty; expected an "
                                            "architecture"):
            load_spec(path)


def test_broken_json_in_the_middle_names_line_and_column(tmp_path):
    path = tmp_path / "net.json"
    path.write_text('{"name": "x",\n "blocks": [}, "num_classes": 10}\n')
    with pytest.raises(SpecError, match=r"not valid JSON .* line 2, column 13"):
        load_spec(path)


def test_a_file_larger_than_any_network_is_refused_before_parsing(tmp_path):
    from explorer.core.spec import MAX_FILE_BYTES

    path = tmp_path / "huge.json"
    path.write_bytes(b"[" + b" " * MAX_FILE_BYTES + b"]")
    with pytest.raises(SpecError, match=r"huge.json: is 2,097,154 bytes, more than the "
                                        r"2,097,152"):
        load_spec(path)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "absent.json")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "net.json"
    first = make([{"type": "relu"}])
    save_spec(first, path)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_spec(make([{"type": "sigmoid"}]), path)
    monkeypatch.undo()
    assert json.loads(path.read_text())["blocks"] == [{"type": "relu"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]
    assert load_spec(path).blocks == (BlockSpec("relu", {}),)


def test_saved_files_get_the_usual_permissions(tmp_path):
    path = tmp_path / "net.json"
    save_spec(make([{"type": "relu"}]), path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~_current_umask()
    path.chmod(0o640)
    save_spec(make([{"type": "tanh"}]), path)
    assert path.stat().st_mode & 0o777 == 0o640


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_specs_are_frozen_and_hashable():
    spec = make([{"type": "residual", "body": [{"type": "conv2d", "out_channels": 8,
                                                  "kernel_size": [3, 3]}]}])
    body = spec.blocks[0].params["body"]
    assert isinstance(body, tuple) and isinstance(body[0], BlockSpec)  # parsed up front
    assert body[0].params["kernel_size"] == (3, 3)
    with pytest.raises(TypeError):
        spec.blocks[0].params["body"] = ()
    with pytest.raises(AttributeError):
        spec.name = "other"
    assert isinstance(spec.blocks, tuple)
    assert hash(spec) == hash(ArchitectureSpec.from_json(spec.to_json()))
    assert spec == ArchitectureSpec.from_json(spec.to_json())
    assert spec != make([{"type": "residual", "body": []}])


def test_a_spec_built_from_dicts_equals_the_parsed_one():
    blocks = [{"type": "conv2d", "out_channels": 4}, {"type": "relu"}]
    assert ArchitectureSpec("t", (1, 28, 28), 10, blocks) == make(blocks)
    source = {"out_channels": 4}
    block = BlockSpec("conv2d", source)
    source["out_channels"] = 99  # the caller's dict is copied, not kept
    assert block.params["out_channels"] == 4


def test_with_params_returns_a_changed_copy():
    block = BlockSpec("conv2d", {"out_channels": 4, "padding": 1})
    changed = block.with_params(out_channels=8, padding=None)
    assert dict(changed.params) == {"out_channels": 8}
    assert dict(block.params) == {"out_channels": 4, "padding": 1}


def test_init_round_trips_and_old_files_still_load():
    assert make([]).init == "default"
    assert "init" not in make([]).to_dict()  # files without init stay as they were
    xavier = make([], init="xavier")
    assert ArchitectureSpec.from_json(xavier.to_json()).init == "xavier"
    with pytest.raises(SpecError, match="'xavier', 'kaiming'"):
        make([], init="glorot")


@pytest.mark.parametrize("blocks, block_path", [
    ([{"type": "relu"}, {"type": "conv2d"}], (1,)),
    ([{"type": "residual", "body": [{"type": "relu"}, {"type": "conv2d"}]}], (0, "body", 1)),
    ([{"type": "parallel", "branches": [[], [{"type": "conv2d", "out_channels": 0}]]}],
     (0, "branches", 1, 0)),
    ([{"type": "residual", "body": [{"type": "group", "blocks": [{"type": "nope"}]}]}],
     (0, "body", 0, "blocks", 0)),
    ([{"type": "residual", "body": [{"kernel_size": 3}]}], (0, "body", 0)),
])
def test_errors_carry_the_block_path(blocks, block_path):
    with pytest.raises(SpecError) as info:
        validate(make(blocks))
    assert info.value.block_path == block_path
    assert info.value.block == 0 if block_path[0] == 0 else info.value.block == 1


@pytest.mark.parametrize("edge, past, words", [
    (1.0, 1.01, ["momentum = 1.01", "≤ 1"]),
    (0.0, -0.01, ["momentum = -0.01", "≥ 0"]),
])
def test_a_value_on_an_inclusive_bound_is_valid_and_one_past_it_is_not(edge, past, words):
    """The bound a message shows as ``≤ 1`` or ``≥ 0`` is itself accepted."""
    assert validate(make([{"type": "batch_norm2d", "momentum": edge}]))[0]["momentum"] == edge
    with pytest.raises(SpecError) as info:
        validate(make([{"type": "batch_norm2d", "momentum": past}]))
    for word in words:
        assert word in str(info.value)
