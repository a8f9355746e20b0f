"""Will a run fit in memory? Estimated from a shapes-only summary before anything is allocated."""

from __future__ import annotations

from explorer.core.limits import available_memory, format_bytes

#: Tensors per weight while training: the weight, its gradient and the optimiser's state.
_COPIES = {"sgd": 3, "adam": 4, "adamw": 4}


def training_bytes(param_bytes: int, activation_bytes: int, *, batch_size: int,
                   eval_batch_size: int, optimizer: str) -> int:
    """Bytes a run needs at least: the weights with their gradients and optimiser state, and
    the larger of a training batch's activations (kept for the backward pass, and their
    gradients) and an evaluation batch's."""
    weights = param_bytes * _COPIES.get(optimizer, 4)
    return weights + activation_bytes * max(2 * batch_size, eval_batch_size)


def check_fits(spec, config, device) -> None:
    """:class:`~explorer.training.TrainError` when training ``spec`` with ``config`` on
    ``device`` cannot fit in its memory, with the numbers; nothing is allocated."""
    from explorer.core.inspector import inspect_spec

    if available_memory(device) is None:
        return
    summary = inspect_spec(spec, depth=1)
    if summary.error is not None:
        return  # the run reports the error itself
    check_summary_fits(spec.name, summary, config, device)


def check_summary_fits(name: str, summary, config, device) -> None:
    """:func:`check_fits` for a network already summarised (a Python file's)."""
    from explorer.training.engine import TrainError  # the engine imports this module

    memory = available_memory(device)
    if memory is None:
        return
    need = training_bytes(summary.param_bytes, summary.activation_bytes,
                          batch_size=config.batch_size, eval_batch_size=config.eval_batch_size,
                          optimizer=config.optimizer)
    if need > memory:
        raise TrainError(
            f"training {name} needs at least {need:,} bytes ({format_bytes(need)}: weights "
            f"{format_bytes(summary.param_bytes)}, activations "
            f"{format_bytes(summary.activation_bytes)} per image, batch size "
            f"{config.batch_size}), more than the {format_bytes(memory)} of memory on {device}; "
            "use a smaller network, input or batch size"
        )
