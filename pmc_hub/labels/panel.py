"""Panel type: single or multiple, from subfigure boxes when the detector has run, else from the
image itself (blank gutters and seams between panels, found by an XY-cut of the labeler's grey
image)."""
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
# The panel search reads the grey image (`pmc_hub.media.grey_detail`, 2-3 times the thumbnail's
# pixels a side), where gutters of a pixel or two still show: a band of 0.5% of the side parts.
PANEL_GUTTER = 0.005
PAGE_LEVEL = 230  # a pixel whose every channel is above this is page background


@dataclass(frozen=True)
class Seams:
    """Where panels touch without a blank gutter: ``lines`` solid lines in a row (rows or columns
    of a span with content across ``solid`` of it: a photograph, a drawn frame or separator two
    pixels wide or more) beside a sparse line (content across ``sparse`` of it at most: a
    drawing's page, or a gap of any width, even a hairline between two photographs). One solid
    line is not enough: a chart's axis or a table's rule is one as often as a frame is."""

    solid: float = 0.95
    sparse: float = 0.5
    lines: int = 2

    def __call__(self, share: np.ndarray) -> np.ndarray:
        """The seam lines, from the share of each line of a span that is content (spans x lines):
        the sparse lines next to ``lines`` solid ones on either side."""
        solid = share >= self.solid
        before, after = solid.copy(), solid.copy()  # solid lines ending just before / starting just after
        for shift in range(1, self.lines):
            before[:, shift:] &= solid[:, :-shift]
            after[:, :-shift] &= solid[:, shift:]
        seam = np.zeros_like(solid)
        seam[:, 1:] = before[:, :-1]
        seam[:, :-1] |= after[:, 1:]
        return seam & (share <= self.sparse)


# The seams the panel search parts at, chosen on the tuning part of the development set
# (docs/taxonomy.md: a plateau of solid 0.95-0.98, sparse 0.2-0.85, two lines).
PANEL_SEAMS = Seams()


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


def panel_blocks(grey: np.ndarray, seams: Optional[Seams] = PANEL_SEAMS) -> np.ndarray:
    """The content blocks (`content_blocks`, parted at `PANEL_SEAMS` too) of a grey figure image
    that `image_panel_type` reads."""
    return content_blocks(grey > PAGE_LEVEL, PANEL_GUTTER, seams)[0]


def content_blocks(blank: np.ndarray, min_gutter: float = MIN_GUTTER,
                   seams: Optional[Seams] = None) -> tuple[np.ndarray, np.ndarray]:
    """Blocks of content between blank gutters: an (n, 4) array of x0, y0, x1, y1 in pixels of
    the ``blank`` mask, and the content pixels in each. The bands of rows between blank rows,
    then the runs of columns inside each band between blank columns (an XY-cut two levels deep,
    which is where the panels of a figure part; a gap narrower than ``min_gutter`` of the side does
    not part them). With ``seams``, rows and columns also part where solid lines meet a sparse one
    (`Seams`: panels that touch, framed panels, a hairline between photographs). A fixed number
    of array operations and one sum per band of rows."""
    height, width = blank.shape
    # the content as 0/1 float32, whose counts are plain sums (exact far beyond any image's size):
    # numpy counts a boolean mask along an axis by casting it all, which costs several times more
    content = np.subtract(1, blank, dtype=np.float32)
    per_row = content.sum(axis=1).astype(np.intp)
    rows = (per_row > 0)[None, :]
    parts = None
    if seams is not None and rows.any():  # a row's share is of the content's width
        columns = np.flatnonzero(~blank.all(axis=0))
        parts = seams(per_row[None, :] / (columns[-1] - columns[0] + 1))
    band, top, bottom = _runs_between_gutters(rows, min_gutter * height, parts)
    if top.size == 0:
        return np.zeros((0, 4), dtype=np.intp), np.zeros(0, dtype=np.intp)
    # content per column inside each band: a band's rows summed (a few, contiguous, summed row by
    # row; no BLAS product, whose threads cost more than the sums on a busy host)
    band_sums = np.empty((top.size, width), dtype=np.float32)
    for i, (start, stop) in enumerate(zip(top.tolist(), bottom.tolist())):
        content[start:stop].sum(axis=0, out=band_sums[i])
    per_column = band_sums.astype(np.int32)
    parts = None if seams is None else seams(per_column / (bottom - top)[:, None])
    which, left, right = _runs_between_gutters(per_column > 0, min_gutter * width, parts)
    across = np.zeros((per_column.shape[0], width + 1), dtype=np.int32)
    np.cumsum(per_column, axis=1, out=across[:, 1:])
    boxes = np.empty((left.size, 4), dtype=np.intp)
    boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3] = left, top[which], right, bottom[which]
    return boxes, across[which, right] - across[which, left]


def _runs_between_gutters(on: np.ndarray, min_gutter: float,
                          parts: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True in each row of a 2-D mask, joined across gaps narrower than ``min_gutter``
    unless the gap holds a line of ``parts`` (which is never inside a run): (row, start, stop)
    arrays, stop exclusive."""
    rows, length = on.shape
    padded = np.zeros((rows, length + 2), dtype=np.int8)
    padded[:, 1:-1] = on if parts is None else on & ~parts
    row, at = np.nonzero(padded[:, 1:] != padded[:, :-1])  # each row's runs start and stop in turn
    row, start, stop = row[::2], at[::2], at[1::2]
    joined = (row[1:] == row[:-1]) & (start[1:] - stop[:-1] < max(1.0, min_gutter))
    if parts is not None and joined.any():
        crossed = np.zeros((rows, length + 1), dtype=np.int32)
        np.cumsum(parts, axis=1, out=crossed[:, 1:])
        joined &= crossed[row[1:], start[1:]] == crossed[row[:-1], stop[:-1]]
    if joined.any():  # a gap narrower than a gutter joins its neighbours
        first, last = np.ones(start.size, dtype=bool), np.ones(start.size, dtype=bool)
        first[1:] = last[:-1] = ~joined
        row, start, stop = row[first], start[first], stop[last]
    return row, start, stop


def image_panel_type(blocks: Sequence[Box]) -> str:
    """``multiple`` when the content blocks of a figure (`panel_blocks`) are two large ones, or a
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
