"""Fixtures: a tiny network, tiny learnable data, a fast configuration."""

from __future__ import annotations

import pytest
import torch
from training_helpers import tiny_dataset, tiny_spec_dict

from explorer.core.spec import ArchitectureSpec
from explorer.data import Dataset
from explorer.training import TrainConfig


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors train fastest on one thread, which a busy machine also cannot stall."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def spec() -> ArchitectureSpec:
    return ArchitectureSpec.from_dict(tiny_spec_dict())


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return tiny_dataset()


@pytest.fixture
def config() -> TrainConfig:
    return TrainConfig(dataset="synthetic", epochs=2, batch_size=32, lr=0.05, momentum=0.9,
                       device="cpu")
