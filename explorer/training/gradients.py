"""The gradient lab: how gradients and activations change with depth, on one batch. No Qt.

One batch of the network's data goes through the network in training mode (batch norm uses
the batch's statistics, as while training), the cross-entropy loss is back-propagated, and
every layer that holds parameters (convolution, linear, batch norm) gives the norm of its
parameters' gradient and the mean and standard deviation of its output. At initialisation a
deep plain network with batch norm shows gradients growing toward the input by orders of
magnitude while a residual one keeps them within a small factor (He et al. 2015/2016): the
*spread*, the largest convolution gradient norm over the smallest, says it in one number.

Random numbers come from ``seed``: the initial weights from a generator of their own (the
weights a run with that seed starts from, whatever other threads draw meanwhile), the batch
from the loader's, dropout from a forked global RNG; a profile repeats and the process's RNG
is left as it was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.builder import build_model
from explorer.core.spec import ArchitectureSpec
from explorer.data import BatchLoader, Dataset

DEFAULT_PAIR = ("plain56", "resnet56")
"""The two networks the lab shows side by side at first."""
MAX_LAB_BATCH = 4096


class GradientError(ValueError):
    """A profile that cannot be made (data that do not fit the network, say)."""


@dataclass(frozen=True)
class LayerGradient:
    """One parameterised layer: where it sits and what one batch did there.

    ``depth`` counts parameterised layers from the input (1 is the first); ``grad_norm`` is
    the Euclidean norm of the loss's gradient over the layer's own parameters;
    ``activation_mean``/``activation_std`` describe its output over the batch.
    """

    name: str
    type: str
    depth: int
    params: int
    grad_norm: float
    activation_mean: float
    activation_std: float

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GradientProfile:
    """Every parameterised layer of one network on one batch, input to output."""

    label: str
    network: str
    layers: tuple[LayerGradient, ...]
    loss: float
    batch: int
    seed: int
    dataset: str
    epoch: int = 0

    @property
    def convolutions(self) -> tuple[LayerGradient, ...]:
        return tuple(layer for layer in self.layers if layer.type == "Conv2d")

    @property
    def spread(self) -> float | None:
        """The largest convolution gradient norm over the smallest (``None`` with fewer than
        two convolutions or a zero gradient)."""
        norms = [layer.grad_norm for layer in self.convolutions]
        if len(norms) < 2 or min(norms) <= 0:
            return None
        return max(norms) / min(norms)

    @property
    def first_last_ratio(self) -> float | None:
        """The first convolution's gradient norm over the last one's."""
        convs = self.convolutions
        if len(convs) < 2 or convs[-1].grad_norm <= 0:
            return None
        return convs[0].grad_norm / convs[-1].grad_norm

    def to_json(self) -> dict:
        return {"network": self.network, "label": self.label, "epoch": self.epoch,
                "dataset": self.dataset, "batch": self.batch, "seed": self.seed,
                "loss": self.loss, "spread": self.spread,
                "first_last_ratio": self.first_last_ratio,
                "layers": [layer.to_json() for layer in self.layers]}


def gradient_profile(
    spec: ArchitectureSpec,
    dataset: Dataset,
    *,
    batch: int = 64,
    seed: int = 0,
    state: Mapping[str, torch.Tensor] | None = None,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
    label: str = "",
    epoch: int = 0,
    model: nn.Module | None = None,
) -> GradientProfile:
    """Gradients and activations of ``spec`` on one training batch of ``dataset``.

    Parameters
    ----------
    batch : images in the batch (the first ``batch`` of the training split shuffled with
        ``seed``).
    seed : seeds the batch, dropout and, without ``state``, the initial weights (a run's
        seed gives exactly the weights it started from).
    state : trained weights (a checkpoint's state dict); the network's initialisation when
        ``None``.
    mean, std : the normalisation the weights were trained with; the data set's by default.
    model : the network already built (a Python file's); ``spec`` then only names it and
        gives its input shape and class count.

    Raises
    ------
    GradientError
        For an empty data set or more classes in the data than the network has outputs.
    """
    if not 1 <= batch <= MAX_LAB_BATCH:
        raise GradientError(f"batch = {batch} is not valid: expected 1 to {MAX_LAB_BATCH}")
    if len(dataset.train) == 0:
        raise GradientError(f"the data set {dataset.name!r} has no training images")
    if len(dataset.classes) > spec.num_classes:
        raise GradientError(
            f"the data set {dataset.name!r} has {len(dataset.classes)} classes but "
            f"{spec.name!r} gives {spec.num_classes} scores")
    if model is None:  # a run's first weights for this seed, whatever other threads draw
        model = build_model(spec, device="cpu", generator=torch.Generator().manual_seed(seed))
    with torch.random.fork_rng(devices=[]):  # dropout, if any, repeats too
        torch.manual_seed(seed)
        if state is not None:
            model.load_state_dict(dict(state), strict=True)
        loader = BatchLoader(dataset.train, input_shape=spec.input_shape,
                             mean=mean or dataset.mean, std=std or dataset.std,
                             batch_size=batch, shuffle=True, seed=seed)
        x, y = next(iter(loader))
        layers, loss = _profile(model, x, y)
    return GradientProfile(label or spec.name, spec.name, layers, loss, int(y.shape[0]), seed,
                           dataset.name, epoch)


def _profile(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """Forward ``x`` in training mode with hooks on every parameterised module, back-propagate
    the cross-entropy with ``y``; return the rows and the loss."""
    model.train()
    owners = [(name, module) for name, module in model.named_modules()
              if any(True for _ in module.parameters(recurse=False))]
    stats: dict[str, tuple[float, float]] = {}
    handles = []
    for name, module in owners:
        def hook(_module, _args, out, name=name) -> None:
            if torch.is_tensor(out) and name not in stats:
                value = out.detach().float()
                stats[name] = (float(value.mean()), float(value.std()) if value.numel() > 1
                               else 0.0)

        handles.append(module.register_forward_hook(hook))
    try:
        loss = F.cross_entropy(model(x), y)
        model.zero_grad(set_to_none=True)
        loss.backward()
    finally:
        for handle in handles:
            handle.remove()
    rows = []
    for depth, (name, module) in enumerate(owners, start=1):
        grads = [p.grad.detach().float() for p in module.parameters(recurse=False)
                 if p.grad is not None]
        norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
        mean, std = stats.get(name, (math.nan, math.nan))
        params = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append(LayerGradient(name, type(module).__name__, depth, params, norm, mean, std))
    return tuple(rows), float(loss.detach())


def explain_spreads(plain: GradientProfile, residual: GradientProfile) -> str:
    """Two lines for a learner: the two spreads, and why they differ."""
    def shown(profile: GradientProfile) -> str:
        spread = profile.spread
        return f"{profile.network} {spread:,.0f}×" if spread is not None else \
            f"{profile.network} (no spread: fewer than two convolutions)"

    return (
        f"Gradient spread, largest over smallest convolution gradient: {shown(plain)}, "
        f"{shown(residual)}.\n"
        "Without shortcuts every layer multiplies the gradient on its way back, so it grows "
        "(or fades) with depth; identity shortcuts carry it past each block unchanged, "
        "so all depths learn at a similar pace."
    )


def format_profile(profile: GradientProfile) -> str:
    """The profile as a text table with its spread underneath."""
    when = "at initialisation" if profile.epoch == 0 else f"after epoch {profile.epoch}"
    title = (f"{profile.label} {when} · one batch of {profile.batch} {profile.dataset} "
             f"images (seed {profile.seed}) · loss {profile.loss:.4f}")
    header = (f"{'depth':>5}  {'layer':<34} {'type':<12} {'grad norm':>10} "
              f"{'act mean':>9} {'act std':>9}")
    lines = [title, header]
    for layer in profile.layers:
        lines.append(f"{layer.depth:>5}  {layer.name:<34} {layer.type:<12} "
                     f"{layer.grad_norm:>10.3g} {layer.activation_mean:>9.3g} "
                     f"{layer.activation_std:>9.3g}")
    convs, spread, ratio = profile.convolutions, profile.spread, profile.first_last_ratio
    if spread is not None:
        first_last = f"; first over last: {ratio:,.1f}" if ratio is not None else ""
        lines.append(f"The gradient norms of the {len(convs)} convolutions span a factor of "
                     f"{spread:,.1f} (largest over smallest){first_last}.")
    return "\n".join(lines)
