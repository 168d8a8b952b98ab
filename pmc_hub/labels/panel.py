"""Panel type: single or multiple, from subfigure boxes when the detector has run, else from the
image itself (blank gutters between panels, found by recursive XY-cuts of the thumbnail)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from .labeler import Labeler

Box = tuple[float, float, float, float]  # x0, y0, x1, y1

# A block of content counts as a panel when it spans at least BIG_PANEL of the content's width and
# height; a grid of small panels when at least GRID_PANELS blocks span SMALL_PANEL. Chosen on the
# tuning part of the development set (docs/taxonomy.md).
BIG_PANEL, SMALL_PANEL, GRID_PANELS = 0.25, 0.15, 5
MIN_GUTTER = 0.01  # a blank band at least this share of the image's side separates two blocks
_BLANK = 230  # a pixel whose every channel is above this is page background


def panel_layout(boxes: Sequence[Box]) -> tuple[str, str]:
    """(panel type, subtype) from subfigure boxes: one box is single; several give row,
    column, grid (every row has the same number of panels) or irregular."""
    if len(boxes) <= 1:
        return "single", "single"
    rows = _bands([(b[1], b[3]) for b in boxes])
    cols = _bands([(b[0], b[2]) for b in boxes])
    if rows == 1:
        return "multiple", "row"
    if cols == 1:
        return "multiple", "column"
    return "multiple", "grid" if rows * cols == len(boxes) else "irregular"


def _bands(spans: list[tuple[float, float]]) -> int:
    """How many bands of overlapping centres: spans whose centres fall inside an earlier band
    (sorted by centre) join it."""
    bands: list[tuple[float, float]] = []
    for lo, hi in sorted(spans, key=lambda s: (s[0] + s[1]) / 2):
        centre = (lo + hi) / 2
        if bands and bands[-1][0] <= centre <= bands[-1][1]:
            continue
        bands.append((lo, hi))
    return len(bands)


def blank_of(thumb: np.ndarray) -> np.ndarray:
    """The page-background pixels of an RGB thumbnail (every channel above 230)."""
    return np.minimum(np.minimum(thumb[..., 0], thumb[..., 1]), thumb[..., 2]) > _BLANK


def blocks_of(blank: np.ndarray) -> list[Box]:
    """Blocks of content separated by blank bands (recursive XY-cut on the widest gutter), as
    (x0, y0, x1, y1) in pixels of the ``blank`` mask. A block narrower or lower than
    `SMALL_PANEL` of the image is not cut further: it cannot hold a panel."""
    height, width = blank.shape
    ink = (~blank).astype(np.int32)
    # running counts of content pixels along each row and each column: the content of any row or
    # column segment is a difference of two entries, so no cut re-scans the pixels
    along_rows = np.zeros((height, width + 1), dtype=np.int32)
    np.cumsum(ink, axis=1, out=along_rows[:, 1:])
    along_cols = np.zeros((height + 1, width), dtype=np.int32)
    np.cumsum(ink, axis=0, out=along_cols[1:])
    out: list[Box] = []
    stack = [(0, height, 0, width, 0)]
    while stack:
        y0, y1, x0, x1, depth = stack.pop()
        rows = np.flatnonzero(along_rows[y0:y1, x1] - along_rows[y0:y1, x0])
        if rows.size == 0:
            continue
        cols = np.flatnonzero(along_cols[y1, x0:x1] - along_cols[y0, x0:x1])
        y0, y1, x0, x1 = y0 + rows[0], y0 + rows[-1] + 1, x0 + cols[0], x0 + cols[-1] + 1
        if depth >= 12 or y1 - y0 < SMALL_PANEL * height or x1 - x0 < SMALL_PANEL * width:
            out.append((float(x0), float(y0), float(x1), float(y1)))
            continue
        row_blank = (along_rows[y0:y1, x1] - along_rows[y0:y1, x0]) == 0
        col_blank = (along_cols[y1, x0:x1] - along_cols[y0, x0:x1]) == 0
        cuts = [c for c in (_widest_gutter(row_blank, height, 0), _widest_gutter(col_blank, width, 1)) if c]
        if not cuts:
            out.append((float(x0), float(y0), float(x1), float(y1)))
            continue
        _, axis, start, stop = max(cuts)
        if axis == 0:
            stack += [(y0, y0 + start, x0, x1, depth + 1), (y0 + stop, y1, x0, x1, depth + 1)]
        else:
            stack += [(y0, y1, x0, x0 + start, depth + 1), (y0, y1, x0 + stop, x1, depth + 1)]
    return out


def _widest_gutter(blank_line: np.ndarray, side: int, axis: int) -> Optional[tuple[float, int, int, int]]:
    """The widest run of blank lines inside a block: (share of the side, axis, start, stop)."""
    if not blank_line.any():
        return None
    edges = np.flatnonzero(np.diff(blank_line.astype(np.int8), prepend=0, append=0))
    starts, stops = edges[::2], edges[1::2]
    i = int(np.argmax(stops - starts))
    if stops[i] - starts[i] < max(1, MIN_GUTTER * side):
        return None
    return (stops[i] - starts[i]) / side, axis, int(starts[i]), int(stops[i])


def image_panel_type(blocks: Sequence[Box]) -> str:
    """``multiple`` when the content blocks of a thumbnail (`blocks_of`) are two large ones, or a
    grid of smaller ones; else ``single``."""
    if len(blocks) < 2:
        return "single"
    x0, y0 = min(b[0] for b in blocks), min(b[1] for b in blocks)
    width, height = max(b[2] for b in blocks) - x0, max(b[3] for b in blocks) - y0
    spans = [((b[3] - b[1]) / height, (b[2] - b[0]) / width) for b in blocks]
    big = sum(1 for h, w in spans if h >= BIG_PANEL and w >= BIG_PANEL)
    small = sum(1 for h, w in spans if h >= SMALL_PANEL and w >= SMALL_PANEL)
    return "multiple" if big >= 2 or small >= GRID_PANELS else "single"


@dataclass
class SubfigurePanelLabeler(Labeler):
    """Panel type and subtype from detected subfigure boxes (keyed by ``image_key``, or a
    function of the row); a bare subfigure count gives the type without a layout subtype.

    Rows without an entry keep what they had (e.g. the content labeler's panel type).
    Only the panel fields change: the primary label and its source are left alone.
    """

    boxes: Callable[[dict], Optional[Sequence[Box] | int]] | Mapping[str, Sequence[Box] | int]
    batch_size: int = 1024
    name = "subfigures"

    def label_batch(self, rows: list[dict]) -> list[dict]:
        out = []
        for row in rows:
            found = self.boxes(row) if callable(self.boxes) else self.boxes.get(row.get("image_key"))
            row = dict(row)
            if isinstance(found, int):  # a bare subfigure count: the type, but no layout
                panel = ("multiple", None) if found > 1 else ("single", "single")
                row["image_panel_type"], row["image_panel_subtype"] = panel
            elif found is not None:
                row["image_panel_type"], row["image_panel_subtype"] = panel_layout(list(found))
            out.append(row)
        return out
