"""Look inside a trained network: activations, first-layer filters, confusion matrix. No Qt.

Everything here works on a :class:`Snapshot` — the weights copied to the CPU at one moment —
never on the module being trained, and returns plain numpy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from explorer.core.builder import fmt_shape
from explorer.core.spec import ArchitectureSpec
from explorer.data import DIGIT_CLASSES, BatchLoader, DataSplit, to_model_input
from explorer.training.checkpoint import LoadedCheckpoint


@dataclass(frozen=True)
class Snapshot:
    """A network's weights at one moment, detached from training.

    Attributes
    ----------
    spec : the architecture the weights belong to.
    state : the state dict, every tensor a CPU copy.
    mean, std : the normalisation of the data it was trained on.
    classes : class names by label.
    label : what the window calls it, e.g. ``"course-resnet v3, epoch 2"``.
    epoch : epochs trained when the copy was taken (0: untrained).
    """

    spec: ArchitectureSpec
    state: dict[str, torch.Tensor]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...]
    label: str
    epoch: int = 0

    @classmethod
    def of_model(
        cls,
        model: nn.Module,
        spec: ArchitectureSpec,
        *,
        mean: Sequence[float],
        std: Sequence[float],
        classes: Sequence[str],
        label: str,
        epoch: int = 0,
    ) -> Snapshot:
        """Copy ``model``'s weights to the CPU (the model may go on training)."""
        state = {
            name: tensor.detach().to("cpu", copy=True) for name, tensor in model.state_dict().items()
        }
        return cls(spec, state, tuple(float(v) for v in mean), tuple(float(v) for v in std),
                   tuple(str(c) for c in classes), label, int(epoch))

    @classmethod
    def of_checkpoint(cls, checkpoint: LoadedCheckpoint, label: str) -> Snapshot:
        """A loaded checkpoint as a snapshot (MNIST's statistics when it names none)."""
        return cls.of_model(
            checkpoint.model, checkpoint.spec,
            mean=checkpoint.mean or (0.1307,), std=checkpoint.std or (0.3081,),
            classes=checkpoint.classes, label=label, epoch=checkpoint.epoch,
        )

    def build(self) -> nn.Module:
        """A fresh CPU model in eval mode holding these weights (built with a generator of
        its own: the global one may be a training run's)."""
        from explorer.core.pyfile.network import build_network

        model = build_network(self.spec, "cpu", generator=torch.Generator())
        model.load_state_dict(self.state, strict=True)
        return model.eval()

    def as_checkpoint(self) -> LoadedCheckpoint:
        """A :class:`LoadedCheckpoint` of a freshly built model, for the :class:`Predictor`."""
        return LoadedCheckpoint(self.build(), self.spec, self.mean, self.std,
                                list(self.classes), self.epoch)


# --------------------------------------------------------------------------- layers


@dataclass(frozen=True)
class LayerChoice:
    """A module whose output is a stack of feature maps (C, H, W).

    ``name`` is its dotted name in the model (``conv1``, ``residual1.body.0``); ``depth`` 0
    for a top-level block; ``shape`` its output for one input.
    """

    name: str
    type: str
    depth: int
    shape: tuple[int, int, int]

    @property
    def label(self) -> str:
        return f"{'   ' * self.depth}{self.name} ({self.type}) → {fmt_shape(self.shape)}"


def _first_tensor(value) -> torch.Tensor | None:
    if torch.is_tensor(value):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def _run_with_hooks(model: nn.Module, x: torch.Tensor, names: Sequence[str] | None):
    """Forward ``x`` through ``model`` (no grad) and return ``{name: output tensor}`` for the
    named modules (every submodule when ``names`` is None); the hooks are removed after."""
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    wanted = None if names is None else set(names)
    for name, module in model.named_modules():
        if not name or (wanted is not None and name not in wanted):
            continue

        def hook(_module, _args, out, name=name) -> None:
            tensor = _first_tensor(out)
            if tensor is not None and name not in outputs:
                outputs[name] = tensor.detach()

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def layer_choices(model: nn.Module, input_shape: Sequence[int]) -> list[LayerChoice]:
    """Every module of ``model`` that outputs feature maps, in forward order of definition.

    One forward pass of zeros finds the output shapes; modules whose output is not
    (1, C, H, W) (flatten, linear) are left out.
    """
    x = torch.zeros(1, *(int(v) for v in input_shape))
    outputs = _run_with_hooks(model, x, None)
    choices = []
    for name, module in model.named_modules():
        out = outputs.get(name)
        if out is None or out.ndim != 4:
            continue
        choices.append(LayerChoice(name, type(module).__name__, name.count("."),
                                   tuple(int(v) for v in out.shape[1:])))
    return choices


def activations(model: nn.Module, x: torch.Tensor, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The outputs of the named modules for one input ``x`` (1, C, H, W).

    Returns
    -------
    dict of str to ndarray
        float32 (C, H, W) per name (a module's first output tensor, first item of the batch).

    Raises
    ------
    KeyError
        For a name that is not a module of ``model`` (the message lists a few valid ones).
    """
    modules = dict(model.named_modules())
    missing = [name for name in names if name not in modules or not name]
    if missing:
        valid = ", ".join(n for n in list(modules)[1:6] if n)
        raise KeyError(f"{missing[0]!r} is not a layer of this network (layers: {valid}, ...)")
    outputs = _run_with_hooks(model, x, names)
    return {name: outputs[name][0].float().cpu().numpy() for name in names if name in outputs}


def first_conv_filters(model: nn.Module) -> tuple[str, np.ndarray] | None:
    """``(name, weights)`` of the first 2-D convolution, weights float32 (out, in, kh, kw);
    ``None`` when the network has none."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module.weight.detach().float().cpu().numpy().copy()
    return None


def drawing_input(snapshot: Snapshot, digit28: np.ndarray) -> tuple[torch.Tensor | None, str]:
    """A preprocessed 28×28 drawing as ``snapshot``'s input, and a note for the window.

    Returns ``(None, reason)`` when a drawn digit means nothing to the network (its classes
    are not the digits 0–9); otherwise the input (1, C, H, W) and an empty note for a
    1×28×28 network, or one saying how the drawing was converted.
    """
    spec = snapshot.spec
    classes = list(snapshot.classes)
    if classes[: len(DIGIT_CLASSES)] != DIGIT_CLASSES:
        shown = ", ".join(classes[:4]) + (", …" if len(classes) > 4 else "")
        return None, (
            f"{spec.name} classifies {len(classes)} classes that are not the digits 0–9 "
            f"({shown}): a drawn digit means nothing to it"
        )
    channels, height, width = (int(v) for v in spec.input_shape)
    x = to_model_input(digit28, spec.input_shape, snapshot.mean, snapshot.std)
    changes = []
    if (height, width) != (28, 28):
        changes.append(f"resized to {height}×{width}")
    if channels != 1:
        changes.append(f"repeated over {channels} channels")
    note = f"the drawing is {' and '.join(changes)} for {spec.name}" if changes else ""
    return x, note


@dataclass(frozen=True)
class DrawingPrediction:
    """What a network makes of a drawing.

    ``digit`` is the preprocessed 28×28 image (0–1, white on black) the network receives
    (resized and repeated over channels as ``note`` says); ``probabilities`` is ``None``
    when the network cannot classify drawings (``note`` says why).
    """

    digit: np.ndarray
    probabilities: tuple[float, ...] | None
    classes: tuple[str, ...]
    note: str
    source: str

    @property
    def top(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))


def predict_drawing(
    model: nn.Module, snapshot: Snapshot, image: np.ndarray
) -> DrawingPrediction | None:
    """Preprocess a drawing the MNIST way and classify it; ``None`` for an empty drawing, no
    probabilities (and the reason as the note) for a drawing that is not a digit.

    ``model`` is ``snapshot.build()`` (built once by the caller and reused).
    """
    from explorer.data.drawing import read_drawing

    digit, problem = read_drawing(image)
    if digit is None:
        return None
    if problem is not None:  # a dot or a speck: no confident answer for it
        return DrawingPrediction(digit, None, snapshot.classes, problem, snapshot.label)
    x, note = drawing_input(snapshot, digit)
    probabilities = None
    if x is not None:
        with torch.inference_mode():
            scores = torch.softmax(model(x)[0].float(), dim=0)
        probabilities = tuple(float(p) for p in scores)
    return DrawingPrediction(digit, probabilities, snapshot.classes, note, snapshot.label)


# --------------------------------------------------------------------------- confusion


@dataclass(frozen=True)
class Confusion:
    """A network's predictions on a test split.

    Attributes
    ----------
    matrix : int64 (K, K); ``matrix[t, p]`` counts images of class ``t`` predicted ``p``.
    labels, predictions : int64 (N,)
    probabilities : float32 (N, K), softmax of the network's scores.
    classes : class names by label.
    """

    matrix: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray
    classes: tuple[str, ...] = field(default=())

    @property
    def accuracy(self) -> float:
        total = int(self.matrix.sum())
        return float(np.trace(self.matrix)) / total if total else math.nan

    def cell(self, true: int, predicted: int) -> np.ndarray:
        """Indices into the split of the images of class ``true`` predicted ``predicted``,
        most confident first."""
        index = np.flatnonzero((self.labels == true) & (self.predictions == predicted))
        confidence = self.probabilities[index, predicted]
        return index[np.argsort(-confidence, kind="stable")]


def confusion(
    model: nn.Module,
    split: DataSplit,
    *,
    input_shape: Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
    classes: Sequence[str],
    batch_size: int = 256,
    cancel: Callable[[], bool] | None = None,
) -> Confusion | None:
    """Classify every image of ``split`` with ``model`` (eval mode, CPU, no grad).

    The images are prepared exactly as the training loader prepares test batches.
    ``cancel`` is asked before each batch; when it answers ``True`` the pass ends and
    returns ``None``.
    """
    loader = BatchLoader(split, input_shape=input_shape, mean=mean, std=std,
                         batch_size=batch_size)
    model.eval()
    chunks = []
    with torch.inference_mode():
        for x, _ in loader:
            if cancel is not None and cancel():
                return None
            chunks.append(torch.softmax(model(x).float(), dim=1))
    scores = torch.cat(chunks).numpy() if chunks else np.zeros((0, len(classes)), np.float32)
    k = max(len(classes), scores.shape[1])
    labels = split.labels.numpy().astype(np.int64)
    predictions = scores.argmax(axis=1).astype(np.int64)
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    names = tuple(classes) + tuple(str(i) for i in range(len(classes), k))
    return Confusion(matrix, labels, predictions, scores.astype(np.float32), names)
