"""BatchLoader and adapt_images: shapes, normalisation, order, augmentation, adaptation."""

from __future__ import annotations

import pytest
import torch

from explorer.data import BatchLoader, DataError, DataSplit, adapt_images, load_dataset
from explorer.data.datasets import channel_stats


@pytest.fixture(scope="module")
def sample():
    return load_dataset("mnist-sample")


def random_split(n=100, channels=1, size=28, seed=0) -> DataSplit:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, channels, size, size), generator=g, dtype=torch.uint8)
    return DataSplit(images, torch.arange(n) % 10)


def epoch_labels(loader):
    return torch.cat([y for _, y in loader])


def test_shapes_dtypes_and_length(sample):
    loader = BatchLoader(
        sample.test, input_shape=(1, 28, 28), mean=sample.mean, std=sample.std, batch_size=64
    )
    batches = list(loader)
    assert len(loader) == len(batches) == 8
    x, y = batches[0]
    assert x.shape == (64, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (64,) and y.dtype == torch.int64
    assert batches[-1][0].shape == (500 - 7 * 64, 1, 28, 28)
    assert torch.equal(epoch_labels(loader), sample.test.labels)  # no shuffle: stored order
    dropping = BatchLoader(
        sample.test, input_shape=(1, 28, 28), mean=sample.mean, std=sample.std,
        batch_size=64, drop_last=True,
    )
    assert len(dropping) == len(list(dropping)) == 7


def test_normalised_to_zero_mean_unit_std():
    split = random_split(200, channels=3)
    mean, std = channel_stats(split.images)
    loader = BatchLoader(split, input_shape=(3, 28, 28), mean=mean, std=std, batch_size=32)
    x = torch.cat([x for x, _ in loader])
    assert x.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert (x.std(dim=(0, 2, 3), unbiased=False) - 1).abs().max() < 1e-4
    expected = (split.images[0].float() / 255 - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(
        std
    ).view(3, 1, 1)
    assert torch.allclose(x[0], expected, atol=1e-6)


def test_shuffle_reproducible_and_new_each_epoch():
    split = random_split(100)

    def make(seed):
        return BatchLoader(
            split, input_shape=(1, 28, 28), mean=(0.5,), std=(0.25,), batch_size=16,
            shuffle=True, seed=seed,
        )

    a, b = make(0), make(0)
    first_a, first_b = epoch_labels(a), epoch_labels(b)
    assert torch.equal(first_a, first_b)
    second_a = epoch_labels(a)
    assert not torch.equal(first_a, second_a)
    assert torch.equal(second_a, epoch_labels(b))
    assert not torch.equal(first_a, epoch_labels(make(7)))
    assert torch.equal(first_a.sort().values, split.labels.sort().values)  # each sample once
    numbered = DataSplit(  # image i is filled with the value i and labelled i
        torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1).expand(100, 1, 4, 4).contiguous(),
        torch.arange(100),
    )
    loader = BatchLoader(
        numbered, input_shape=(1, 4, 4), mean=(0.0,), std=(1.0,), batch_size=30, shuffle=True
    )
    for x, y in loader:
        assert torch.equal((x[:, 0, 0, 0] * 255).round().long(), y)


def test_augment_changes_pixels_keeps_shape(sample):
    def make(augment, seed=0):
        return BatchLoader(
            sample.test, input_shape=(1, 28, 28), mean=sample.mean, std=sample.std,
            batch_size=100, augment=augment, seed=seed,
        )

    plain = next(iter(make(False)))[0]
    loader = make(True)
    first = next(iter(loader))[0]
    second = next(iter(loader))[0]
    assert first.shape == plain.shape and first.dtype == torch.float32
    changed = (first - plain).abs().flatten(1).amax(1) > 0.5
    assert bool(changed.all())  # every image moved a little
    assert not torch.allclose(first, second)  # another affine next epoch
    assert torch.equal(first, next(iter(make(True)))[0])  # reproducible by seed
    # a small affine, not a scramble: each image stays close to where it was
    background = (0 - sample.mean[0]) / sample.std[0]
    ink_plain = (plain > background + 1).float().sum(dim=(1, 2, 3))
    ink_aug = (first > background + 1).float().sum(dim=(1, 2, 3))
    assert ((ink_aug / ink_plain) - 1).abs().max() < 0.35
    correlation = torch.nn.functional.cosine_similarity(
        (first - background).flatten(1), (plain - background).flatten(1)
    )
    assert float(correlation.median()) > 0.5


def test_resize_and_grey_to_rgb(sample):
    loader = BatchLoader(
        sample.test, input_shape=(3, 224, 224), mean=sample.mean, std=sample.std, batch_size=4
    )
    x, _ = next(iter(loader))
    assert x.shape == (4, 3, 224, 224)
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    background = (0 - sample.mean[0]) / sample.std[0]
    assert float(x.min()) == pytest.approx(background, abs=1e-5)
    assert float(x.max()) <= (1 - sample.mean[0]) / sample.std[0] + 1e-5


def test_constant_image_values_after_adaptation():
    white = DataSplit(torch.full((2, 1, 28, 28), 255, dtype=torch.uint8), torch.zeros(2).long())
    x, _ = next(iter(BatchLoader(
        white, input_shape=(3, 64, 64), mean=(0.5,), std=(0.25,), batch_size=2
    )))
    assert torch.allclose(x, torch.full_like(x, 2.0))
    red = torch.zeros(1, 3, 32, 32, dtype=torch.uint8)
    red[:, 0] = 255
    cifar_mean, cifar_std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    x, _ = next(iter(BatchLoader(
        DataSplit(red, torch.zeros(1).long()), input_shape=(1, 28, 28),
        mean=cifar_mean, std=cifar_std, batch_size=1,
    )))
    grey_mean = 0.299 * 0.4914 + 0.587 * 0.4822 + 0.114 * 0.4465
    grey_std = 0.299 * 0.2470 + 0.587 * 0.2435 + 0.114 * 0.2616
    assert x.shape == (1, 1, 28, 28)
    assert torch.allclose(x, torch.full_like(x, (0.299 - grey_mean) / grey_std), atol=1e-5)


def test_adapt_images():
    x = torch.rand(2, 3, 32, 32)
    grey = adapt_images(x, (1, 32, 32))
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert torch.allclose(grey, (x * weights).sum(1, keepdim=True))
    assert adapt_images(x, (3, 32, 32)) is x
    small = adapt_images(x, (3, 8, 8))
    assert small.shape == (2, 3, 8, 8)
    # antialiased shrinking averages: a fine checkerboard becomes flat grey
    checker = (torch.arange(32).view(1, 32) + torch.arange(32).view(32, 1)) % 2
    flat = adapt_images(checker.float().view(1, 1, 32, 32), (1, 8, 8))
    assert torch.allclose(flat, torch.full_like(flat, 0.5), atol=0.02)
    with pytest.raises(DataError, match="cannot feed 2-channel images"):
        adapt_images(torch.rand(1, 2, 8, 8), (3, 8, 8))


def test_bad_arguments():
    split = random_split(10)
    with pytest.raises(DataError, match="batch_size"):
        BatchLoader(split, input_shape=(1, 28, 28), mean=(0.5,), std=(0.5,), batch_size=0)
    with pytest.raises(DataError, match="input_shape"):
        BatchLoader(split, input_shape=(28, 28), mean=(0.5,), std=(0.5,), batch_size=2)
    with pytest.raises(DataError, match="statistics have 2 channels"):
        BatchLoader(split, input_shape=(3, 28, 28), mean=(0.5, 0.5), std=(0.5, 0.5), batch_size=2)
    with pytest.raises(DataError, match="std must be positive"):
        BatchLoader(split, input_shape=(1, 28, 28), mean=(0.5,), std=(0.0,), batch_size=2)


def test_data_moved_to_device_once():
    split = random_split(10)
    loader = BatchLoader(
        split, input_shape=(1, 28, 28), mean=(0.5,), std=(0.5,), batch_size=4, device="cpu"
    )
    assert loader.device == torch.device("cpu")
    x, y = next(iter(loader))
    assert x.device.type == "cpu" and y.device.type == "cpu"
