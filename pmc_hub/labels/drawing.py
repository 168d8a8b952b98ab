"""Histograms of a drawing's strokes, for telling a chart from a diagram.

Hand-made statistics (axis ticks, edge directions, text placement) told charts from diagrams
within one publisher but not across publishers (docs/taxonomy.md, round 17 of the labeler). These
are many small histograms instead, read off the grey image `media.Thumbnail` carries and its RGB
thumbnail, for a regression to weigh (`scripts/fit_content_model.py`, on the development figures
and on drawn charts and diagrams, `scripts/make_drawing_figures.py`):

- the blank gaps between runs of ink along the rows and the columns, by length relative to the
  image's longer side (a chart's gaps between bars and ticks, a diagram's between boxes and words);
- the directions of the edges (8 bins over half a turn), at half the grey image's scale;
- 2x2 patterns of ink (corners, line ends, diagonals against straight strokes);
- colours: the hue of the colourful pixels (6 bins) and the share of pale fills.

All whole-array operations on at most 384 x 384 pixels. Which histograms are read was chosen on
the development figures by how well a regression on them, fitted with each source left out, told
that source's charts from its diagrams (docs/taxonomy.md, round 21 of the labeler): ink run
lengths, edge directions at full scale and 2x2 patterns at half scale did not help and are not read.
"""
from __future__ import annotations

import numpy as np

INK_LEVEL = 200  # a grey pixel darker than this is ink
# Run lengths in pixels of a 384-pixel image (the grey image's cap), log-spaced bin edges
RUN_EDGES = np.array([1, 2, 3, 5, 9, 17, 33, 65, 129, 1 << 30], dtype=np.float64)
ORIENTATIONS = 8
HUES = 6

_RUNS = len(RUN_EDGES) - 1
DRAWING_FEATURES = (
    *(f"gap_run_h{i}" for i in range(_RUNS)), *(f"gap_run_v{i}" for i in range(_RUNS)),
    *(f"orient{i}" for i in range(ORIENTATIONS)), *(f"pattern{i}" for i in range(1, 15)),
    *(f"hue{i}" for i in range(HUES)), "pale", "ink",
)


def drawing_features(grey: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """`DRAWING_FEATURES` of a grey image and the RGB thumbnail of the same decode: square roots of
    shares (a linear model weighs small shares better so)."""
    h, w = grey.shape
    if h < 4 or w < 4:
        return np.zeros(len(DRAWING_FEATURES))
    ink = grey < INK_LEVEL
    scale = 384.0 / max(h, w)
    return np.sqrt(np.concatenate([
        _gaps(ink, scale), _gaps(np.ascontiguousarray(ink.T), scale), _orientations(_half(grey)), _patterns(ink),
        _colours(rgb), [np.count_nonzero(ink) / ink.size],
    ]))


def _half(grey: np.ndarray) -> np.ndarray:
    """The grey image box-reduced by two (its odd last row or column dropped)."""
    h, w = grey.shape[0] // 2 * 2, grey.shape[1] // 2 * 2
    g = grey[:h, :w].astype(np.uint16)
    return ((g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2]) >> 2).astype(np.uint8)


def _gaps(ink: np.ndarray, scale: float) -> np.ndarray:
    """The share of the blank pixels between two runs of ink along the rows in each gap length
    (`RUN_EDGES`, lengths scaled to a 384-pixel image): a chart's gaps between bars and ticks, a
    diagram's between boxes and words."""
    h, w = ink.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = ink
    step = np.diff(padded, axis=1).ravel()
    starts, ends = np.flatnonzero(step == 1), np.flatnonzero(step == -1)  # runs of ink, row by row
    same_row = starts[1:] // (w + 1) == ends[:-1] // (w + 1)
    lengths = (starts[1:] - ends[:-1])[same_row]
    if not lengths.size:
        return np.zeros(_RUNS)
    bins = np.searchsorted(RUN_EDGES, lengths * scale, side="right") - 1
    return np.bincount(bins, weights=lengths, minlength=_RUNS)[:_RUNS] / lengths.sum()


def _orientations(grey: np.ndarray) -> np.ndarray:
    """The share of edge strength in each of `ORIENTATIONS` directions over half a turn (3x3 Sobel)."""
    g = grey.astype(np.int16)
    gx = (g[:-2, 2:] + 2 * g[1:-1, 2:] + g[2:, 2:]) - (g[:-2, :-2] + 2 * g[1:-1, :-2] + g[2:, :-2])
    gy = (g[2:, :-2] + 2 * g[2:, 1:-1] + g[2:, 2:]) - (g[:-2, :-2] + 2 * g[:-2, 1:-1] + g[:-2, 2:])
    magnitude = np.abs(gx) + np.abs(gy)
    at = magnitude > 160
    if not at.any():
        return np.zeros(ORIENTATIONS)
    angle = np.arctan2(gy[at], gx[at]) % np.pi
    bins = np.minimum((angle * (ORIENTATIONS / np.pi) + 0.5).astype(np.int64) % ORIENTATIONS, ORIENTATIONS - 1)
    hist = np.bincount(bins, weights=magnitude[at], minlength=ORIENTATIONS)
    return hist / hist.sum()


def _patterns(ink: np.ndarray) -> np.ndarray:
    """The share of each mixed 2x2 pattern of ink (14 of the 16: all blank and all ink left out)
    among the mixed ones."""
    bits = ink.view(np.uint8)
    pair = bits[:, :-1] | (bits[:, 1:] << 1)  # each pixel and its right neighbour
    code = pair[:-1] | (pair[1:] << 2)
    counts = np.bincount(code.ravel(), minlength=16)[1:15].astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def _colours(rgb: np.ndarray) -> np.ndarray:
    """The share of the content's pixels (not page white) in each of `HUES` hues among the colourful
    ones, and of pale fills (light, a little colour)."""
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    mx, mn = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    chroma = mx - mn
    content = max(np.count_nonzero(mn <= 230), 1)
    colourful = chroma > 60
    out = np.zeros(HUES + 1)
    if colourful.any():
        rc, gc, bc, c, m = r[colourful], g[colourful], b[colourful], chroma[colourful], mx[colourful]
        hue = np.where(m == rc, (gc - bc) / c % 6, np.where(m == gc, (bc - rc) / c + 2, (rc - gc) / c + 4))
        out[:HUES] = np.bincount(np.minimum(hue.astype(np.int64), HUES - 1), minlength=HUES) / content
    out[HUES] = np.count_nonzero((mn > 180) & (mn <= 245) & (chroma >= 12) & (chroma <= 60)) / content
    return out
