"""Tiny, learnable data and a tiny network, shared by the training tests."""

from __future__ import annotations

import torch

from explorer.data import Dataset, DataSplit

CLASSES = 4
SIZE = 12


def make_split(n: int, seed: int) -> DataSplit:
    """Dark noisy images with a bright 4×4 patch in the quadrant given by the label."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % CLASSES
    images = torch.randint(0, 60, (n, 1, SIZE, SIZE), generator=generator, dtype=torch.uint8)
    half = SIZE // 2
    for i, label in enumerate(labels.tolist()):
        top, left = (label // 2) * half + 1, (label % 2) * half + 1
        images[i, 0, top : top + 4, left : left + 4] = 230
    order = torch.randperm(n, generator=generator)
    return DataSplit(images[order].contiguous(), labels[order].contiguous())


def tiny_spec_dict() -> dict:
    return {
        "name": "tiny",
        "input_shape": [1, SIZE, SIZE],
        "num_classes": CLASSES,
        "blocks": [
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "relu"},
            {"type": "max_pool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "linear", "out_features": "classes"},
        ],
    }


def tiny_dataset() -> Dataset:
    return Dataset(
        name="synthetic",
        train=make_split(256, seed=1),
        test=make_split(64, seed=2),
        classes=[f"quadrant {i}" for i in range(CLASSES)],
        mean=(0.2,),
        std=(0.3,),
    )
