"""Data sets, in-memory batch loading and drawing preprocessing. No Qt."""

from __future__ import annotations

from explorer.data.datasets import (
    DIGIT_CLASSES,
    DataError,
    Dataset,
    DataSplit,
    LoadCancelled,
    default_data_dir,
    list_sources,
    load_dataset,
)
from explorer.data.drawing import load_image, preprocess_drawing, to_model_input
from explorer.data.loader import BatchLoader, adapt_images

__all__ = [
    "DIGIT_CLASSES",
    "BatchLoader",
    "DataError",
    "DataSplit",
    "Dataset",
    "LoadCancelled",
    "adapt_images",
    "default_data_dir",
    "list_sources",
    "load_dataset",
    "load_image",
    "preprocess_drawing",
    "to_model_input",
]
