"""Pairing the blocks of two summaries across an edit."""

from __future__ import annotations

from types import SimpleNamespace

from explorer.core import align
from explorer.core.align import align_blocks


def row(type_, out, params=0, k=None, inp=None, detail=""):
    geometry = {"kernel_size": (k, k)} if k else None
    return SimpleNamespace(type=type_, output_shape=out, params=params, geometry=geometry,
                           input_shape=inp, detail=detail)


CONV1 = row("conv2d", (10, 24, 24), 260, 5, (1, 28, 28))
POOL = row("max_pool2d", (10, 12, 12), 0, 2, (10, 24, 24))
RELU = row("relu", (10, 12, 12), 0, None, (10, 12, 12))


def test_an_inserted_twin_is_the_unpaired_one():
    twin = row("conv2d", (10, 24, 24), 910, 3, (10, 24, 24))
    assert align_blocks([CONV1, POOL, RELU], [CONV1, twin, POOL, RELU]) == [
        (0, 0), (1, 2), (2, 3)]


def test_a_deleted_block_leaves_the_others_paired_in_order():
    assert align_blocks([CONV1, POOL, RELU], [CONV1, RELU]) == [(0, 0), (2, 1)]


def test_an_edited_block_stays_paired_with_itself():
    edited = row("conv2d", (16, 24, 24), 416, 5, (1, 28, 28))
    pool = row("max_pool2d", (16, 12, 12), 0, 2, (16, 24, 24))
    assert align_blocks([CONV1, POOL, RELU], [edited, pool, RELU]) == [(0, 0), (1, 1), (2, 2)]


def test_the_block_with_the_same_settings_wins_over_one_of_the_same_type():
    """conv1 (5×5) deleted before a 3×3 conv: the 3×3 conv keeps its pair although its input
    and parameter count changed."""
    conv3 = row("conv2d", (16, 22, 22), 1456, 3, (10, 24, 24))
    moved = row("conv2d", (16, 26, 26), 160, 3, (1, 28, 28))
    assert align_blocks([CONV1, conv3, POOL], [moved, POOL]) == [(1, 0), (2, 1)]


def test_very_long_networks_are_paired_by_settings(monkeypatch):
    monkeypatch.setattr(align, "MAX_CELLS", 1)
    twin = row("conv2d", (10, 24, 24), 910, 3, (10, 24, 24))
    relu = row("relu", (10, 24, 24), 0, None, (10, 24, 24))
    assert align_blocks([CONV1, RELU], [twin, CONV1, relu]) == [(0, 1), (1, 2)]
