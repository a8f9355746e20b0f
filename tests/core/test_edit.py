"""Pure edits on block paths: every edit returns a new spec and leaves the old one as it was."""

from __future__ import annotations

import pytest

from explorer.core import edit
from explorer.core.edit import EditError
from explorer.core.spec import ArchitectureSpec, BlockSpec, format_path

RELU = BlockSpec("relu")
CONV8 = BlockSpec("conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1})


def net() -> ArchitectureSpec:
    return ArchitectureSpec.from_dict({
        "name": "t", "input_shape": [1, 8, 8], "num_classes": 10,
        "blocks": [
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "residual", "body": [
                {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
                {"type": "relu"},
            ]},
            {"type": "parallel", "branches": [[], [{"type": "relu"}, {"type": "sigmoid"}]],
             "merge": "add"},
            {"type": "flatten"},
        ],
    })


def types(blocks) -> list[str]:
    return [b.type for b in blocks]


def test_block_at_and_iter_blocks_address_every_level():
    spec = net()
    assert edit.block_at(spec, (1, "body", 1)).type == "relu"
    assert edit.block_at(spec, (2, "branches", 1, 1)).type == "sigmoid"
    paths = [p for p, _ in edit.iter_blocks(spec)]
    assert paths == [(0,), (1,), (1, "body", 0), (1, "body", 1), (2,),
                     (2, "branches", 1, 0), (2, "branches", 1, 1), (3,)]
    for path, block in edit.iter_blocks(spec):
        assert edit.block_at(spec, path) is block


def test_slots_come_from_the_schema():
    assert edit.slots(BlockSpec("residual")) == [("body", "blocks")]
    assert edit.slots(BlockSpec("parallel")) == [("branches", "branches")]
    assert edit.slots(BlockSpec("group")) == [("blocks", "blocks")]
    assert edit.slots(BlockSpec("inception_a")) == []
    assert edit.slots(BlockSpec("no-such-block")) == []


def test_insert_remove_replace_are_pure():
    spec = net()
    before = spec.to_dict()
    inserted = edit.insert(spec, (1, "body", 1), RELU)
    assert types(edit.block_at(inserted, (1,)).params["body"]) == ["conv2d", "relu", "relu"]
    appended = edit.insert(spec, (4,), BlockSpec("linear", {"out_features": "classes"}))
    assert types(appended.blocks)[-1] == "linear"
    removed = edit.remove(spec, (2, "branches", 1, 0))
    assert types(edit.block_at(removed, (2,)).params["branches"][1]) == ["sigmoid"]
    replaced = edit.replace(spec, (0,), CONV8.with_params(out_channels=4))
    assert replaced.blocks[0].params["out_channels"] == 4
    assert spec.to_dict() == before  # the original is untouched
    assert replaced.blocks[1] is spec.blocks[1]  # unchanged blocks are shared, not copied


def test_set_param_sets_and_clears():
    spec = edit.set_param(net(), (1, "body", 0), "out_channels", 16)
    assert edit.block_at(spec, (1, "body", 0)).params["out_channels"] == 16
    cleared = edit.set_param(spec, (1, "body", 0), "padding", None)
    assert "padding" not in edit.block_at(cleared, (1, "body", 0)).params


def test_move_uses_positions_after_removal():
    spec = net()
    moved = edit.move(spec, (0,), (0, "body", 0))  # the residual is block 0 once conv is gone
    assert types(moved.blocks) == ["residual", "parallel", "flatten"]
    assert types(moved.blocks[0].params["body"]) == ["conv2d", "conv2d", "relu"]
    down = edit.move(spec, (0,), edit.shift_after_removal((2,), (0,)))
    assert types(down.blocks) == ["residual", "conv2d", "parallel", "flatten"]
    with pytest.raises(EditError, match="inside the removed block"):
        edit.shift_after_removal((1, "body", 0), (1,))


def test_shift_after_removal():
    assert edit.shift_after_removal((3,), (1,)) == (2,)
    assert edit.shift_after_removal((0,), (1,)) == (0,)
    assert edit.shift_after_removal((2, "body", 1), (2, "body", 0)) == (2, "body", 0)
    assert edit.shift_after_removal((3, "body", 1), (1,)) == (2, "body", 1)
    assert edit.shift_after_removal((3, "body", 1), (2, "body", 0)) == (3, "body", 1)


@pytest.mark.parametrize("container, field", [("residual", "body"), ("group", "blocks")])
def test_wrap_and_unwrap_round_trip(container, field):
    spec = net()
    wrapped = edit.wrap(spec, [(3,), (2,)], container)
    assert types(wrapped.blocks) == ["conv2d", "residual", container]
    assert types(wrapped.blocks[2].params[field]) == ["parallel", "flatten"]
    assert edit.unwrap(wrapped, (2,)) == spec


def test_wrap_in_parallel_makes_one_branch():
    wrapped = edit.wrap(net(), [(0,)], "parallel")
    assert types(wrapped.blocks[0].params["branches"][0]) == ["conv2d"]
    assert edit.unwrap(wrapped, (0,)) == net()


def test_unwrap_writes_out_group_repeats():
    spec = ArchitectureSpec("g", (1, 8, 8), 10, [
        {"type": "group", "repeat": 2, "blocks": [{"type": "relu"}, {"type": "sigmoid"}]}])
    assert types(edit.unwrap(spec, (0,)).blocks) == ["relu", "sigmoid", "relu", "sigmoid"]


def test_branches_can_be_added_and_removed():
    spec = edit.insert_branch(net(), (2,), 0, [RELU])
    assert [types(b) for b in edit.block_at(spec, (2,)).params["branches"]] == [
        ["relu"], [], ["relu", "sigmoid"]]
    spec = edit.remove_branch(spec, (2,), 1)
    assert len(edit.block_at(spec, (2,)).params["branches"]) == 2
    one = edit.remove_branch(spec, (2,), 0)
    with pytest.raises(EditError, match="at least one branch"):
        edit.remove_branch(one, (2,), 0)
    with pytest.raises(EditError, match="has no branches"):
        edit.insert_branch(spec, (0,), 0)


@pytest.mark.parametrize("call, words", [
    (lambda s: edit.block_at(s, (9,)), "no block (9,)"),
    (lambda s: edit.block_at(s, (0, "body", 0)), "no nested blocks called 'body'"),
    (lambda s: edit.block_at(s, (2, "branches", 5, 0)), "no branch"),
    (lambda s: edit.block_at(s, (1, "body")), "must end with an index"),
    (lambda s: edit.insert(s, (6,), RELU), "the list has 4 blocks"),
    (lambda s: edit.wrap(s, [(0,), (2,)], "group"), "adjacent"),
    (lambda s: edit.wrap(s, [(0,), (1, "body", 0)], "group"), "same list"),
    (lambda s: edit.wrap(s, [(0,)], "inception_a"), "cannot wrap"),
    (lambda s: edit.unwrap(s, (0,)), "holds no blocks"),
    (lambda s: edit.unwrap(s, (2,)), "has 2 branches"),
])
def test_impossible_edits_say_why(call, words):
    with pytest.raises(EditError, match=words.replace("(", r"\(").replace(")", r"\)")):
        call(net())


def test_format_path_reads_like_the_error_messages():
    spec = net()
    assert format_path(spec, (1, "body", 0)) == "block 1 (residual) › body[0] (conv2d)"
    assert format_path(spec, (2, "branches", 1, 1)) == (
        "block 2 (parallel) › branches[1][1] (sigmoid)")


def test_wrapping_several_blocks_in_parallel_puts_them_in_one_branch():
    """Two blocks wrapped in parallel run one after the other in its only branch, so the
    network computes what it did."""
    wrapped = edit.wrap(net(), [(1,), (2,)], "parallel")
    branches = wrapped.blocks[1].params["branches"]
    assert len(branches) == 1 and types(branches[0]) == types(net().blocks[1:3])
    assert edit.unwrap(wrapped, (1,)) == net()
