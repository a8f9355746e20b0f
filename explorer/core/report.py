"""A summary as Markdown or CSV, for the window's File › Export summary; torchinfo's own
table of a network, for ``explorer summary --format torchinfo`` and the window's copy."""

from __future__ import annotations

import csv
import io

from explorer.core.shapes import fmt_shape

COLUMNS = ("Layer", "Type", "Output", "Params", "Mult-adds", "Receptive field", "Stride")


def _cells(row) -> list[str]:
    return [
        row.name,
        row.type,
        fmt_shape(row.output_shape),
        str(row.params),
        str(row.mult_adds),
        "" if row.receptive_field is None else str(row.receptive_field),
        "" if row.effective_stride is None else str(row.effective_stride),
    ]


def summary_csv(summary) -> str:
    """One CSV row per summary row (numbers unformatted), with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Depth", *COLUMNS])
    for row in summary.layers:
        writer.writerow([row.depth, *_cells(row)])
    return out.getvalue()


def summary_markdown(summary) -> str:
    """The summary as a Markdown document: a table of rows, the totals and any error."""

    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [f"# {esc(summary.name)}", "",
             f"Input {fmt_shape(summary.input_shape)}", "",
             "| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join(["---"] * 3 + ["---:"] * 4) + "|"]
    for row in summary.layers:
        cells = _cells(row)
        cells[0] = "&nbsp;" * 2 * (row.depth - 1) + esc(cells[0])
        cells[3] = f"{row.params:,}"
        cells[4] = f"{row.mult_adds:,}"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"- Output: {fmt_shape(summary.output_shape)}",
              f"- Parameters: {summary.total_params:,} ({summary.trainable_params:,} trainable)",
              f"- Mult-adds: {summary.mult_adds:,} per image",
              f"- Activations: {summary.activation_bytes:,} bytes per image"]
    for warning in summary.warnings:
        lines.append(f"- Warning: {esc(warning)}")
    if summary.error is not None:
        lines += ["", f"**Error**: {esc(summary.error.text())}"]
        if summary.error.hint:
            lines.append(f"**Hint**: {esc(summary.error.hint)}")
    return "\n".join(lines) + "\n"


TORCHINFO_COLUMNS = ("input_size", "output_size", "num_params", "mult_adds")
TORCHINFO_MAX_NESTING = 16
"""torchinfo's time doubles with each level of nesting (benchmarks/nesting_cost.py: 77 ms at
16 levels, 1.2 s at 20, a minute at 26): deeper networks are refused rather than left to run
for hours."""


def torchinfo_table(spec=None, torchvision: str | None = None, *, input_shape=None,
                    num_classes: int = 1000, depth: int = 3) -> str:
    """``torchinfo.summary``'s own table (its rows, columns and numbers, not the app's).

    Parameters
    ----------
    spec : an architecture: the table of its network up to its first block that does not
        fit; or
    torchvision : a torchvision model's name (``torchvision:resnet18``), built with
        ``input_shape`` and ``num_classes``.
    depth : how deep inside blocks to list rows, as the app's tables.

    Raises
    ------
    ValueError
        For a network nested deeper than :data:`TORCHINFO_MAX_NESTING` modules.
    """
    import torchinfo

    from explorer.core.builder import build_partial, fast_meta_shapes
    from explorer.core.presets import torchvision_model

    if torchvision is not None:
        network = torchvision_model(torchvision, input_shape=input_shape,
                                    num_classes=num_classes)
        shape = network.input_shape
    else:
        network, shape = build_partial(spec, device="meta").network, spec.input_shape
    nesting = max((name.count(".") + 1 for name, _ in network.named_modules() if name),
                  default=0)
    if nesting > TORCHINFO_MAX_NESTING:
        raise ValueError(
            f"the network nests modules {nesting} deep; torchinfo's time doubles with each "
            f"level, so its table is made for at most {TORCHINFO_MAX_NESTING} (the app's own "
            "table has no such limit: leave out --format)")
    with fast_meta_shapes(network):
        stats = torchinfo.summary(network, input_size=(1, *shape), device="meta", depth=depth,
                                  col_names=TORCHINFO_COLUMNS, row_settings=("var_names",),
                                  verbose=0, mode="eval")
    return str(stats)
