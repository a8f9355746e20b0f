"""The memory a run needs, as the refusal message states it: weights with their gradients and
optimiser state, plus a training batch's activations kept for the backward pass."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from explorer.training.memory import check_summary_fits, training_bytes


def test_weights_count_once_per_copy_the_optimiser_keeps():
    # SGD: the weight, its gradient and the momentum buffer; Adam: two moment buffers
    assert training_bytes(1000, 0, batch_size=1, eval_batch_size=1, optimizer="sgd") == 3000
    assert training_bytes(1000, 0, batch_size=1, eval_batch_size=1, optimizer="adam") == 4000
    assert training_bytes(1000, 0, batch_size=1, eval_batch_size=1, optimizer="adamw") == 4000


def test_a_training_batch_keeps_activations_and_their_gradients():
    # batch 8: 8 images' activations and their gradients = 16 per-image copies, unless the
    # evaluation batch is larger
    assert training_bytes(0, 10, batch_size=8, eval_batch_size=4, optimizer="sgd") == 160
    assert training_bytes(0, 10, batch_size=8, eval_batch_size=100, optimizer="sgd") == 1000


def test_the_refusal_states_what_is_needed_and_what_there_is(monkeypatch):
    from explorer.training import memory
    from explorer.training.engine import TrainError

    summary = SimpleNamespace(param_bytes=2048, activation_bytes=4096)
    config = SimpleNamespace(batch_size=4, eval_batch_size=2, optimizer="sgd")
    need = 3 * 2048 + 8 * 4096  # 38,912 bytes
    monkeypatch.setattr(memory, "available_memory", lambda device: need)
    check_summary_fits("net", summary, config, "cpu")  # exactly enough: no refusal
    monkeypatch.setattr(memory, "available_memory", lambda device: need - 1)
    with pytest.raises(TrainError) as caught:
        check_summary_fits("net", summary, config, "cpu")
    assert str(caught.value).startswith(
        "training net needs at least 38,912 bytes (38.0 KiB: weights 2.0 KiB, activations "
        "4.0 KiB per image, batch size 4), more than the 38.0 KiB of memory on cpu")
