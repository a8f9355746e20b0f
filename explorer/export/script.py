"""Export a standalone training script: the network's code plus a DDP training loop.

The script runs as ``python train.py`` and under ``torchrun`` (DistributedDataParallel,
NCCL on GPUs, Gloo on CPUs), writes checkpoints in the app's format (safetensors and a JSON
sidecar) from rank 0, resumes from its last checkpoint and keeps the best one. Its default
optimiser settings are the app's (:class:`~explorer.training.config.TrainConfig`).
"""

from __future__ import annotations

import pprint

from explorer.core.spec import ArchitectureSpec
from explorer.export.pytorch import (
    LOAD_WEIGHTS,
    WeightsInfo,
    network_code,
    weights_constants,
    wrap_long_lines,
)
from explorer.export.train_template import IMPORTS, TRAINING, USAGE
from explorer.training.config import TrainConfig

DEFAULTS = ("epochs", "batch_size", "eval_batch_size", "optimizer", "lr", "momentum",
            "weight_decay", "schedule", "gamma", "seed")


def export_script(spec: ArchitectureSpec, weights: WeightsInfo | None = None) -> str:
    """The source of ``train.py`` for ``spec``.

    With ``weights`` (trained weights exported beside the script), training starts from
    them and normalises the data as they were trained.

    Raises
    ------
    SpecError, ShapeError, ExportError
        As :func:`~explorer.export.pytorch.export_pytorch`.
    """
    code = network_code(spec)
    defaults = TrainConfig()
    training = TRAINING
    for name in DEFAULTS:
        training = training.replace("{{" + name + "}}", repr(getattr(defaults, name)))
    architecture = pprint.pformat(spec.to_dict(), indent=1, width=96, sort_dicts=False)
    usage = USAGE.replace("NAME", spec.name)
    doc = (code.header("training script") + "\n\n" + usage + '\n"""')
    parts = [
        doc + "\n\n" + code.import_lines(IMPORTS) + "\n\n"
        + code.constants() + weights_constants(weights)
        + "\nNORMALIZATION = " + ("(MEAN, STD)" if weights and weights.mean else "(None, None)")
        + '\n"""Per-channel mean and std of the inputs; (None, None): from the training data."""'
        + "\n\nARCHITECTURE = " + wrap_long_lines(architecture)
        + '\n"""The network as Network Explorer saves it (written into every checkpoint)."""'
        + '\n\nUSAGE = "Run it on" + __doc__.partition("Run it on")[2]',
        code.definitions(),
        LOAD_WEIGHTS,
        code.build_function(weights),
        training.strip("\n"),
    ]
    return "\n\n\n".join(parts) + "\n"
