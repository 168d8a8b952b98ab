"""Whether a piece of a figure is a table: its layout, not its amount of text.

A table's text sits in two or more aligned columns over three or more rows, with no graphics
but rules and shaded rows or cells. A chart's category labels are one column beside its bars or
dots, and its axes and marks are graphics, so an enrichment chart as dense in text as a table is
no table.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TableConfig:
    min_rows: int = 3  # rows of text with cells in two aligned columns
    min_columns: int = 2  # columns whose cells start level over at least ``min_rows`` rows
    cell_gap: float = 1.0  # glyph heights: a wider gap between text blobs of a row starts a new cell
    align: float = 0.5  # glyph heights: cells starting this near each other are in one column
    rule_width: float = 0.35  # glyph heights: a thinner blob is a rule (or a hairline's part)
    shade_fill: float = 0.85  # a blob this full of its box is a shaded row or cell
    # a blob whose box is the piece's, within this many glyph heights (at least 2 px: a frame's
    # drop shadow or a stray mark beside it), is the table's frame or grid
    frame: float = 0.5
    mark_fill: float = 0.75  # a round text-sized blob this full of its box is a chart's marker (a disc fills 0.79)
    max_marks: int = 2  # more markers than this: a dot plot, whose dots sit in rows and columns too
    row_height: float = 4.5  # glyph heights: a blob across the table's width no higher is a row (a band, a rule, the text lines touching it)


def is_table(piece: tuple[int, int, int, int], boxes: np.ndarray, pixels: np.ndarray, text: np.ndarray,
             glyph: float, cfg: TableConfig) -> bool:
    """``boxes``: (n, 4) x0, y0, x1, y1 of the blobs inside ``piece`` (trimmed to its ink);
    ``pixels`` their ink; ``text`` which are text-sized; ``glyph`` the figure's glyph height. A
    table when every blob that is not text is a rule, a shaded rectangle or the frame around it
    all, no text blob is a chart's round marker, and the text makes ``min_columns`` columns of
    cells that start level in ``min_rows`` or more rows."""
    if not text.any():
        return False
    x0, y0, x1, y1 = boxes.T
    h, w = y1 - y0, x1 - x0
    rule = np.minimum(h, w) <= max(1.0, cfg.rule_width * glyph)
    shade = pixels >= cfg.shade_fill * h * w
    near = np.abs(boxes - np.asarray(piece)) <= max(2.0, cfg.frame * glyph)
    frame = near.all(axis=1)
    # a shaded or ruled row across the whole table with the text that touches it (a family's
    # heading band, a header underlined)
    row = near[:, 0] & near[:, 2] & (h <= cfg.row_height * glyph)
    if not (text | rule | shade | frame | row).all():
        return False  # axes, bars, drawings: graphics
    marks = text & (pixels >= cfg.mark_fill * h * w) & (np.abs(h - w) <= 1) & (h >= glyph)
    if int(marks.sum()) > cfg.max_marks:
        return False
    starts = _cell_starts(boxes[text & ~shade], glyph, cfg)
    return _aligned_rows(starts, glyph, cfg) >= cfg.min_rows


def _cell_starts(boxes: np.ndarray, glyph: float, cfg: TableConfig) -> list[np.ndarray]:
    """Per row of text (blobs whose middles lie within half a glyph of each other, top to
    bottom), the left edges of its cells (runs of blobs parted by less than ``cell_gap``)."""
    if boxes.size == 0:
        return []
    middle = (boxes[:, 1] + boxes[:, 3]) / 2
    order = np.argsort(middle, kind="stable")
    breaks = np.flatnonzero(np.diff(middle[order]) > glyph / 2) + 1
    rows = []
    for members in np.split(order, breaks):
        row = boxes[members[np.argsort(boxes[members, 0], kind="stable")]]
        reach = np.maximum.accumulate(row[:, 2])
        new_cell = np.concatenate([[True], row[1:, 0] - reach[:-1] > cfg.cell_gap * glyph])
        rows.append(row[new_cell, 0].astype(float))
    return rows


def _aligned_rows(starts: list[np.ndarray], glyph: float, cfg: TableConfig) -> int:
    """How many rows have cells in ``min_columns`` columns, a column being a left edge shared
    (within ``align`` glyph heights) by the cells of ``min_rows`` rows or more."""
    multi = [row for row in starts if row.size >= cfg.min_columns]
    if len(multi) < cfg.min_rows:
        return 0
    edges = np.sort(np.concatenate(multi))
    breaks = np.flatnonzero(np.diff(edges) > cfg.align * glyph) + 1
    columns = [(c[0], c[-1]) for c in np.split(edges, breaks)]
    aligned = [(lo, hi) for lo, hi in columns if hi - lo <= 2 * cfg.align * glyph
               and sum(bool(((row >= lo) & (row <= hi)).any()) for row in multi) >= cfg.min_rows]
    if len(aligned) < cfg.min_columns:
        return 0
    return sum(sum(bool(((row >= lo) & (row <= hi)).any()) for lo, hi in aligned) >= cfg.min_columns for row in multi)
