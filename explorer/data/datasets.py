"""Data sets held in memory as uint8 tensors: the bundled sample, torchvision sets, folders.

A source is one of :func:`list_sources` or the path of a folder: either MNIST-format IDX files
(``train-images-idx3-ubyte`` and friends, optionally ``.gz``, optionally in ``raw/``) or one
sub-folder of images per class (optionally inside ``train/`` and ``test/``).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import tarfile
import urllib.error
import urllib.request
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explorer.core.shapes import fmt_shape
from explorer.files import FileProblem, check_regular
from explorer.paths import resource_path, user_data_dir

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

DIGIT_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]

MNIST_STATS = ((0.1307,), (0.3081,))
FASHION_STATS = ((0.2860,), (0.3530,))
CIFAR10_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))

SAMPLE_FILE = "mnist_sample.npz"
SAMPLE_TRAIN = 4000
#: Where Debian's package ``dataset-fashion-mnist`` installs the full Fashion-MNIST.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

MAX_IDX_BYTES = 16 * 2**30
"""Size of the data in one IDX file (full MNIST's training images take 47 MB)."""
MAX_FOLDER_ENTRIES = 2_000_000
"""Files and folders in one class folder of an image data set (ImageNet's largest class
folders hold about 1,300 images)."""
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# torchvision class name, classes, (mean, std)
_TORCHVISION = {
    "mnist": ("MNIST", DIGIT_CLASSES, MNIST_STATS),
    "fashion-mnist": ("FashionMNIST", FASHION_CLASSES, FASHION_STATS),
    "cifar10": ("CIFAR10", CIFAR10_CLASSES, CIFAR10_STATS),
}
_SOURCES = ["mnist-sample", *_TORCHVISION]
_OFFLINE_HINT = "mnist-sample works offline; or give a folder of IDX files or an image folder"
_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_TEST_FRACTION = 0.1
_SPLIT_SEED = 0
_CHUNK = 1 << 16
# a refused connection, an HTTP error, a cut-off transfer, a bad checksum
_DOWNLOAD_ERRORS = (OSError, urllib.error.URLError, http.client.HTTPException, ValueError)
_DOWNLOAD_TIMEOUT = 30.0


class DataError(ValueError):
    """A data source that cannot be used; the message says what is wrong and what would work."""


class LoadCancelled(Exception):
    """:func:`load_dataset` stopped because its ``cancel`` callback said so (not an error)."""


def _check_cancel(cancel: Cancel | None) -> None:
    if cancel is not None and cancel():
        raise LoadCancelled("loading the data set was cancelled")


@dataclass
class DataSplit:
    """Images and labels of one split.

    Attributes
    ----------
    images : torch.Tensor
        uint8, shape (N, C, H, W), 0-255.
    labels : torch.Tensor
        int64, shape (N,).
    """

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass
class Dataset:
    """A data set in memory.

    Attributes
    ----------
    name : str
        The source name, or the folder's name.
    train, test : DataSplit
    classes : list of str
        Class names, indexed by label.
    mean, std : tuple of float
        Per-channel statistics of the training images scaled to [0, 1].
    """

    name: str
    train: DataSplit
    test: DataSplit
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.train.images.shape[1:]
        return int(c), int(h), int(w)


def list_sources() -> list[str]:
    """Names accepted by :func:`load_dataset` besides folder paths."""
    return list(_SOURCES)


def default_data_dir() -> Path:
    """Folder for downloaded data sets.

    ``$NETWORK_EXPLORER_DATA`` if set, else ``data`` in the user's data folder
    (:func:`explorer.paths.user_data_dir`: ``~/.local/share/network-explorer/data`` on Linux,
    honouring ``$XDG_DATA_HOME``; the platform's own place on macOS and Windows).
    """
    if os.environ.get("NETWORK_EXPLORER_DATA"):
        return Path(os.environ["NETWORK_EXPLORER_DATA"]).expanduser()
    return user_data_dir() / "data"


def load_dataset(
    source: str | Path,
    *,
    data_dir: str | Path | None = None,
    download: bool = True,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Dataset:
    """Load a data set into memory.

    Parameters
    ----------
    source : str or Path
        One of :func:`list_sources`, or the path of a folder of IDX files or of class
        sub-folders of images.
    data_dir : str or Path, optional
        Where torchvision sets are downloaded; :func:`default_data_dir` when None.
    download : bool
        Whether a missing torchvision set may be downloaded.
    progress : callable, optional
        ``progress(done, total)``: called with (0, 1) first, with the byte counts of each
        file while it downloads, and with (1, 1) when the data are loaded.
    cancel : callable, optional
        ``cancel()`` is asked between files, images and download chunks; when it returns
        True, loading stops with :class:`LoadCancelled` (a partial download is removed).

    Raises
    ------
    DataError
        When the source is unknown, cannot be downloaded, or a file in it is not valid.
    LoadCancelled
        When ``cancel`` asked to stop.
    """
    report = progress or (lambda done, total: None)
    report(0, 1)
    _check_cancel(cancel)
    if source == "mnist-sample":
        dataset = _load_sample()
    elif source == "fashion-mnist" and _find_idx(DEBIAN_FASHION_MNIST) is not None:
        dataset = _load_idx_folder(
            DEBIAN_FASHION_MNIST, name=source, classes=FASHION_CLASSES, stats=FASHION_STATS,
            cancel=cancel,
        )
    elif source in _TORCHVISION:
        root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        dataset = _load_torchvision(source, root, download, progress, cancel)
    else:
        dataset = _load_folder(source, cancel)
    report(1, 1)
    return dataset


def _load_folder(source: str | Path, cancel: Cancel | None) -> Dataset:
    valid = (
        f"use one of {', '.join(_SOURCES)}, or the path of a folder of IDX files "
        "(train-images-idx3-ubyte, ...) or of one sub-folder of images per class"
    )
    path = Path(source).expanduser() if source else None
    if path is None or not path.exists():
        raise DataError(f"unknown data source '{source}': {valid}")
    if not path.is_dir():
        raise DataError(f"data source '{source}' is a file, not a folder: {valid}")
    if _find_idx(path) is not None:
        fashion = "fashion" in str(path.resolve()).lower()
        return _load_idx_folder(
            path, name=path.resolve().name, classes=FASHION_CLASSES if fashion else None,
            cancel=cancel,
        )
    try:
        return _load_image_folder(path, cancel)
    except OSError as exc:  # e.g. --dataset /proc: a folder that cannot be listed
        where = exc.filename or path
        raise DataError(f"{where} cannot be read ({exc.strerror or exc}); {valid}") from None


# -- the bundled sample -------------------------------------------------------------------


def _load_sample() -> Dataset:
    path = resource_path(SAMPLE_FILE)
    try:
        with np.load(path) as npz:
            images, labels = npz["images"], npz["labels"]
    except (OSError, KeyError, ValueError, zlib.error) as exc:
        raise DataError(
            f"the bundled MNIST sample {path} cannot be read ({exc}); reinstall Network Explorer"
        ) from exc
    images = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)).unsqueeze(1)
    labels = torch.from_numpy(labels.astype(np.int64))
    return Dataset(
        name="mnist-sample",
        train=DataSplit(images[:SAMPLE_TRAIN], labels[:SAMPLE_TRAIN]),
        test=DataSplit(images[SAMPLE_TRAIN:], labels[SAMPLE_TRAIN:]),
        classes=list(DIGIT_CLASSES),
        mean=MNIST_STATS[0],
        std=MNIST_STATS[1],
    )


# -- torchvision ------------------------------------------------------------------------


def _load_torchvision(
    source: str, root: Path, download: bool, progress: Progress | None, cancel: Cancel | None
) -> Dataset:
    """A torchvision set read by torchvision from ``root``; downloaded first (by
    :func:`_fetch_torchvision`, not torchvision) when it is not there and ``download``."""
    from torchvision import datasets as tv_datasets

    class_name, classes, stats = _TORCHVISION[source]
    factory = getattr(tv_datasets, class_name)
    try:
        splits = _read_torchvision(factory, root, cancel)
    except (RuntimeError, OSError) as exc:
        if not download:
            raise DataError(
                f"{source} is not in {root} and downloading is off: {_OFFLINE_HINT}"
            ) from exc
        try:
            _fetch_torchvision(factory, root, progress, cancel)
        except _DOWNLOAD_ERRORS + (tarfile.TarError,) as exc:
            raise DataError(
                f"could not download {source} into {root} ({_last_line(exc)}): {_OFFLINE_HINT}"
            ) from exc
        try:
            splits = _read_torchvision(factory, root, cancel)
        except (RuntimeError, OSError) as exc:
            raise DataError(
                f"{source} was downloaded into {root} but cannot be read ({_last_line(exc)})"
            ) from exc
    train, test = splits
    return Dataset(source, train, test, list(classes), stats[0], stats[1])


def _read_torchvision(factory, root: Path, cancel: Cancel | None) -> tuple[DataSplit, DataSplit]:
    splits = []
    for train in (True, False):
        _check_cancel(cancel)
        splits.append(_torchvision_split(factory(str(root), train=train, download=False)))
    return splits[0], splits[1]


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _torchvision_split(tv_set) -> DataSplit:
    data = torch.as_tensor(np.asarray(tv_set.data), dtype=torch.uint8)
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)
    labels = torch.as_tensor(np.asarray(tv_set.targets), dtype=torch.int64)
    return DataSplit(images.contiguous(), labels)


def _fetch_torchvision(
    factory, root: Path, progress: Progress | None, cancel: Cancel | None
) -> None:
    """Download a torchvision set's files where torchvision looks for them.

    The addresses and checksums are torchvision's own: ``mirrors`` and ``resources`` of
    MNIST and FashionMNIST (gzipped IDX files, unpacked into ``root/<class>/raw``), or
    ``url``, ``filename`` and ``tgz_md5`` of CIFAR10 (a tar archive, unpacked into ``root``).
    """
    if hasattr(factory, "resources"):
        raw = root / factory.__name__ / "raw"
        for filename, md5 in factory.resources:
            archive = raw / filename
            _download_mirrored([m + filename for m in factory.mirrors], archive, md5,
                               progress, cancel)
            _gunzip(archive, raw / Path(filename).stem, cancel)
    else:
        archive = root / factory.filename
        _download(factory.url, archive, factory.tgz_md5, progress, cancel)
        _check_cancel(cancel)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(root, filter="data")


def _download_mirrored(urls: list[str], dest: Path, md5: str | None,
                       progress: Progress | None, cancel: Cancel | None) -> None:
    """:func:`_download` from the first of ``urls`` that works; the last failure if none."""
    failure: Exception | None = None
    for url in urls:
        try:
            _download(url, dest, md5, progress, cancel)
            return
        except _DOWNLOAD_ERRORS as exc:
            failure = exc
    raise failure if failure is not None else ValueError(f"no address to download {dest.name}")


def _download(url: str, dest: Path, md5: str | None,
              progress: Progress | None, cancel: Cancel | None) -> None:
    """Fetch ``url`` into ``dest`` (kept if present with the right checksum).

    Written to ``dest.part`` and renamed once complete and checked: an interrupted,
    cancelled or corrupt download leaves nothing behind. ``progress(done, total)`` gets the
    byte counts; ``cancel`` is asked between chunks.

    Raises
    ------
    ValueError
        When the file's MD5 checksum is not ``md5``.
    """
    if dest.is_file() and (md5 is None or _md5(dest) == md5):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "network-explorer"})
        with urllib.request.urlopen(request, timeout=_DOWNLOAD_TIMEOUT) as response, \
                open(part, "wb") as out:
            total, done = int(response.headers.get("Content-Length") or 0), 0
            while chunk := response.read(_CHUNK):
                _check_cancel(cancel)
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None and total > 0:
                    progress(min(done, total), total)
        if md5 is not None and digest.hexdigest() != md5:
            raise ValueError(f"{url} arrived corrupt (its MD5 checksum is not {md5})")
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _gunzip(archive: Path, dest: Path, cancel: Cancel | None) -> None:
    """Unpack a .gz file next to it, atomically, asking ``cancel`` between chunks."""
    part = dest.with_name(dest.name + ".part")
    try:
        with gzip.open(archive, "rb") as source, open(part, "wb") as out:
            while chunk := source.read(1 << 20):
                _check_cancel(cancel)
                out.write(chunk)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


# -- IDX folders ------------------------------------------------------------------------


def _find_idx(folder: Path) -> dict[str, Path] | None:
    """The four IDX files in ``folder`` or ``folder/raw``; None when neither has any of them.

    Raises DataError naming the missing files when only some are there.
    """
    partial = None
    for place in (folder, folder / "raw"):
        found = {}
        for key, name in IDX_FILES.items():
            for candidate in (place / name, place / f"{name}.gz"):
                if candidate.is_file():
                    found[key] = candidate
                    break
        if len(found) == len(IDX_FILES):
            return found
        if found and partial is None:
            partial = place, found
    if partial is not None:
        place, found = partial
        missing = [name for key, name in IDX_FILES.items() if key not in found]
        raise DataError(
            f"{place} has IDX files but not {', '.join(missing)} (each may end in .gz)"
        )
    return None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes (optionally gzip-compressed) into an array.

    Raises
    ------
    DataError
        Naming the file when it cannot be read, is not IDX, holds another data type or is
        truncated.
    """
    try:
        check_regular(path, "an IDX file")
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            raw = f.read(4)
            ndim = raw[3] if len(raw) == 4 else 0
            raw += f.read(4 * ndim)
            if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or not 1 <= raw[3] <= 4:
                raise DataError(
                    f"{path} is not an IDX file (its first bytes are not an IDX header)"
                )
            if raw[2] != 0x08:
                raise DataError(
                    f"{path} holds data type 0x{raw[2]:02x}; only unsigned bytes (0x08) are "
                    "supported"
                )
            header = 4 + 4 * ndim
            if len(raw) < header:
                raise DataError(f"{path} is truncated inside its header")
            dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
            if ndim >= 2 and 0 in dims[1:]:
                raise DataError(f"{path} declares {fmt_shape(dims[1:])} items; each must have a size ≥ 1")
            expected = math.prod(dims)  # Python integers: no overflow
            if expected > MAX_IDX_BYTES:
                raise DataError(
                    f"{path} declares {'×'.join(map(str, dims))} = {expected:,} bytes, more "
                    f"than the {MAX_IDX_BYTES:,} a data set file may have here"
                )
            raw += f.read(expected + 1)  # one more byte than declared shows extra data
    except FileProblem as exc:
        raise DataError(str(exc)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} cannot be read ({exc})") from exc
    found = len(raw) - header
    if found != expected:
        state = "truncated" if found < expected else "corrupt"
        raise DataError(
            f"{path} is {state}: its header {dims} declares {expected} bytes, it holds "
            f"{found if found < expected else 'more'}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _load_idx_folder(
    folder: Path,
    *,
    name: str,
    classes: list[str] | None = None,
    stats: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
    cancel: Cancel | None = None,
) -> Dataset:
    files = _find_idx(folder)
    if files is None:
        raise DataError(f"{folder} has no IDX files ({', '.join(IDX_FILES.values())})")
    arrays = {}
    for key, path in files.items():
        _check_cancel(cancel)
        arrays[key] = read_idx(path)
    splits = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        image_file, label_file = files[f"{split}_images"], files[f"{split}_labels"]
        if images.ndim != 3:
            raise DataError(f"{image_file} holds {images.ndim}-D data; images need 3-D (N, H, W)")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(
                f"{label_file} holds {labels.shape} labels for {len(images)} images in {image_file}"
            )
        splits.append(
            DataSplit(
                torch.from_numpy(images.copy()).unsqueeze(1),
                torch.from_numpy(labels.astype(np.int64)),
            )
        )
    train, test = splits
    if len(train) == 0:
        raise DataError(f"{files['train_images']} holds no images")
    labels = torch.cat([train.labels, test.labels])
    n_classes = max(10, int(labels.max()) + 1 if len(labels) else 0)
    if classes is None or len(classes) != n_classes:
        classes = [str(i) for i in range(n_classes)]
    mean, std = stats if stats is not None else channel_stats(train.images)
    return Dataset(name, train, test, list(classes), mean, std)


# -- image folders ----------------------------------------------------------------------


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(folder: Path) -> list[Path]:
    """The regular files below ``folder`` (not hidden); a DataError past
    :data:`MAX_FOLDER_ENTRIES` entries, so that ``--dataset /`` does not walk the whole disk."""
    found = []
    for n, p in enumerate(folder.rglob("*")):
        if n >= MAX_FOLDER_ENTRIES:
            raise DataError(f"{folder} holds more than {MAX_FOLDER_ENTRIES:,} files and folders; "
                            "is it really a class folder of an image data set?")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts):
            found.append(p)
    return sorted(found)


def _decode(path: Path) -> np.ndarray | None:
    """An image file as uint8 (H, W), or (H, W, 3) when it has colour; None if not an image."""
    try:
        with Image.open(path) as im:
            im.load()
            pixels = image_to_array(im)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    if pixels.ndim == 3 and (pixels == pixels[..., :1]).all():
        return pixels[..., 0]  # saved as RGB, but grey
    return pixels


def _decode_class(folder: Path, cancel: Cancel | None) -> list[np.ndarray]:
    arrays = []
    for path in _image_files(folder):
        _check_cancel(cancel)
        pixels = _decode(path)
        if pixels is not None:
            arrays.append(pixels)
    return arrays


def _load_image_folder(folder: Path, cancel: Cancel | None = None) -> Dataset:
    split_folders = (folder / "train", folder / "test")
    presplit = all(p.is_dir() for p in split_folders)
    base = split_folders[0] if presplit else folder
    class_dirs = _class_folders(base)
    if len(class_dirs) < 2:
        raise DataError(
            f"{base} has {len(class_dirs)} class sub-folder(s) and no IDX files: an image folder "
            "needs one sub-folder of images per class, at least two "
            "(optionally inside train/ and test/)"
        )
    classes = [d.name for d in class_dirs]
    train_arrays: list[np.ndarray] = []
    train_labels: list[int] = []
    test_arrays: list[np.ndarray] = []
    test_labels: list[int] = []
    rng = np.random.default_rng(_SPLIT_SEED)
    for label, class_dir in enumerate(class_dirs):
        arrays = _decode_class(class_dir, cancel)
        if not arrays:
            raise DataError(
                f"class folder {class_dir} has no images that can be read (PNG, JPEG, ...)"
            )
        if presplit:
            train_arrays += arrays
            train_labels += [label] * len(arrays)
            continue
        n_test = max(1, round(len(arrays) * _TEST_FRACTION)) if len(arrays) > 1 else 0
        order = rng.permutation(len(arrays))
        test_arrays += [arrays[i] for i in sorted(order[:n_test])]
        train_arrays += [arrays[i] for i in sorted(order[n_test:])]
        test_labels += [label] * n_test
        train_labels += [label] * (len(arrays) - n_test)
    if presplit:
        for class_dir in _class_folders(split_folders[1]):
            if class_dir.name not in classes:
                raise DataError(
                    f"test class folder {class_dir} has no match in {base}; "
                    f"training classes are {', '.join(classes)}"
                )
            arrays = _decode_class(class_dir, cancel)
            test_arrays += arrays
            test_labels += [classes.index(class_dir.name)] * len(arrays)
    all_arrays = train_arrays + test_arrays
    size = Counter(a.shape[:2] for a in all_arrays).most_common(1)[0][0]
    grey = all(a.ndim == 2 for a in all_arrays)
    train = _stack(train_arrays, train_labels, size, grey)
    test = _stack(test_arrays, test_labels, size, grey)
    mean, std = channel_stats(train.images)
    return Dataset(folder.resolve().name, train, test, classes, mean, std)


def _stack(
    arrays: list[np.ndarray], labels: list[int], size: tuple[int, int], grey: bool
) -> DataSplit:
    h, w = size
    channels = 1 if grey else 3
    images = np.empty((len(arrays), h, w, channels), dtype=np.uint8)
    for i, a in enumerate(arrays):
        if a.shape[:2] != (h, w):
            a = np.asarray(Image.fromarray(a).resize((w, h), Image.Resampling.BILINEAR))
        images[i] = a.reshape(h, w, -1)  # a grey image fills every channel
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    return DataSplit(tensor, torch.tensor(labels, dtype=torch.int64))


# -- shared helpers ---------------------------------------------------------------------


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images (N, C, H, W), scaled to [0, 1].

    Exact, from a 256-bin histogram per channel, so memory stays small for large sets.
    """
    values = torch.arange(256, dtype=torch.float64) / 255
    means, stds = [], []
    for c in range(images.shape[1]):
        counts = torch.zeros(256, dtype=torch.float64)
        for start in range(0, images.shape[0], 4096):
            counts += torch.bincount(images[start:start + 4096, c].reshape(-1), minlength=256)
        total = counts.sum()
        mean = float((counts * values).sum() / total)
        var = float((counts * (values - mean) ** 2).sum() / total)
        means.append(mean)
        stds.append(max(math.sqrt(var), 1 / 255))  # a constant channel still divides safely
    return tuple(means), tuple(stds)


def flatten_alpha(pixels: np.ndarray) -> np.ndarray:
    """Composite (H, W, C + 1) float pixels in [0, 1], alpha last, onto a background.

    The background is the one the image implies: white when the visible pixels are dark
    (dark ink on a transparent sheet), black when they are light.
    """
    colour, alpha = pixels[..., :-1], pixels[..., -1:]
    covered = float(alpha.sum()) * colour.shape[-1]
    ink = float((colour * alpha).sum()) / covered if covered > 0 else 0.0
    background = 1.0 if ink < 0.5 else 0.0
    return colour * alpha + background * (1.0 - alpha)


def image_to_array(image: Image.Image) -> np.ndarray:
    """A PIL image as uint8 (H, W) grey or (H, W, 3) RGB; transparency via :func:`flatten_alpha`."""
    grey = image.mode in _GREY_MODES
    if not (image.mode in ("LA", "La", "RGBA", "RGBa", "PA") or "transparency" in image.info):
        return np.asarray(image.convert("L" if grey else "RGB"))
    pixels = np.asarray(image.convert("LA" if grey else "RGBA"), dtype=np.float32) / 255
    flat = np.rint(flatten_alpha(pixels) * 255).astype(np.uint8)
    return flat[..., 0] if grey else flat
