from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from training_helpers import SIZE, tiny_spec_dict

from explorer.core.builder import build_model
from explorer.core.spec import ArchitectureSpec
from explorer.training import CheckpointError, load_checkpoint, save_checkpoint


class Gadget:
    """A custom class: pickling it makes a file that weights-only loading must refuse."""

    def __init__(self) -> None:
        self.payload = "would run code on load"


def _save(path, spec, model=None, **overrides):
    model = model if model is not None else build_model(spec)
    args = {
        "mean": (0.2,), "std": (0.3,), "classes": ["a", "b", "c", "d"], "epoch": 3,
        "metrics": {"test_accuracy": 0.75, "test_loss": float("inf")},
    }
    args.update(overrides)
    return save_checkpoint(path, model, spec, **args), model


def test_round_trip_gives_the_same_outputs(tmp_path, spec):
    torch.manual_seed(0)
    sidecar, model = _save(tmp_path / "best", spec)
    assert sidecar == tmp_path / "best.json"
    document = json.loads(sidecar.read_text())
    assert document["format"] == "network-explorer/checkpoint" and document["version"] == 1
    assert document["weights"] == "best.safetensors"
    assert document["normalization"] == {"mean": [0.2], "std": [0.3]}
    assert document["metrics"] == {"test_accuracy": 0.75, "test_loss": None}
    x = torch.randn(5, 1, SIZE, SIZE)
    model.eval()
    for name in ("best", "best.json", "best.safetensors"):
        rng = torch.get_rng_state()
        loaded = load_checkpoint(tmp_path / name)
        assert torch.equal(torch.get_rng_state(), rng)  # loading draws from no global RNG
        assert not loaded.model.training
        assert loaded.spec.to_dict() == spec.to_dict()
        assert (loaded.mean, loaded.std, loaded.classes, loaded.epoch) == (
            (0.2,), (0.3,), ["a", "b", "c", "d"], 3)
        assert loaded.metrics["test_accuracy"] == 0.75
        with torch.no_grad():
            assert torch.equal(loaded.model(x), model(x))


def test_failed_write_keeps_the_old_checkpoint(tmp_path, spec, monkeypatch):
    _save(tmp_path / "best", spec, epoch=1)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        _save(tmp_path / "best", spec, epoch=2)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert load_checkpoint(tmp_path / "best").epoch == 1


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_weights_are_named(tmp_path, spec, damage):
    _save(tmp_path / "best", spec)
    weights = tmp_path / "best.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="corrupt or truncated") as info:
        load_checkpoint(tmp_path / "best.json")
    assert "best.safetensors" in str(info.value)


def test_bad_sidecars(tmp_path, spec):
    _save(tmp_path / "best", spec)
    sidecar = tmp_path / "best.json"
    sidecar.write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(sidecar)
    sidecar.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CheckpointError, match="not a Network Explorer checkpoint"):
        load_checkpoint(sidecar)
    sidecar.write_text(json.dumps({"format": "network-explorer/checkpoint", "version": 1}))
    with pytest.raises(CheckpointError, match="field .architecture. is missing"):
        load_checkpoint(sidecar)


def test_weights_name_cannot_leave_the_folder(tmp_path, spec):
    sidecar, _ = _save(tmp_path / "best", spec)
    document = json.loads(sidecar.read_text())
    document["weights"] = "../elsewhere.safetensors"
    sidecar.write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="must name a file next to the sidecar"):
        load_checkpoint(sidecar)


def test_missing_files(tmp_path, spec):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nothing")
    _save(tmp_path / "best", spec)
    (tmp_path / "best.safetensors").unlink()
    with pytest.raises(CheckpointError, match="best.safetensors: no such file"):
        load_checkpoint(tmp_path / "best")
    _save(tmp_path / "other", spec)
    (tmp_path / "other.json").unlink()
    with pytest.raises(CheckpointError, match="give the architecture"):
        load_checkpoint(tmp_path / "other.safetensors")
    assert load_checkpoint(tmp_path / "other.safetensors", spec=spec).mean is None


def test_weights_of_another_architecture_are_named(tmp_path, spec):
    sidecar, _ = _save(tmp_path / "best", spec)
    document = json.loads(sidecar.read_text())
    document["architecture"]["blocks"][0]["out_channels"] = 6
    sidecar.write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match=r"'conv1\.weight' is 4×1×3×3 but the "
                                              r"architecture needs 6×1×3×3"):
        load_checkpoint(sidecar)

    other = tiny_spec_dict()
    other["blocks"].insert(2, {"type": "conv2d", "out_channels": 4, "kernel_size": 1})
    document["architecture"] = other
    sidecar.write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match=r"'conv2\.weight' \(4×4×1×1\) is missing"):
        load_checkpoint(sidecar)

    fewer = tiny_spec_dict()
    fewer["blocks"] = fewer["blocks"][:1] + [{"type": "global_avg_pool"}, {"type": "flatten"}]
    fewer["num_classes"] = 4
    document["architecture"] = fewer
    sidecar.write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match=r"a tensor 'fc1\.(weight|bias)' that the arch"):
        load_checkpoint(sidecar)


def test_plain_pt_state_dict_loads_with_an_architecture(tmp_path, spec):
    model = build_model(spec)
    path = tmp_path / "weights.pt"
    torch.save({"state_dict": model.state_dict()}, path)
    with pytest.raises(CheckpointError, match="choose the architecture"):
        load_checkpoint(path)
    loaded = load_checkpoint(path, spec=spec)
    assert loaded.mean is None and loaded.classes == ["0", "1", "2", "3"]
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor)


def test_pickled_objects_are_refused(tmp_path, spec):
    path = tmp_path / "model.pt"
    torch.save({"state_dict": build_model(spec).state_dict(), "extra": Gadget()}, path)
    with pytest.raises(CheckpointError, match="refused: it is not a plain weights file"):
        load_checkpoint(path, spec=spec)
    whole = tmp_path / "whole.pth"
    with open(whole, "wb") as fh:
        pickle.dump(Gadget(), fh, protocol=2)
    with pytest.raises(CheckpointError, match="refused: it is not a plain weights file"):
        load_checkpoint(whole, spec=spec)


def test_pt_with_wrong_tensors(tmp_path, spec):
    path = tmp_path / "weights.pt"
    torch.save([torch.zeros(3)], path)
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_checkpoint(path, spec=spec)
    other = ArchitectureSpec.from_dict({**tiny_spec_dict(), "num_classes": 3})
    torch.save(build_model(other).state_dict(), path)
    with pytest.raises(CheckpointError, match=r"'fc1\.weight' is 3×"):
        load_checkpoint(path, spec=spec)
