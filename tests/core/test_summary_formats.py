"""Summary exports: Markdown and CSV carry every row, the totals and the error; the text table
shows each row's cells in their columns."""

from __future__ import annotations

import csv
import io

from explorer.core.inspector import inspect_spec
from explorer.core.presets import preset_spec
from explorer.core.spec import ArchitectureSpec
from explorer.core.summary_formats import summary_csv, summary_markdown


def test_csv_has_one_row_per_summary_row():
    summary = inspect_spec(preset_spec("lenet"))
    rows = list(csv.reader(io.StringIO(summary_csv(summary))))
    assert rows[0][:4] == ["Depth", "Layer", "Type", "Output"]
    assert len(rows) == len(summary.layers) + 1
    assert sum(int(r[4]) for r in rows[1:] if r[0] == "1") == summary.total_params


def test_markdown_has_the_table_totals_and_error():
    spec = ArchitectureSpec.from_dict({"name": "bad", "input_shape": [1, 8, 8], "num_classes": 10,
                                       "blocks": [{"type": "conv2d", "out_channels": 4},
                                                  {"type": "conv2d", "out_channels": 4,
                                                   "kernel_size": 9}]})
    text = summary_markdown(inspect_spec(spec))
    assert text.startswith("# bad\n")
    assert "| Layer | Type | Output |" in text
    assert "4×6×6" in text
    assert "**Error**" in text and "**Hint**" in text


def test_counts_read_as_the_table_shows_them():
    from explorer.core.summary import format_count

    assert format_count(999_999) == "999,999"
    assert format_count(150_000) == "150,000"
    assert format_count(1_000_000) == "1.00 M"
    assert format_count(2_754_000) == "2.75 M"
    assert format_count(1_814_000_000) == "1.81 G"


def test_csv_cells_are_the_rows_numbers_in_their_columns():
    """LeNet's conv1 and conv2 as a spreadsheet reads them: 156 parameters and 6·28·28·26
    multiply-adds, then receptive field and stride, each under its own header."""
    rows = list(csv.DictReader(io.StringIO(summary_csv(inspect_spec(preset_spec("lenet"))))))
    assert rows[0] == {"Depth": "1", "Layer": "conv1", "Type": "conv2d", "Output": "6×28×28",
                       "Params": "156", "Mult-adds": str(156 * 28 * 28),
                       "Receptive field": "5", "Stride": "1"}
    conv2 = rows[3]
    assert (conv2["Params"], conv2["Mult-adds"]) == ("2416", str(2416 * 10 * 10))
    assert (conv2["Receptive field"], conv2["Stride"]) == ("14", "2")


def test_markdown_totals_say_how_many_parameters_train():
    """A module with a frozen convolution: the Markdown totals count its parameters, not as
    trainable ones."""
    from torch import nn

    from explorer.core.inspector import inspect_module

    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    model[0].requires_grad_(False)
    text = summary_markdown(inspect_module(model, (1, 28, 28), name="frozen"))
    assert "- Parameters: 27,090 (27,050 trainable)" in text


# a VGG block (two 3×3 convolutions of 4 channels, a 2×2 max-pool) over 1×8×8, then a classifier:
# conv1 1·4·9 + 4 = 40 weights, 40·8·8 = 2,560 mult-adds; conv2 4·4·9 + 4 = 148, 9,472
NESTED = {"name": "nested", "input_shape": [1, 8, 8], "num_classes": 10,
          "blocks": [{"type": "vgg_block", "num_convs": 2, "out_channels": 4},
                     {"type": "flatten"}, {"type": "linear", "out_features": "classes"}]}


def test_markdown_rows_read_as_the_layers_with_their_nesting():
    lines = summary_markdown(inspect_spec(ArchitectureSpec.from_dict(NESTED))).splitlines()
    assert "| vgg1 | vgg_block | 4×4×4 | 188 | 12,032 | 6 | 2 |" in lines
    assert "| &nbsp;&nbsp;vgg1.conv2 | Conv2d | 4×8×8 | 148 | 9,472 | 5 | 1 |" in lines
    assert "| fc1 | linear | 10 | 650 | 650 | 8 | 2 |" in lines
    # every layer's output as float32: four 4×8×8 maps, the pooled 4×4×4 twice, 10 scores
    assert f"- Activations: {4 * (4 * 256 + 2 * 64 + 10):,} bytes per image" in lines


def test_text_table_rows_name_the_layer_and_its_field_then_its_step():
    from explorer.core.summary import format_table

    lines = format_table(inspect_spec(ArchitectureSpec.from_dict(NESTED))).splitlines()
    block = next(line for line in lines if "vgg1" in line)
    conv2 = next(line for line in lines if "conv2" in line)
    assert conv2.startswith("  conv2 ")  # indented under its block, its own name only
    assert conv2.split() == ["conv2", "Conv2d", "4×8×8", "148", "9,472", "5", "1"]
    assert block.split()[:2] == ["0:", "vgg1"] and block.split()[-4:] == [
        "188", "12,032", "6", "2"]
    # 838 float32 weights: 3,352 bytes; activations 4,648 bytes (see the Markdown test)
    assert "Parameters:        838 (838 trainable, 3.3 KiB)" in lines
    assert "Activations:       4.5 KiB per image (forward)" in lines
