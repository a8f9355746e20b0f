"""Classify drawings and images with a trained checkpoint (the bundled digit model by default).

Shared by the drawing canvas and ``explorer predict``: the same MNIST-style preprocessing
(:func:`explorer.data.preprocess_drawing`) and the normalisation stored with the checkpoint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from explorer.data import preprocess_drawing, to_model_input
from explorer.paths import resource_path
from explorer.training.checkpoint import LoadedCheckpoint, load_checkpoint

DEFAULT_MODEL = "digits"
"""Folder of the bundled digit model in ``explorer.resources``: the run folder of its training."""


def default_model_path() -> os.PathLike:
    """The sidecar of the bundled digit model."""
    return resource_path(DEFAULT_MODEL) / "best.json"


@dataclass
class Prediction:
    """What the model says about one image: the label and every class's probability."""

    label: str
    probabilities: list[float]
    digit: np.ndarray
    """The 28×28 image the model saw, before normalisation (values 0–1)."""

    @property
    def confidence(self) -> float:
        return max(self.probabilities)


class Predictor:
    """A checkpoint ready to classify drawings; ``None`` for an empty drawing."""

    def __init__(self, checkpoint: LoadedCheckpoint) -> None:
        self.checkpoint = checkpoint
        self.model = checkpoint.model.eval()
        self.spec = checkpoint.spec
        self.classes = checkpoint.classes
        # a plain .pt file does not say how it was normalised: MNIST's statistics then
        self.mean = checkpoint.mean or (0.1307,)
        self.std = checkpoint.std or (0.3081,)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Predictor:
        """Load a checkpoint (the bundled digit model when ``path`` is ``None``)."""
        return cls(load_checkpoint(path if path is not None else default_model_path()))

    def predict(self, image) -> Prediction | None:
        """Classify a drawing or photo of one digit (any size, either polarity)."""
        digit = preprocess_drawing(image)
        if digit is None:
            return None
        x = to_model_input(digit, self.spec.input_shape, self.mean, self.std)
        with torch.inference_mode():
            probabilities = torch.softmax(self.model(x)[0].float(), dim=0)
        values = [float(p) for p in probabilities]
        return Prediction(self.classes[int(np.argmax(values))], values, digit)
