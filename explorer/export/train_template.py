"""The training code of an exported script (``explorer export --format script``).

:data:`IMPORTS` and :data:`TRAINING` are source text: the exporter puts the network's code
(classes, ``build_model``, ``INPUT_SHAPE``, ``NUM_CLASSES``, ``ARCHITECTURE``) between them
and fills in the defaults (``{{lr}}`` …) from the app's :class:`TrainConfig`. The tests run
the result as one process and under ``torchrun``.
"""

from __future__ import annotations

IMPORTS = (
    "import argparse",
    "import gzip",
    "import json",
    "import math",
    "import os",
    "import sys",
    "import tempfile",
    "import time",
    "from pathlib import Path",
    "import torch",
    "import torch.distributed as dist",
    "import torch.nn.functional as F",
    "from torch.nn.parallel import DistributedDataParallel",
    "from torch.utils.data import DataLoader, TensorDataset",
    "from torch.utils.data.distributed import DistributedSampler",
)

USAGE = """Run it on this machine, one process (CPU, or the first GPU):

    python train.py --data mnist.npz --epochs 10 --out runs/NAME

Several processes on one machine (one per GPU; on a CPU-only machine, Gloo processes):

    torchrun --standalone --nproc_per_node=4 train.py --data mnist.npz

Two machines (run the same command on both; HOST is the first machine's address):

    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d \\\\
        --rdzv-endpoint=HOST:29500 --rdzv-id=run1 train.py --data /shared/mnist

Every process reads the data; --batch-size is per process. Rank 0 prints one line per epoch
and writes the checkpoints into --out: last.safetensors/last.json (resumed from when the
script is started again with the same --out), best.safetensors/best.json (best test
accuracy) and metrics.jsonl. Network Explorer opens the checkpoints, e.g.
`explorer predict --weights OUT/best.json digit.png`."""

TRAINING = r'''
CHECKPOINT_FORMAT = "network-explorer/checkpoint"
TEST_FRACTION = 0.1
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class UsageError(Exception):
    """Unusable input: one line on stderr, exit code 2."""


# ---------------------------------------------------------------------------- data


def load_data(path: Path) -> tuple[tuple, tuple, list[str]]:
    """``((train images, labels), (test images, labels), classes)``; images uint8 N×C×H×W."""
    if not path.exists():
        raise UsageError(f"--data {path}: no such file or folder")
    if path.is_file():
        if path.suffix != ".npz":
            raise UsageError(f"--data {path}: expected an .npz file, a folder of IDX files "
                             "or a folder of images (one sub-folder per class)")
        return _load_npz(path)
    if any((path / name).exists() or (path / (name + ".gz")).exists()
           for name in IDX_FILES.values()):
        return _load_idx(path)
    return _load_image_folder(path)


def _as_nchw(images: torch.Tensor, source: str) -> torch.Tensor:
    if images.dtype != torch.uint8:
        raise UsageError(f"{source}: images must be uint8 (0-255), got {images.dtype}")
    if images.ndim == 3:
        return images.unsqueeze(1)
    if images.ndim == 4 and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        return images.permute(0, 3, 1, 2).contiguous()
    if images.ndim == 4:
        return images
    raise UsageError(f"{source}: images have shape {tuple(images.shape)}; expected "
                     "N×H×W, N×H×W×C or N×C×H×W")


def _split(images: torch.Tensor, labels: torch.Tensor, seed: int = 0):
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    n_test = max(1, round(len(images) * TEST_FRACTION))
    test, train = order[:n_test].sort().values, order[n_test:].sort().values
    return (images[train], labels[train]), (images[test], labels[test])


def _load_npz(path: Path):
    try:
        import numpy as np
    except ImportError:
        raise UsageError("reading an .npz file needs numpy (pip install numpy)") from None
    try:
        data = np.load(path, allow_pickle=False)
        arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable .npz file ({exc})") from None
    if "images" not in arrays or "labels" not in arrays:
        raise UsageError(f"{path}: needs arrays 'images' and 'labels' "
                         f"(it has {', '.join(arrays) or 'none'})")

    def pair(prefix: str):
        images = _as_nchw(torch.from_numpy(np.ascontiguousarray(arrays[prefix + "images"])),
                          str(path))
        labels = torch.from_numpy(arrays[prefix + "labels"].astype(np.int64)).reshape(-1)
        if len(labels) != len(images):
            raise UsageError(f"{path}: {len(images)} images but {len(labels)} labels")
        return images, labels

    train = pair("")
    test = pair("test_") if "test_images" in arrays and "test_labels" in arrays else None
    if test is None:
        train, test = _split(*train)
    classes = [str(c) for c in arrays["classes"]] if "classes" in arrays else None
    return train, test, classes


def _read_idx(path: Path) -> torch.Tensor:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc})") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise UsageError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    header = 4 + 4 * ndim
    if len(raw) - header != math.prod(dims):
        raise UsageError(f"{path}: truncated or corrupt (header says {dims})")
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(dims)


def _load_idx(folder: Path):
    tensors = {}
    for key, name in IDX_FILES.items():
        found = [p for p in (folder / name, folder / (name + ".gz")) if p.is_file()]
        if not found:
            raise UsageError(f"{folder}: {name} (or {name}.gz) is missing")
        tensors[key] = _read_idx(found[0])
    train = (_as_nchw(tensors["train_images"], str(folder)), tensors["train_labels"].long())
    test = (_as_nchw(tensors["test_images"], str(folder)), tensors["test_labels"].long())
    return train, test, None


def _load_image_folder(folder: Path):
    try:
        from PIL import Image
    except ImportError:
        raise UsageError("reading an image folder needs Pillow (pip install pillow)") from None
    presplit = (folder / "train").is_dir() and (folder / "test").is_dir()
    base = folder / "train" if presplit else folder
    classes = sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise UsageError(f"--data {folder}: an image folder needs one sub-folder per class, "
                         "at least two (optionally inside train/ and test/)")
    mode = "L" if INPUT_SHAPE[0] == 1 else "RGB"

    def read(root: Path):
        images, labels = [], []
        for label, name in enumerate(classes):
            for file in sorted((root / name).rglob("*")):
                if file.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                with Image.open(file) as im:
                    im = im.convert(mode).resize(INPUT_SHAPE[:0:-1])
                    pixels = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
                images.append(pixels.reshape(im.height, im.width, -1).permute(2, 0, 1))
                labels.append(label)
        if not images:
            raise UsageError(f"{root}: no images found (PNG, JPEG, ...)")
        return torch.stack(images), torch.tensor(labels)

    if presplit:
        return read(folder / "train"), read(folder / "test"), classes
    return (*_split(*read(folder)), classes)


def fit_to_network(images: torch.Tensor, mean=None, std=None):
    """uint8 images → float tensors shaped like INPUT_SHAPE, normalised per channel."""
    x = images.float() / 255
    channels, height, width = INPUT_SHAPE
    if x.shape[1] != channels:
        x = x.mean(dim=1, keepdim=True) if channels == 1 else x[:, :1].expand(-1, channels, -1, -1)
    if tuple(x.shape[2:]) != (height, width):
        x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True,
                          align_corners=False)
    if mean is None:
        mean = x.mean(dim=(0, 2, 3)).tolist()
        std = [max(s, 1 / 255) for s in x.std(dim=(0, 2, 3)).tolist()]
    m = torch.tensor(mean).view(1, -1, 1, 1)
    s = torch.tensor(std).view(1, -1, 1, 1)
    return ((x - m) / s).contiguous(), mean, std


# ---------------------------------------------------------------------------- checkpoints


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _torch_bytes(obj) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def save_checkpoint(out: Path, name: str, model, *, mean, std, classes, epoch, metrics):
    """``NAME.safetensors`` (or ``NAME.pt`` without safetensors) and the ``NAME.json`` sidecar
    that Network Explorer reads: architecture, normalisation, classes, epoch, metrics."""
    state = {k: v.detach().to("cpu", copy=True).contiguous()
             for k, v in model.state_dict().items()}
    try:
        from safetensors.torch import save
    except ImportError:
        weights = out / f"{name}.pt"
        _atomic_write(weights, _torch_bytes(state))
    else:
        weights = out / f"{name}.safetensors"
        _atomic_write(weights, save(state, metadata={"format": CHECKPOINT_FORMAT}))
    sidecar = {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        "architecture": ARCHITECTURE,
        "normalization": {"mean": [float(v) for v in mean], "std": [float(v) for v in std]},
        "classes": list(classes),
        "epoch": int(epoch),
        "metrics": {k: (float(v) if v is not None and math.isfinite(v) else None)
                    for k, v in metrics.items()},
        "weights": weights.name,
    }
    _atomic_write(out / f"{name}.json", (json.dumps(sidecar, indent=2) + "\n").encode())


def find_resume(out: Path):
    """The sidecar and training state of ``OUT/last`` to resume from, or ``None``."""
    sidecar, state = out / "last.json", out / "last.state.pt"
    if not sidecar.is_file() or not state.is_file():
        return None
    try:
        document = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{sidecar}: cannot resume from it ({exc})") from None
    if document.get("architecture", {}).get("blocks") != ARCHITECTURE["blocks"]:
        raise UsageError(f"{sidecar}: it holds another network; give another --out to start "
                         "a new run")
    weights = load_weights(out / Path(document["weights"]).name)
    return weights, torch.load(state, map_location="cpu", weights_only=True)


# ---------------------------------------------------------------------------- training


def make_optimizer(args, params):
    if args.optimizer == "sgd":
        return torch.optim.SGD(params, lr=args.lr, momentum=args.momentum,
                               weight_decay=args.weight_decay)
    if args.optimizer == "adam":
        return torch.optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    return torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)


def make_scheduler(args, optimizer, batches: int):
    schedules = torch.optim.lr_scheduler
    if args.schedule == "step":
        step = args.step_size or max(1, args.epochs // 3)
        return schedules.StepLR(optimizer, step_size=step, gamma=args.gamma)
    if args.schedule == "cosine":
        return schedules.CosineAnnealingLR(optimizer, T_max=args.epochs)
    if args.schedule == "onecycle":
        return schedules.OneCycleLR(optimizer, max_lr=args.lr,
                                    total_steps=args.epochs * batches, cycle_momentum=False)
    return None


def evaluate(model, images, labels, batch_size: int, device, rank: int, world: int):
    """Loss and accuracy over the whole test set, each process taking every world-th image."""
    model.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    with torch.no_grad():
        shard_x, shard_y = images[rank::world], labels[rank::world]
        for start in range(0, len(shard_x), batch_size):
            x = shard_x[start:start + batch_size].to(device, non_blocking=True)
            y = shard_y[start:start + batch_size].to(device, non_blocking=True)
            scores = model(x)
            totals[0] += F.cross_entropy(scores, y, reduction="sum").item()
            totals[1] += (scores.argmax(1) == y).sum().item()
            totals[2] += len(y)
    if world > 1:
        dist.all_reduce(totals)
    count = max(totals[2].item(), 1)
    return totals[0].item() / count, totals[1].item() / count


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=USAGE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True,
                        help="an .npz (images, labels), a folder of MNIST-format IDX files, "
                             "or an image folder (one sub-folder per class)")
    parser.add_argument("--epochs", type=int, default={{epochs}})
    parser.add_argument("--batch-size", type=int, default={{batch_size}}, help="per process")
    parser.add_argument("--eval-batch-size", type=int, default={{eval_batch_size}})
    parser.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default={{optimizer}})
    parser.add_argument("--lr", type=float, default={{lr}}, help="learning rate")
    parser.add_argument("--momentum", type=float, default={{momentum}}, help="SGD momentum")
    parser.add_argument("--weight-decay", type=float, default={{weight_decay}})
    parser.add_argument("--schedule", choices=("none", "step", "cosine", "onecycle"),
                        default={{schedule}})
    parser.add_argument("--step-size", type=int, default=None,
                        help="epochs between drops of the step schedule (default epochs // 3)")
    parser.add_argument("--gamma", type=float, default={{gamma}}, help="step schedule factor")
    parser.add_argument("--seed", type=int, default={{seed}})
    parser.add_argument("--max-batches", type=int, default=None,
                        help="stop every epoch after N batches (quick trials)")
    parser.add_argument("--no-amp", action="store_true",
                        help="no bf16 mixed precision on GPUs that support it")
    parser.add_argument("--out", type=Path, default=Path("runs") / ARCHITECTURE["name"],
                        help="folder of the checkpoints (resumed from when it has them)")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "eval_batch_size"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} {getattr(args, name)} is not valid: "
                             "expected an integer >= 1")
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise UsageError(f"--lr {args.lr} is not valid: expected a number > 0")
    if not 0 <= args.momentum < 1:
        raise UsageError(f"--momentum {args.momentum} is not valid: expected >= 0 and < 1")
    return args


def setup_distributed():
    """``(rank, world size, device)``: NCCL on GPUs, Gloo on CPUs under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def main(argv=None) -> int:
    args = parse_args(argv)
    rank, world, device = setup_distributed()
    log = (lambda text: print(text, flush=True)) if rank == 0 else (lambda text: None)
    try:
        code = train(args, rank, world, device, log)
        if world > 1:  # no process tears down while another (rank 0 saving) still works
            dist.barrier()
        return code
    finally:
        if world > 1:
            dist.destroy_process_group()


def train(args, rank: int, world: int, device, log) -> int:
    (train_x, train_y), (test_x, test_y), classes = load_data(args.data)
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    if n_classes > NUM_CLASSES or int(min(train_y.min(), test_y.min())) < 0:
        raise UsageError(f"--data {args.data}: labels run from {int(train_y.min())} to "
                         f"{n_classes - 1}, but the network has {NUM_CLASSES} outputs")
    classes = list(classes or [])[:NUM_CLASSES]
    if len(classes) < NUM_CLASSES:  # the checkpoint names one class per output
        classes += [str(i) for i in range(len(classes), NUM_CLASSES)]
    train_x, mean, std = fit_to_network(train_x, *NORMALIZATION)
    test_x, _, _ = fit_to_network(test_x, mean, std)
    args.out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(args.seed)
    model = build_model().to(device)
    # rank 0 reads the checkpoint and hands it to the others (other nodes may not see --out)
    resumed = find_resume(args.out) if rank == 0 else None
    if world > 1:
        box = [resumed]
        dist.broadcast_object_list(box, src=0)
        resumed = box[0]
    first_epoch, best_accuracy = 1, None
    if resumed is not None:
        weights, state = resumed
        model.load_state_dict(weights)
        first_epoch = int(state["epoch"]) + 1
        best_accuracy = state.get("best_accuracy")
        log(f"resuming from {args.out / 'last.json'} after epoch {state['epoch']}")
    net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                  else None) if world > 1 else model

    dataset = TensorDataset(train_x, train_y)
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True,
                                 seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler,
                        pin_memory=device.type == "cuda")
    batches = min(len(loader), args.max_batches or len(loader))
    optimizer = make_optimizer(args, net.parameters())
    scheduler = make_scheduler(args, optimizer, batches)
    if resumed is not None:
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
    amp = (device.type == "cuda" and not args.no_amp and torch.cuda.is_bf16_supported())
    log(f"training {ARCHITECTURE['name']} on {args.data} ({len(train_x):,} training, "
        f"{len(test_x):,} test images) with {world} process(es) on {device.type}, "
        f"batch {args.batch_size} per process")
    if first_epoch > args.epochs:
        log(f"nothing to do: {args.out} already holds epoch {first_epoch - 1} of {args.epochs}")
    for epoch in range(first_epoch, args.epochs + 1):
        sampler.set_epoch(epoch)
        net.train()
        start = time.perf_counter()
        totals = torch.zeros(3, dtype=torch.float64, device=device)
        for batch, (x, y) in enumerate(loader, start=1):
            if batch > batches:
                break
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                scores = net(x)
                loss = F.cross_entropy(scores, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None and args.schedule == "onecycle":
                scheduler.step()
            totals += torch.stack([loss.detach().double() * len(y),
                                   (scores.argmax(1) == y).sum().double(),
                                   torch.tensor(len(y), dtype=torch.float64, device=device)])
        if world > 1:
            dist.all_reduce(totals)
        if not math.isfinite(totals[0].item()):
            raise UsageError(f"the loss became NaN in epoch {epoch}; lower --lr "
                             f"(it is {args.lr})")
        train_loss, train_accuracy = (totals[0] / totals[2]).item(), (totals[1] / totals[2]).item()
        test_loss, test_accuracy = evaluate(model, test_x, test_y, args.eval_batch_size,
                                            device, rank, world)
        lr = optimizer.param_groups[0]["lr"]
        if scheduler is not None and args.schedule != "onecycle":
            scheduler.step()
        seconds = time.perf_counter() - start
        is_best = best_accuracy is None or test_accuracy > best_accuracy
        best_accuracy = test_accuracy if is_best else best_accuracy
        metrics = {"train_loss": train_loss, "train_accuracy": train_accuracy,
                   "test_loss": test_loss, "test_accuracy": test_accuracy}
        log(f"epoch {epoch:>3}/{args.epochs}  loss {train_loss:.4f}  train {train_accuracy:6.2%}"
            f"  test loss {test_loss:.4f}  test {test_accuracy:6.2%}  {seconds:5.1f} s  "
            f"{totals[2].item() / seconds:,.0f} img/s" + ("  best" if is_best else ""))
        if rank == 0:
            saved = {"mean": mean, "std": std, "classes": classes, "epoch": epoch,
                     "metrics": metrics}
            if is_best:
                save_checkpoint(args.out, "best", model, **saved)
            save_checkpoint(args.out, "last", model, **saved)
            state = {"epoch": epoch, "best_accuracy": best_accuracy,
                     "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict() if scheduler is not None else None}
            _atomic_write(args.out / "last.state.pt", _torch_bytes(state))
            row = {"epoch": epoch, **metrics, "lr": lr, "epoch_time": seconds,
                   "is_best": is_best, "processes": world}
            with open(args.out / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
    if best_accuracy is not None:
        log(f"best test accuracy {best_accuracy:.2%}; checkpoints in {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UsageError as exc:
        if int(os.environ.get("RANK", "0")) == 0:
            print(f"{Path(sys.argv[0]).name}: error: {exc}", file=sys.stderr)
        sys.exit(2)
'''
