"""Activations, filters, drawing inputs and the confusion matrix of a snapshot."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from explorer.core.builder import build_model
from explorer.core.presets import preset_spec
from explorer.training.analysis import (
    Snapshot,
    activations,
    confusion,
    drawing_input,
    first_conv_filters,
    layer_choices,
)


def snapshot_of(spec, classes, label="tiny"):
    torch.manual_seed(0)
    return Snapshot.of_model(build_model(spec, device="cpu"), spec, mean=(0.2,), std=(0.3,),
                             classes=classes, label=label)


def test_snapshot_is_a_copy(spec):
    model = build_model(spec, device="cpu")
    snap = Snapshot.of_model(model, spec, mean=(0.2,), std=(0.3,), classes="abcd", label="x")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    rebuilt = snap.build()
    for (name, a), b in zip(model.state_dict().items(), rebuilt.state_dict().values()):
        assert not torch.equal(a, b), name
    assert not rebuilt.training


def test_layer_choices_are_feature_maps_with_shapes(spec):
    model = snapshot_of(spec, "abcd").build()
    choices = layer_choices(model, spec.input_shape)
    assert [(c.name, c.shape) for c in choices] == [
        ("conv1", (4, 12, 12)), ("relu1", (4, 12, 12)), ("pool1", (4, 6, 6))
    ]
    assert "conv1 (Conv2d) → 4×12×12" in choices[0].label


def test_nested_layers_are_listed_deeper():
    spec = preset_spec("course-resnet")
    model = build_model(spec, device="cpu").eval()
    choices = layer_choices(model, spec.input_shape)
    nested = [c for c in choices if c.depth > 0]
    assert nested and all("." in c.name for c in nested)
    assert all(c.depth == 0 for c in choices if "." not in c.name)


def test_activations_match_a_manual_forward_and_hooks_are_removed(spec):
    model = snapshot_of(spec, "abcd").build()
    x = torch.rand(1, *spec.input_shape)
    maps = activations(model, x, ["conv1", "pool1"])
    with torch.no_grad():
        expected = model.pool1(model.relu1(model.conv1(x)))[0].numpy()
    assert maps["pool1"].shape == (4, 6, 6) and maps["pool1"].dtype == np.float32
    np.testing.assert_allclose(maps["pool1"], expected, rtol=1e-6)
    assert all(not m._forward_hooks for m in model.modules())


def test_activations_refuse_an_unknown_layer(spec):
    model = snapshot_of(spec, "abcd").build()
    with pytest.raises(KeyError, match="'nope' is not a layer"):
        activations(model, torch.rand(1, *spec.input_shape), ["nope"])
    assert all(not m._forward_hooks for m in model.modules())


def test_first_conv_filters(spec):
    model = snapshot_of(spec, "abcd").build()
    name, weights = first_conv_filters(model)
    assert name == "conv1" and weights.shape == (4, 1, 3, 3)
    np.testing.assert_array_equal(weights, model.conv1.weight.detach().numpy())
    assert first_conv_filters(torch.nn.Sequential(torch.nn.Flatten())) is None


def test_drawing_input_for_digits_and_converted_shapes():
    digit = np.zeros((28, 28), np.float32)
    digit[8:20, 12:16] = 1.0
    spec = preset_spec("lenet")
    x, note = drawing_input(snapshot_of(spec, [str(i) for i in range(10)]), digit)
    assert x.shape == (1, 1, 28, 28) and note == ""
    wide = dataclasses.replace(spec, input_shape=(3, 32, 32))
    x, note = drawing_input(snapshot_of(wide, [str(i) for i in range(10)]), digit)
    assert x.shape == (1, 3, 32, 32)
    assert "resized to 32×32" in note and "repeated over 3 channels" in note


def test_drawing_input_refuses_classes_that_are_not_digits():
    spec = preset_spec("lenet")
    x, note = drawing_input(snapshot_of(spec, ["cat", "dog"] * 5), np.zeros((28, 28)))
    assert x is None and "not the digits 0–9" in note and "cat" in note


def test_confusion_counts_every_test_image(spec, dataset):
    model = snapshot_of(spec, dataset.classes).build()
    result = confusion(model, dataset.test, input_shape=spec.input_shape, mean=dataset.mean,
                       std=dataset.std, classes=dataset.classes, batch_size=10)
    n = len(dataset.test)
    assert result.matrix.sum() == n and result.probabilities.shape == (n, 4)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(np.bincount(result.labels, minlength=4),
                                  result.matrix.sum(axis=1))
    assert result.accuracy == pytest.approx(np.mean(result.labels == result.predictions))
    true, predicted = np.unravel_index(np.argmax(result.matrix), result.matrix.shape)
    cell = result.cell(int(true), int(predicted))
    assert len(cell) == result.matrix[true, predicted]
    assert (result.labels[cell] == true).all() and (result.predictions[cell] == predicted).all()
    confidence = result.probabilities[cell, predicted]
    assert (np.diff(confidence) <= 0).all()



def test_confusion_of_a_network_with_more_outputs_than_named_classes(spec, dataset):
    """Scores for six classes, four named: the matrix is 6×6, the extra classes named by
    their numbers, and a network that always answers class 5 fills that column only."""
    always_5 = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(spec.input_shape[1] ** 2, 6))
    torch.nn.init.zeros_(always_5[1].weight)
    with torch.no_grad():
        always_5[1].bias.copy_(torch.tensor([0.0, 0, 0, 0, 0, 9]))
    result = confusion(always_5, dataset.test, input_shape=spec.input_shape, mean=dataset.mean,
                       std=dataset.std, classes=dataset.classes, batch_size=16)
    assert result.matrix.shape == (6, 6) and result.classes[4:] == ("4", "5")
    labels = np.bincount(dataset.test.labels.numpy(), minlength=6)
    np.testing.assert_array_equal(result.matrix[:, 5], labels)  # row: true, column: predicted
    assert result.matrix.sum() == result.matrix[:, 5].sum() == len(dataset.test)
    assert result.accuracy == 0.0

def test_predict_drawing_with_the_bundled_model():
    from explorer.training.analysis import predict_drawing
    from explorer.training.checkpoint import load_checkpoint
    from explorer.training.predict import default_model_path

    snap = Snapshot.of_checkpoint(load_checkpoint(default_model_path()), "bundled")
    model = snap.build()
    canvas = np.zeros((200, 200), np.float32)
    canvas[30:170, 95:110] = 1.0  # a tall bar: a one
    result = predict_drawing(model, snap, canvas)
    assert result.digit.shape == (28, 28) and result.source == "bundled"
    assert result.classes[result.top] == "1"
    assert sum(result.probabilities) == pytest.approx(1.0, rel=1e-5)
    assert predict_drawing(model, snap, np.zeros((50, 50))) is None


def test_rebuilding_a_snapshot_leaves_the_global_rng(spec):
    """Predictions and feature maps rebuild snapshots on the inference thread while a run may
    have seeded the global RNG: the rebuild must not draw from it."""
    snap = snapshot_of(spec, "abcd")
    torch.manual_seed(5)
    before = torch.get_rng_state()
    snap.build()
    assert torch.equal(torch.get_rng_state(), before)
