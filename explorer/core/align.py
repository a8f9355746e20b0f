"""Which top-level blocks of two summaries are the same block, before and after an edit.

An insertion or a deletion renumbers and renames the blocks after it, and two blocks of one
type are easily confused (insert a conv after ``conv1``: by type alone, the old ``conv1``
lines up with the new conv). :func:`align_blocks` pairs blocks of the same type in order,
preferring pairs whose settings (kernel/stride/padding, channels out, detail) are the same,
and most of all pairs whose shapes and parameter counts are the same too. Unpaired new blocks are new; unpaired
old ones were removed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

MAX_CELLS = 250_000
"""Above this many pairs to weigh, blocks are paired by their settings alone (in order)."""


def _settings(row: Any) -> tuple:
    """What the user set: type, kernel/stride/padding, detail and the channels that come out
    (the parameter count also follows the channels that come in, set upstream)."""
    geometry = tuple(sorted((row.geometry or {}).items()))
    channels = row.output_shape[0] if len(row.output_shape) else None
    return (row.type, geometry, row.detail, channels)


def _weight(old: Any, new: Any) -> int:
    """3: the same block, unchanged; 2: the same settings, other shapes or parameter count
    (an edit upstream); 1: the same type; 0: no pair."""
    if old.type != new.type:
        return 0
    if _settings(old) != _settings(new):
        return 1
    unchanged = (old.params == new.params
                 and tuple(old.output_shape) == tuple(new.output_shape)
                 and tuple(old.input_shape or ()) == tuple(new.input_shape or ()))
    return 3 if unchanged else 2


def align_blocks(old: Sequence[Any], new: Sequence[Any]) -> list[tuple[int, int]]:
    """``(i, j)`` pairs: ``old[i]`` is ``new[j]`` (rows of top-level blocks, in order).

    The pairs never cross and have the largest total weight (see :func:`_weight`).
    """
    start = 0
    while start < min(len(old), len(new)) and _weight(old[start], new[start]) == 3:
        start += 1
    end = 0
    while (end < min(len(old), len(new)) - start
           and _weight(old[-1 - end], new[-1 - end]) == 3):
        end += 1
    pairs = [(i, i) for i in range(start)]
    a, b = old[start:len(old) - end], new[start:len(new) - end]
    pairs += [(start + i, start + j) for i, j in _middle(a, b)]
    pairs += [(len(old) - end + k, len(new) - end + k) for k in range(end)]
    return pairs


def _middle(a: Sequence[Any], b: Sequence[Any]) -> list[tuple[int, int]]:
    if not a or not b:
        return []
    if len(a) * len(b) > MAX_CELLS:
        return _greedy(a, b)
    return best_pairs(len(a), len(b), lambda i, j: _weight(a[i], b[j]))


def best_pairs(n: int, m: int, weight: Callable[[int, int], int]) -> list[tuple[int, int]]:
    """``(i, j)`` pairs of ``n`` old and ``m`` new items, in order and never crossing, with
    the largest total ``weight(i, j)`` (0: never paired); on a tie the earlier pairing."""
    weights = [[weight(i, j) for j in range(m)] for i in range(n)]
    score = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = score[i], score[i + 1]
        for j in range(m - 1, -1, -1):
            w = weights[i][j]
            row[j] = max(below[j], row[j + 1], below[j + 1] + w if w else 0)
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        w = weights[i][j]
        if w and score[i][j] == score[i + 1][j + 1] + w:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif score[i][j] == score[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _greedy(a: Sequence[Any], b: Sequence[Any]) -> list[tuple[int, int]]:
    """In order, each old block with the next new block of the same settings (very long
    networks: the weighing would cost more than the edit)."""
    import difflib

    matcher = difflib.SequenceMatcher(a=[_settings(r) for r in a],
                                      b=[_settings(r) for r in b], autojunk=False)
    return [(i + k, j + k) for i, j, size in matcher.get_matching_blocks()
            for k in range(size)]
