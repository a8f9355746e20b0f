"""Every data source, on small data made by the tests (no network)."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.data import (
    DIGIT_CLASSES,
    DataError,
    Dataset,
    LoadCancelled,
    default_data_dir,
    list_sources,
    load_dataset,
)
from explorer.data import datasets as ds


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def make_idx_folder(folder: Path, *, gz: bool = False, n_train: int = 50, n_test: int = 20):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for key, name in ds.IDX_FILES.items():
        write_idx(folder / name, arrays[key], gz=gz)
    return arrays


def write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def grey_image(value: int, size=(16, 16)) -> np.ndarray:
    return np.full(size, value, dtype=np.uint8)


# -- names and folders -------------------------------------------------------------------


def test_list_sources():
    assert list_sources() == ["mnist-sample", "mnist", "fashion-mnist", "cifar10"]


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("NETWORK_EXPLORER_DATA", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "mine"
    monkeypatch.delenv("NETWORK_EXPLORER_DATA")
    assert default_data_dir() == tmp_path / "xdg" / "network-explorer" / "data"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".local" / "share" / "network-explorer" / "data"


@pytest.mark.parametrize("source", ["mnist-smaple", "", "no/such/folder"])
def test_unknown_source_lists_valid_ones(source):
    with pytest.raises(DataError, match="mnist-sample, mnist, fashion-mnist, cifar10"):
        load_dataset(source)


def test_a_file_is_not_a_source(tmp_path):
    path = tmp_path / "digits.csv"
    path.write_text("1,2,3\n")
    with pytest.raises(DataError, match="is a file, not a folder"):
        load_dataset(str(path))


# -- the bundled sample ------------------------------------------------------------------


def test_bundled_sample():
    calls = []
    data = load_dataset("mnist-sample", progress=lambda done, total: calls.append((done, total)))
    assert isinstance(data, Dataset)
    assert data.name == "mnist-sample"
    assert (len(data.train), len(data.test)) == (4000, 500)
    assert data.train.images.shape == (4000, 1, 28, 28)
    assert data.test.images.shape == (500, 1, 28, 28)
    assert data.train.images.dtype == torch.uint8
    assert data.train.labels.dtype == torch.int64
    assert data.image_shape == (1, 28, 28)
    assert data.classes == DIGIT_CLASSES
    assert (data.mean, data.std) == ((0.1307,), (0.3081,))
    train_counts = torch.bincount(data.train.labels, minlength=10)
    test_counts = torch.bincount(data.test.labels, minlength=10)
    assert int(train_counts.min()) >= 350 and int(train_counts.max()) <= 450
    assert int(test_counts.min()) >= 30
    assert torch.equal(train_counts + test_counts, torch.full((10,), 450))
    # white digits on black, like MNIST
    assert float(data.train.images.float().mean()) / 255 == pytest.approx(0.13, abs=0.01)
    assert calls[0] == (0, 1) and calls[-1] == (1, 1)


# -- IDX folders ---------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder(tmp_path, gz):
    arrays = make_idx_folder(tmp_path / "digits", gz=gz)
    data = load_dataset(str(tmp_path / "digits"))
    assert data.name == "digits"
    assert data.classes == DIGIT_CLASSES
    assert data.train.images.shape == (50, 1, 28, 28)
    assert np.array_equal(data.train.images[:, 0].numpy(), arrays["train_images"])
    assert np.array_equal(data.test.labels.numpy(), arrays["test_labels"])
    assert data.test.labels.dtype == torch.int64
    pixels = arrays["train_images"] / 255
    assert data.mean[0] == pytest.approx(pixels.mean(), abs=1e-4)
    assert data.std[0] == pytest.approx(pixels.std(), abs=1e-4)


def test_idx_files_in_raw_subfolder_and_fashion_names(tmp_path):
    make_idx_folder(tmp_path / "fashion-small" / "raw", gz=True)
    data = load_dataset(tmp_path / "fashion-small")
    assert data.classes[0] == "T-shirt/top" and len(data.classes) == 10


def test_truncated_idx_names_the_file(tmp_path):
    make_idx_folder(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="train-images-idx3-ubyte is truncated"):
        load_dataset(str(tmp_path))


def test_truncated_gzip_names_the_file(tmp_path):
    make_idx_folder(tmp_path, gz=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz cannot be read"):
        load_dataset(str(tmp_path))


def test_not_idx_or_wrong_type_names_the_file(tmp_path):
    make_idx_folder(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte is not an IDX file"):
        load_dataset(str(tmp_path))
    floats = bytes([0, 0, 0x0D, 1]) + np.asarray([2], dtype=">u4").tobytes() + bytes(8)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(floats)
    with pytest.raises(DataError, match=r"data type 0x0d; only unsigned bytes"):
        load_dataset(str(tmp_path))


def test_missing_idx_file_is_named(tmp_path):
    make_idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="not t10k-labels-idx1-ubyte"):
        load_dataset(str(tmp_path))


def test_labels_must_match_images(tmp_path):
    make_idx_folder(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(7, dtype=np.uint8))
    with pytest.raises(DataError, match="7,.*labels for 50 images"):
        load_dataset(str(tmp_path))


# -- image folders -------------------------------------------------------------------------


def make_image_folder(root: Path, per_class: int = 10) -> None:
    for label, name in enumerate(["circle", "cross", "square"]):
        for i in range(per_class):
            write_png(root / name / f"{i:02d}.png", grey_image(20 * label + i))


def test_image_folder_split_and_skips_non_images(tmp_path):
    make_image_folder(tmp_path / "shapes")
    (tmp_path / "shapes" / "cross" / "notes.txt").write_text("not an image")
    (tmp_path / "shapes" / "square" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    data = load_dataset(str(tmp_path / "shapes"))
    assert data.name == "shapes"
    assert data.classes == ["circle", "cross", "square"]
    assert data.image_shape == (1, 16, 16)
    assert (len(data.train), len(data.test)) == (27, 3)  # 10 % of each class for testing
    assert torch.equal(torch.bincount(data.test.labels), torch.ones(3, dtype=torch.int64))
    assert data.train.images.dtype == torch.uint8 and data.train.labels.dtype == torch.int64
    # every image arrives once, with its own label
    values = torch.cat([data.train.images, data.test.images])[:, 0, 0, 0].tolist()
    labels = torch.cat([data.train.labels, data.test.labels]).tolist()
    assert sorted(zip(values, labels)) == [(20 * c + i, c) for c in range(3) for i in range(10)]
    again = load_dataset(str(tmp_path / "shapes"))
    assert torch.equal(again.test.images, data.test.images)  # the split is deterministic
    pixels = data.train.images.double() / 255
    assert data.mean[0] == pytest.approx(float(pixels.mean()), abs=1e-4)
    assert data.std[0] == pytest.approx(float(pixels.std(unbiased=False)), abs=1e-4)


def test_image_folder_common_size_and_colour(tmp_path):
    make_image_folder(tmp_path, per_class=4)
    write_png(tmp_path / "circle" / "big.png", grey_image(255, size=(40, 30)))
    write_png(tmp_path / "cross" / "red.png", np.tile(np.uint8([[[255, 0, 0]]]), (16, 16, 1)))
    data = load_dataset(str(tmp_path))
    assert data.image_shape == (3, 16, 16)  # one colour image makes all RGB
    images = torch.cat([data.train.images, data.test.images])
    assert images.shape[0] == 14
    red = images[(images[:, 0] != images[:, 1]).flatten(1).any(1)]
    assert red.shape[0] == 1 and red[0, :, 8, 8].tolist() == [255, 0, 0]
    assert (images == 255).all(dim=(1, 2, 3)).sum() == 1  # the 40x30 image, resized
    assert len(data.mean) == 3 and len(data.std) == 3


def test_grey_saved_as_rgb_stays_grey(tmp_path):
    for name in ("a", "b"):
        for i in range(3):
            write_png(tmp_path / name / f"{i}.png", np.full((8, 8, 3), 7, dtype=np.uint8))
    data = load_dataset(str(tmp_path))
    assert data.image_shape == (1, 8, 8)
    assert data.std == (1 / 255,)  # constant images still get a usable std


def test_image_folder_with_train_and_test(tmp_path):
    make_image_folder(tmp_path / "train", per_class=3)
    make_image_folder(tmp_path / "test", per_class=2)
    data = load_dataset(str(tmp_path))
    assert (len(data.train), len(data.test)) == (9, 6)
    assert data.test.labels.tolist() == [0, 0, 1, 1, 2, 2]
    write_png(tmp_path / "test" / "triangle" / "0.png", grey_image(1))
    with pytest.raises(DataError, match="triangle has no match"):
        load_dataset(str(tmp_path))


def test_image_folder_errors(tmp_path):
    write_png(tmp_path / "only" / "0.png", grey_image(0))
    with pytest.raises(DataError, match="1 class sub-folder.*at least two"):
        load_dataset(str(tmp_path))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="empty has no images"):
        load_dataset(str(tmp_path))


# -- torchvision sets, never touching the network ---------------------------------------


@pytest.fixture
def no_debian(monkeypatch):
    monkeypatch.setattr(ds, "DEBIAN_FASHION_MNIST", Path("/nonexistent/fashion-mnist"))


def _refuse(request, timeout=None):
    raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))


@pytest.fixture
def offline(monkeypatch, no_debian):
    monkeypatch.setattr(urllib.request, "urlopen", _refuse)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def local_mnist(monkeypatch, tmp_path, no_debian):
    """torchvision's MNIST pointed at gzipped IDX files in a local folder (file:// URLs)."""
    from torchvision import datasets as tv_datasets

    mirror = tmp_path / "mirror"
    arrays = make_idx_folder(mirror, gz=True)
    resources = [(f"{name}.gz", md5(mirror / f"{name}.gz")) for name in ds.IDX_FILES.values()]
    monkeypatch.setattr(tv_datasets.MNIST, "mirrors", [mirror.as_uri() + "/"])
    monkeypatch.setattr(tv_datasets.MNIST, "resources", resources)
    monkeypatch.setattr(ds, "_CHUNK", 4096)  # several chunks per file
    return mirror, arrays


@pytest.mark.parametrize("source", ["mnist", "fashion-mnist", "cifar10"])
def test_offline_download_names_the_alternatives(offline, tmp_path, source):
    with pytest.raises(DataError) as info:
        load_dataset(source, data_dir=tmp_path)
    message = str(info.value)
    assert f"could not download {source}" in message
    assert "Temporary failure in name resolution" in message
    assert "mnist-sample works offline" in message and "IDX" in message
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_missing_without_download(offline, tmp_path):
    with pytest.raises(DataError, match="not in .* downloading is off: mnist-sample"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_download_reports_progress_and_torchvision_reads_the_files(local_mnist, tmp_path,
                                                                   monkeypatch):
    mirror, arrays = local_mnist
    calls = []
    data = load_dataset("mnist", data_dir=tmp_path / "data", progress=lambda *a: calls.append(a))
    assert np.array_equal(data.train.images[:, 0].numpy(), arrays["train_images"])
    assert np.array_equal(data.test.labels.numpy(), arrays["test_labels"])
    assert data.train.labels.dtype == torch.int64 and data.classes == DIGIT_CLASSES
    assert (data.mean, data.std) == ((0.1307,), (0.3081,))
    assert calls[0] == (0, 1) and calls[-1] == (1, 1)
    sizes = sorted(p.stat().st_size for p in mirror.iterdir())
    by_file = {}
    for done, total in calls[1:-1]:
        by_file.setdefault(total, []).append(done)
    assert sorted(by_file) == sorted(set(sizes))
    assert all(counts == sorted(counts) and counts[-1] == total
               for total, counts in by_file.items())
    assert len(by_file[max(sizes)]) > 1  # reported chunk by chunk
    raw = tmp_path / "data" / "MNIST" / "raw"
    assert (raw / "train-images-idx3-ubyte").is_file()  # where torchvision looks
    assert not list(tmp_path.rglob("*.part"))

    monkeypatch.setattr(urllib.request, "urlopen", _refuse)  # now read without a download
    calls.clear()
    again = load_dataset("mnist", data_dir=tmp_path / "data", progress=lambda *a: calls.append(a))
    assert calls == [(0, 1), (1, 1)] and torch.equal(again.train.images, data.train.images)


def test_a_corrupt_download_is_refused_and_removed(local_mnist, tmp_path, monkeypatch):
    from torchvision import datasets as tv_datasets

    first, *rest = tv_datasets.MNIST.resources
    monkeypatch.setattr(tv_datasets.MNIST, "resources", [(first[0], "0" * 32), *rest])
    with pytest.raises(DataError, match="could not download mnist .*MD5 checksum"):
        load_dataset("mnist", data_dir=tmp_path / "data")
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()]


def test_a_transfer_cut_off_midway_is_a_data_error(local_mnist, tmp_path, monkeypatch):
    import http.client

    class CutOff(io.BytesIO):
        def __init__(self):
            super().__init__()
            self.headers = {"Content-Length": "100000"}

        def read(self, size=-1):
            raise http.client.IncompleteRead(b"partial", 99993)

    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout=None: CutOff())
    with pytest.raises(DataError, match="could not download mnist .*IncompleteRead"):
        load_dataset("mnist", data_dir=tmp_path / "data")
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()]


def test_a_download_can_be_cancelled(local_mnist, tmp_path):
    calls = []
    with pytest.raises(LoadCancelled):
        load_dataset("mnist", data_dir=tmp_path / "data", progress=lambda *a: calls.append(a),
                     cancel=lambda: len(calls) >= 3)
    assert len(calls) == 3  # (0, 1) and two chunks, then no more
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()]


def test_loading_folders_can_be_cancelled(tmp_path):
    make_idx_folder(tmp_path / "idx")
    asked = []

    def cancel_third_time():
        asked.append(1)
        return len(asked) == 3

    with pytest.raises(LoadCancelled):
        load_dataset(str(tmp_path / "idx"), cancel=cancel_third_time)
    assert len(asked) == 3  # before loading, then before each IDX file
    for label in range(2):
        for i in range(3):
            write_png(tmp_path / "images" / f"c{label}" / f"{i}.png", grey_image(40 * i))
    asked.clear()
    with pytest.raises(LoadCancelled):
        load_dataset(str(tmp_path / "images"), cancel=cancel_third_time)
    assert len(asked) == 3  # between images


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _fake_cifar(archive: Path):
    class FakeCIFAR:  # torchvision's CIFAR10 attributes; numpy (N, H, W, 3) and a label list
        url = archive.as_uri()
        filename = "cifar-fake.tar.gz"
        tgz_md5 = md5(archive)

        def __init__(self, root, train=True, download=False):
            assert not download
            if not (Path(root) / "cifar-fake" / "data_batch").is_file():
                raise RuntimeError("Dataset not found or corrupted.")
            self.data = np.zeros((5, 32, 32, 3), dtype=np.uint8)
            self.data[..., 2] = 200
            self.targets = [1, 2, 3, 4, 5]

    return FakeCIFAR


def test_cifar_archive_download_and_conversion(monkeypatch, tmp_path):
    from torchvision import datasets as tv_datasets

    archive = tmp_path / "served.tar.gz"
    archive.write_bytes(_tar_gz({"cifar-fake/data_batch": b"x" * 10000}))
    monkeypatch.setattr(tv_datasets, "CIFAR10", _fake_cifar(archive))
    calls = []
    cifar = load_dataset("cifar10", data_dir=tmp_path / "data", progress=lambda *a: calls.append(a))
    assert (tmp_path / "data" / "cifar-fake" / "data_batch").is_file()
    assert calls[1][1] == archive.stat().st_size
    assert cifar.image_shape == (3, 32, 32) and cifar.classes[0] == "airplane"
    assert cifar.train.images[0, :, 0, 0].tolist() == [0, 0, 200]
    assert cifar.train.labels.tolist() == [1, 2, 3, 4, 5]
    assert cifar.mean == (0.4914, 0.4822, 0.4465)


def test_an_archive_cannot_write_outside_the_data_folder(monkeypatch, tmp_path):
    from torchvision import datasets as tv_datasets

    archive = tmp_path / "served.tar.gz"
    archive.write_bytes(_tar_gz({"../escaped": b"x"}))
    monkeypatch.setattr(tv_datasets, "CIFAR10", _fake_cifar(archive))
    with pytest.raises(DataError, match="could not download cifar10"):
        load_dataset("cifar10", data_dir=tmp_path / "data")
    assert not (tmp_path / "escaped").exists()


def test_fashion_mnist_from_debian_folder(monkeypatch, tmp_path):
    make_idx_folder(tmp_path / "fashion-mnist", gz=True)
    monkeypatch.setattr(ds, "DEBIAN_FASHION_MNIST", tmp_path / "fashion-mnist")
    data = load_dataset("fashion-mnist", data_dir=tmp_path / "never-used", download=False)
    assert data.name == "fashion-mnist"
    assert data.classes == ds.FASHION_CLASSES
    assert (data.mean, data.std) == ((0.2860,), (0.3530,))
    assert not (tmp_path / "never-used").exists()
