"""Cheap statistics of a figure's thumbnail, and the image classifier that reads them.

The thumbnail is the small RGB image `pmc_hub.media.inspect` makes from the reduced decode it does
for the perceptual hash anyway (JPEG draft / box-reduce), with the larger grey image of the same
decode, where the edge directions are read: the statistics cost about a quarter of a millisecond
and no model is downloaded. The classifier is five small logistic regressions over these
statistics, fitted on the hand-labelled development set (``tests/data/figures/labels.json``, each
estimate on sources the fit had not seen; the structure-drawing step also on drawn chemistry
figures) by ``scripts/fit_content_model.py``; its weights ship in ``content_model.json`` next to this
module, with the caption/image combination's.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import DataError
from ..media import Thumbnail, open_image, phash_and_thumbnail
from .panel import PAGE_LEVEL, content_blocks

# The coarse visual kinds the image model tells apart ("gel" is left to the caption; "structure" is
# a drawing of chemical structures: molecules, reaction schemes).
KINDS = ("chart", "diagram", "structure", "table", "equation", "microscopy", "clinical", "photo", "gel")

# The statistics, in order: shares of the thumbnail's pixels unless said otherwise. The
# development set chose them: each pays for itself in the labels' precision (docs/taxonomy.md);
# edges, hues, colour counts, text bands and chart axes did not and were dropped.
FEATURES = (
    "white",        # page background (every channel > 230)
    "grey",         # achromatic mid-tones: chroma < 20, neither white nor near black
    "colourful",    # chroma > 60
    "soft",         # horizontal neighbour steps of 5-30 levels (photographic gradients, noise)
    "texture",      # mean horizontal neighbour step over the content, / 255 (text and line art high)
    "top8",         # pixels in the 8 commonest colours, 8 bits a pixel (flat graphics near 1)
    "bands",        # rows filled with one light flat tone (the shaded rows of a rendered table)
    "full_rules",   # horizontal lines inked across 85% of the width (table rules), / 10
    "dark_border",  # border pixels darker than 60 (dark-field images, scans)
    "photo_area",   # share of the content in dense blocks (no page background inside): photographs, micrographs
    "aspect",       # log(width / height) of the original image
    "log_height",   # log10 of the original height in pixels
    "log_width",    # log10 of the original width in pixels
    "bond_edges",   # share of the grey image's edges 24-36 degrees off the axes: the bonds of a ring
    "axis_edges",   # share of the grey image's edges within 11 degrees of the axes: bars, axes, frames, text
    "edges",        # share of the grey image's pixels on an edge (sparse line drawings low)
    "long_strokes", # share of the bond-angle edges that run on for an eighth of the grey image's longer side
)
EDGE_STRENGTH = 160  # a Sobel response above this (about 40 grey levels a pixel) is an edge
# An edge's direction, by the ratio of its smaller Sobel response (across x or y) to its larger, as
# fractions (whole numbers keep the products inside int16): under 1/5 (within 11 degrees of an
# axis) and 9/20-18/25 (24-36 degrees off the axes, where the bonds of a drawn ring lie: 30 degrees,
# as drawing programs draw them; chart lines and text strokes spread over every angle).
AXIS_RATIO, BOND_RATIOS = (1, 5), ((9, 20), (18, 25))
# A drawn ring's bonds are short against the figure: where more than this share of the edges at a
# bond's angle have another such edge an eighth of the image further along the same direction, they
# are long strokes (arrows across a flow network, slanted axes), and the image is no structure
# drawing. The 160 drawn chemistry figures (scripts/make_chem_figures.py) reach 0.26 at most, the
# development set's real ones 0.17; the flow network of words in circles joined by long arrows
# (J Ethnobiol Ethnomed PMC4417228 fig 4) has 0.34 (docs/taxonomy.md, round 11).
LONG_STROKES_MAX = 0.3
_LONG_STROKES = FEATURES.index("long_strokes")


def image_features(thumb: np.ndarray, grey: np.ndarray, width: int, height: int) -> np.ndarray:
    """The `FEATURES` of an RGB uint8 thumbnail and the grey image of the same decode
    (`media.Thumbnail`; ``width`` x ``height`` is the original size). A fixed, small number of
    whole-array operations: the thumbnail is about 100 pixels a side, the grey image 2-3 times that."""
    h, w = thumb.shape[:2]
    n = h * w
    r, g, b = np.ascontiguousarray(thumb.transpose(2, 0, 1))  # whole planes: faster than strided channels
    mx = np.maximum(np.maximum(r, g), b)
    mn = np.minimum(np.minimum(r, g), b)
    chroma = mx - mn
    flat = chroma < 20
    white = mn > PAGE_LEVEL
    blocks, inside = content_blocks(white)
    n_white = int(np.count_nonzero(white))
    n_content = max(n - n_white, 1)
    step = np.abs(mx[:, 1:].astype(np.int16) - mx[:, :-1])
    colour = (r & 0xE0) | ((g & 0xE0) >> 3) | (b >> 6)  # 3 bits of red and green, 2 of blue: one byte
    counts = np.bincount(colour.ravel(), minlength=256)
    # (uint8 arithmetic wraps: "x - lo <= span" is "lo <= x <= lo + span" in one comparison)
    light_rows = np.count_nonzero(flat & ((mx - 201) <= 43), axis=1)
    inked_rows = np.flatnonzero(np.count_nonzero(mn < 235, axis=1) >= 0.85 * w)
    border = np.concatenate((mx[0], mx[-1], mx[:, 0], mx[:, -1]))
    return np.array([
        n_white / n,
        np.count_nonzero(flat & ((mx - 35) <= 195)) / n,
        np.count_nonzero(chroma > 60) / n,
        np.count_nonzero((step - 5).view(np.uint16) <= 25) / max(step.size, 1),  # a 1-px-wide image has no steps
        float(step.sum()) / n_content / 255,
        np.partition(counts, 248)[248:].sum() / n,
        np.count_nonzero(light_rows > 0.6 * w) / h,
        min(_separate(inked_rows), 10) / 10,
        np.count_nonzero(border < 60) / border.size,
        _photo_area(blocks, inside, n, n_content),
        np.log(max(width, 1) / max(height, 1)),
        np.log10(max(height, 1)),
        np.log10(max(width, 1)),
        *_edge_directions(grey),
    ], dtype=np.float64)


def _edge_directions(grey: np.ndarray) -> tuple[float, float, float, float]:
    """The shares of a grey image's edges that lie at a ring bond's angle and along the axes, the
    share of its pixels on an edge (3x3 Sobel, separable), and the share of the bond-angle edges on
    long strokes (`_long_strokes`). Read at the grey image's resolution: in the thumbnail a
    structure's thin bonds blur away."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0, 0.0, 0.0, 0.0
    larger, smaller, grid = _sobel(grey)
    at = np.flatnonzero(larger > EDGE_STRENGTH)  # the edges are few: the ratios are read at them alone
    edges = max(at.size, 1)
    s, big = smaller[at], larger[at]
    (low, low_of), (high, high_of) = BOND_RATIOS
    bond_at = at[(s * low_of >= big * low) & (s * high_of <= big * high)]
    axis = np.count_nonzero(s * AXIS_RATIO[1] < big * AXIS_RATIO[0])
    bond = np.zeros(larger.size, dtype=bool)
    bond[bond_at] = True
    n_bond = max(bond_at.size, 1)
    return bond_at.size / edges, axis / edges, edges / (grid.height * grid.width), _long_strokes(bond, grid, n_bond)


@dataclass(frozen=True)
class _Grid:
    """The layout of `_sobel`'s flat responses: ``height`` x ``width`` of them (one per 3x3
    window), rows ``stride`` apart, the columns past ``width`` zero; ``shifts`` are `_long_strokes`'s
    (dx, dy) steps, and the stride exceeds the width by the longest, so that a step along a row
    lands in the zero columns, never in the next row."""

    height: int
    width: int
    stride: int
    shifts: tuple[tuple[int, int], ...]


def _sobel(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, _Grid]:
    """The larger and the smaller of the absolute x and y Sobel responses of a grey image (at
    least 3x3) on a flat `_Grid`: every operation runs over one contiguous int16 array (a column
    slice of a 2-D array runs row by row, at several times the cost), with no wrap-around between
    rows because the columns past the image are zero and ignored."""
    h, w = grey.shape
    height, width = h - 2, w - 2
    reach = max(height, width) / 8
    shifts = tuple((dx, dy) for dx, dy in ((round(reach * 0.866), round(reach * 0.5)),
                                           (round(reach * 0.5), round(reach * 0.866)))
                   if dx < width and dy < height)
    stride = w + max((dx for dx, _ in shifts), default=0)
    g = np.zeros(h * stride + 2, dtype=np.int16)  # two more: the last window's reach past the end
    g[:h * stride].reshape(h, stride)[:, :w] = grey
    n = height * stride
    down = g[:n + 2] + g[2 * stride:n + 2 * stride + 2]  # [1, 2, 1] down the columns ...
    middle = g[stride:n + stride + 2]
    down += middle
    down += middle
    gx = np.subtract(down[2:], down[:-2])  # ... then the difference across them
    across = g[:n + 2 * stride] + g[2:n + 2 * stride + 2]  # [1, 2, 1] along the rows ...
    middle = g[1:n + 2 * stride + 1]
    across += middle
    across += middle
    gy = np.subtract(across[2 * stride:], across[:n])  # ... then the difference down them
    np.abs(gx, out=gx)
    np.abs(gy, out=gy)
    larger = np.maximum(gx, gy)
    smaller = np.minimum(gx, gy, out=gx)
    larger.reshape(height, stride)[:, width:] = 0  # windows over the padding: no edges
    return larger, smaller, _Grid(height, width, stride, shifts)


def _long_strokes(bond: np.ndarray, grid: _Grid, n_bond: int) -> float:
    """The share of bond-angle edge pixels (a flat mask on ``grid``) with another one an eighth of
    the image's longer side away along a 30- or 60-degree line (either slope): bonds of a drawn
    ring end sooner."""
    n = bond.size
    along = 0
    for dx, dy in grid.shifts:
        # falling to the right: (x, y) and (x + dx, y + dy); rising: (x, y + dy) and (x + dx, y)
        for step in (dy * grid.stride + dx, abs(dy * grid.stride - dx)):
            along += np.count_nonzero(bond[:n - step] & bond[step:])
    return along / n_bond


def _separate(rows: np.ndarray) -> int:
    """How many separate lines (bands of adjacent rows) sorted row indices form."""
    return int(rows.size and 1 + np.count_nonzero(np.diff(rows) > 1))


def _photo_area(blocks: np.ndarray, inside: np.ndarray, n: int, n_content: int) -> float:
    """Share of the content in blocks (between blank gutters) with almost no page background
    inside: photographs, micrographs and scans are dense rectangles, charts and drawings are not."""
    area = (blocks[:, 2] - blocks[:, 0]) * (blocks[:, 3] - blocks[:, 1])
    dense = (area >= 0.02 * n) & (area - inside < 0.05 * area)
    return min(float(inside[dense].sum()) / n_content, 1.0)


# ---------------------------------------------------------------- the classifier

MODEL_FILE = Path(__file__).with_name("content_model.json")


class ContentModelError(DataError, ValueError):
    """The fitted content-model file is missing or not valid (names the file and the reason)."""


GRAPHIC = ("drawing", "table", "equation")  # a "drawing" is a structure drawing, a chart or a diagram
STRUCTURE = ("structure", "plot or diagram")
DRAWING = ("chart", "diagram")
PHOTOGRAPHIC = ("microscopy", "clinical", "photo")
# The steps of the image model, in the order its logits are stacked, and the classes of each.
STEPS = {"gate": ("graphic", "photographic"), "graphic": GRAPHIC, "structure": STRUCTURE, "drawing": DRAWING,
         "photographic": PHOTOGRAPHIC}


@dataclass(frozen=True)
class Logistic:
    """Multinomial logistic regression over some of the `FEATURES` (standardised)."""

    features: tuple[str, ...]
    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # classes x features
    bias: np.ndarray

    @classmethod
    def from_dict(cls, raw: dict) -> "Logistic":
        model = cls(tuple(raw["features"]), tuple(raw["classes"]), *(np.asarray(raw[k], dtype=np.float64)
                                                                      for k in ("mean", "scale", "weights", "bias")))
        if set(model.features) - set(FEATURES) or model.weights.shape != (len(model.classes), len(model.features)) \
                or model.bias.shape != (len(model.classes),) or model.mean.shape != (len(model.features),):
            raise ValueError(f"a model over {model.classes} does not match this version's features")
        return model

    def to_dict(self) -> dict:
        return {"features": list(self.features), "classes": list(self.classes),
                **{k: np.round(getattr(self, k), 6).tolist() for k in ("mean", "scale", "weights", "bias")}}

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        """(weights, bias) over the whole `FEATURES` vector, the standardisation folded in."""
        weights = np.zeros((len(self.classes), len(FEATURES)))
        weights[:, [FEATURES.index(f) for f in self.features]] = self.weights / self.scale
        return weights, self.bias - (self.weights / self.scale) @ self.mean

    def probabilities(self, features: np.ndarray) -> list[float]:
        weights, bias = self.affine()
        return _softmax((weights @ features + bias).tolist())


@dataclass(frozen=True)
class ImageModel:
    """P(kind) from the image statistics, in steps: is it a photograph-like image (a camera,
    microscope or scanner made it) or a drawn graphic; which graphic (a drawing, a table, an
    equation) or which photograph-like kind; whether a drawing shows chemical structures, from
    the directions of its edges alone (the drawn figures that taught it differ from real ones in
    everything else: page, text, size); and whether any other drawing is a chart or a diagram. That
    last step has a regression of its own so that it need not read what the graphic step does:
    the image's size tells an equation or a table, but on the development set it told charts
    from diagrams only by telling one source of figures from another (docs/taxonomy.md)."""

    gate: Logistic  # classes STEPS["gate"]
    graphic: Logistic  # classes GRAPHIC
    structure: Logistic  # classes STRUCTURE
    drawing: Logistic  # classes DRAWING
    photographic: Logistic  # classes PHOTOGRAPHIC

    def __post_init__(self) -> None:
        # the regressions as one matrix product: one call per figure
        parts = [getattr(self, step).affine() for step in STEPS]
        object.__setattr__(self, "_weights", np.vstack([w for w, _ in parts]))
        object.__setattr__(self, "_bias", np.concatenate([b for _, b in parts]))
        object.__setattr__(self, "_ends", np.cumsum([len(classes) for classes in STEPS.values()]).tolist())

    @classmethod
    def from_dict(cls, raw: dict) -> "ImageModel":
        model = cls(**{step: Logistic.from_dict(raw[step]) for step in STEPS})
        if any(getattr(model, step).classes != classes for step, classes in STEPS.items()):
            raise ValueError("the image model's classes do not match this version of pmc-hub")
        return model

    def to_dict(self) -> dict:
        return {step: getattr(self, step).to_dict() for step in STEPS}

    def probabilities(self, features: np.ndarray) -> dict[str, float]:
        """P(kind) for one feature vector (the kinds of `KINDS` the image can tell; "gel" is left
        to the caption)."""
        logits = (self._weights @ features + self._bias).tolist()
        gate, graphic, structure, drawing, photographic = (_softmax(logits[start:end]) for start, end
                                                           in zip([0, *self._ends], self._ends))
        if features[_LONG_STROKES] > LONG_STROKES_MAX:
            structure = [0.0, 1.0]  # long strokes at a bond's angle: no structure drawing
        out = {"structure": gate[0] * graphic[0] * structure[0]}
        out.update((kind, gate[0] * graphic[0] * structure[1] * p) for kind, p in zip(DRAWING, drawing))
        out.update((kind, gate[0] * p) for kind, p in zip(GRAPHIC[1:], graphic[1:]))
        out.update((kind, gate[1] * p) for kind, p in zip(PHOTOGRAPHIC, photographic))
        return out


def _softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    e = [math.exp(v - top) for v in logits]
    total = sum(e)
    return [v / total for v in e]


# The score calibration's offsets: one per source (`image_label_source`), and image-only labels
# of figures without any caption apart: there the image model decides with nothing to check it
# against, and it is right far less often than where a caption exists but names nothing.
CALIBRATION_KEYS = ("caption+image", "caption", "image", "image, no caption")


@lru_cache(maxsize=4)
def load_content_model(path: Optional[Path] = None) -> dict:
    """The fitted parameters (``content_model.json``): the image model and the caption/image
    combination weights and score calibration."""
    path = Path(path or MODEL_FILE)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["image"] = ImageModel.from_dict(raw["image"])
        missing = [k for k in ("slope", *CALIBRATION_KEYS) if k not in raw["calibration"]]
        if missing:
            raise ValueError(f"its score calibration has no {', '.join(missing)}")
        return raw
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ContentModelError(f"{path}: not a valid content model: {exc}; refit it with "
                                "scripts/fit_content_model.py") from exc


def thumbnail_of(row: dict) -> Thumbnail:
    """The `media.Thumbnail` of a row's image bytes, by the same reduced decode `media.inspect` does
    (for rows that come without one, e.g. when relabelling a finished build)."""
    data = (row.get("image") or {}).get("bytes") if isinstance(row.get("image"), dict) else None
    if not data:
        raise DataError(f"{row.get('image_key', '?')}: row has no image bytes")
    with open_image(data) as im:
        return phash_and_thumbnail(im)[1]
