"""Batches straight from an in-memory uint8 tensor: whole-batch conversion, no per-sample work."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F

from explorer.data.datasets import DataError, DataSplit

LUMINANCE = (0.299, 0.587, 0.114)
MAX_ROTATION_DEG = 10.0
SCALE_RANGE = (0.9, 1.1)
MAX_SHIFT = 0.08  # of the image size: ±2 px at 28 px


def adapt_images(x: torch.Tensor, input_shape: Sequence[int]) -> torch.Tensor:
    """Match a float batch (N, C, H, W) in [0, 1] to a model's (C, H, W).

    Grey becomes RGB by repetition, RGB becomes grey by luminance (0.299, 0.587, 0.114); the
    size changes bilinearly, antialiased when shrinking.

    Raises
    ------
    DataError
        When the channel counts differ in another way than grey to many or RGB to grey.
    """
    x = _grey_and_size(x, input_shape)
    channels = int(input_shape[0])
    return x if x.shape[1] == channels else x.repeat(1, channels, 1, 1)


def _grey_and_size(x: torch.Tensor, input_shape: Sequence[int]) -> torch.Tensor:
    """:func:`adapt_images` short of repeating grey over the channels."""
    channels, height, width = (int(v) for v in input_shape)
    have = x.shape[1]
    if have != channels and not (have == 1 or (have == 3 and channels == 1)):
        raise DataError(
            f"cannot feed {have}-channel images to a model that takes {channels} channels: "
            "only grey (1) to any count, or RGB (3) to grey (1), is converted"
        )
    if have == 3 and channels == 1:
        weights = torch.tensor(LUMINANCE, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        x = (x * weights).sum(dim=1, keepdim=True)
    if tuple(x.shape[2:]) != (height, width):
        shrinking = height < x.shape[2] or width < x.shape[3]
        x = F.interpolate(
            x, size=(height, width), mode="bilinear", align_corners=False, antialias=shrinking
        )
    return x


def normalisation(
    mean: Sequence[float],
    std: Sequence[float],
    channels: int,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)``, each (1, channels, 1, 1), with ``x * scale + shift == (x - mean) / std``.

    Statistics of one channel are repeated over a model's channels; RGB statistics for a grey
    model are combined with the luminance weights (exact for the mean, an upper bound for the
    std).
    """
    mean_t = torch.tensor([float(v) for v in mean], dtype=torch.float32)
    std_t = torch.tensor([float(v) for v in std], dtype=torch.float32)
    if mean_t.numel() != std_t.numel():
        raise DataError(f"mean has {mean_t.numel()} values but std has {std_t.numel()}")
    if mean_t.numel() == 3 and channels == 1:
        weights = torch.tensor(LUMINANCE)
        mean_t, std_t = (mean_t * weights).sum().view(1), (std_t * weights).sum().view(1)
    elif mean_t.numel() == 1:
        mean_t, std_t = mean_t.repeat(channels), std_t.repeat(channels)
    elif mean_t.numel() != channels:
        raise DataError(
            f"normalisation statistics have {mean_t.numel()} channels; the model takes "
            f"{channels}: give 1, 3 (for a grey model) or {channels} values"
        )
    if bool((std_t <= 0).any()):
        raise DataError(f"std must be positive, got {tuple(std)}")
    scale = (1 / std_t).view(1, -1, 1, 1).to(device)
    return scale, (-mean_t / std_t).view(1, -1, 1, 1).to(device)


def prepare_batch(
    x: torch.Tensor, input_shape: Sequence[int], scale: torch.Tensor, shift: torch.Tensor
) -> torch.Tensor:
    """Float batch in [0, 1] (N, C, H, W) to the model's normalised float32 input.

    ``scale`` and ``shift`` come from :func:`normalisation`; one fused op normalises and, for
    grey images, fills the model's channels.
    """
    return torch.addcmul(shift, _grey_and_size(x, input_shape), scale)


def random_affine(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A small random affine per image of a float batch (N, C, H, W).

    Rotation ±10°, scale 0.9-1.1, shift ±8 % of the size, no flips; uncovered areas become 0.
    The random numbers come from ``generator``.
    """
    n, _, h, w = x.shape
    params = torch.rand(n, 4, generator=generator, device=generator.device)
    params = params.to(device=x.device, dtype=x.dtype)
    angle = (params[:, 0] * 2 - 1) * math.radians(MAX_ROTATION_DEG)
    scale = SCALE_RANGE[0] + params[:, 1] * (SCALE_RANGE[1] - SCALE_RANGE[0])
    shift = (params[:, 2:] * 2 - 1) * (2 * MAX_SHIFT)  # normalised coordinates span 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # The sampling grid maps output to input coordinates, the inverse of scale, rotate and
    # shift. Built by broadcasting: F.affine_grid made the whole function about 2x slower
    # on CPU.
    xs = (torch.arange(w, device=x.device, dtype=x.dtype) * 2 + 1) / w - 1
    ys = (torch.arange(h, device=x.device, dtype=x.dtype) * 2 + 1) / h - 1
    xs, ys = xs.view(1, 1, w), ys.view(1, h, 1)
    dx, dy = shift[:, 0].view(n, 1, 1), shift[:, 1].view(n, 1, 1)
    cos, sin = cos.view(n, 1, 1), sin.view(n, 1, 1)
    grid = torch.stack([cos * (xs - dx) + sin * (ys - dy), cos * (ys - dy) - sin * (xs - dx)], -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class BatchLoader:
    """Iterate ``(x, y)`` batches of a :class:`DataSplit` for a model's input shape.

    ``x`` is float32 (B, *input_shape), adapted with :func:`adapt_images` and normalised per
    channel; ``y`` is int64 (B,). Both are on ``device``, where the whole split is moved
    once. Each pass over the loader is one epoch: with ``shuffle`` the order (and with
    ``augment`` the random affine) comes from a generator seeded with ``seed + epoch``, so
    epochs differ and runs repeat.

    Parameters
    ----------
    split : DataSplit
    input_shape : (C, H, W)
        What the model takes.
    mean, std : sequence of float
        Statistics of the split's images in [0, 1]; see :func:`normalisation`.
    batch_size : int
    shuffle, augment, drop_last : bool
    device : str or torch.device
    seed : int
    """

    def __init__(
        self,
        split: DataSplit,
        *,
        input_shape: Sequence[int],
        mean: Sequence[float],
        std: Sequence[float],
        batch_size: int,
        shuffle: bool = False,
        augment: bool = False,
        device: str | torch.device = "cpu",
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise DataError(f"batch_size must be at least 1, got {batch_size}")
        if len(input_shape) != 3:
            raise DataError(f"input_shape must be (C, H, W), got {tuple(input_shape)}")
        self.input_shape = tuple(int(v) for v in input_shape)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.augment = augment
        self.device = torch.device(device)
        self.seed = int(seed)
        self.drop_last = drop_last
        self._images = split.images.to(self.device)
        self._labels = split.labels.to(self.device)
        self._scale, self._shift = normalisation(mean, std, self.input_shape[0], self.device)
        self._epoch = 0

    def __len__(self) -> int:
        n = len(self._labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed + self._epoch)
        self._epoch += 1
        n = len(self._labels)
        order = torch.randperm(n, generator=generator).to(self.device) if self.shuffle else None
        for i in range(len(self)):
            start, stop = i * self.batch_size, min((i + 1) * self.batch_size, n)
            if order is None:
                images, labels = self._images[start:stop], self._labels[start:stop]
            else:
                index = order[start:stop]
                # index_select: advanced indexing of uint8 was 200x slower on CPU
                images = self._images.index_select(0, index)
                labels = self._labels.index_select(0, index)
            x = images.float().div_(255)
            if self.augment:
                x = random_affine(x, generator)
            yield prepare_batch(x, self.input_shape, self._scale, self._shift), labels
