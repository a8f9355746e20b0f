"""A summary as Markdown or CSV, for the window's File › Export summary."""

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
