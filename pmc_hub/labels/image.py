"""Cheap statistics of a figure's thumbnail, and the image classifier that reads them.

The thumbnail is the small RGB image `pmc_hub.media.inspect` makes from the reduced decode it does
for the perceptual hash anyway (JPEG draft / box-reduce): the statistics cost well under a
millisecond and no model is downloaded. The classifier is a multinomial logistic regression over
these statistics, fitted on the tuning part of the hand-labelled development set
(``tests/data/figures/labels.json``) by ``scripts/fit_image_labeler.py``; its weights ship as
``image_model.json`` next to this module.
"""
from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import DataError
from .panel import blocks_of

# The coarse visual kinds the image model tells apart ("gel" is left to the caption).
KINDS = ("chart", "diagram", "table", "equation", "microscopy", "clinical", "photo", "gel")

# The statistics, in order: shares of the thumbnail's pixels unless said otherwise.
FEATURES = (
    "white",        # page background (every channel > 230)
    "black",        # near black (every channel < 35)
    "grey",         # achromatic mid-tones: neither white nor black, chroma < 20
    "colourful",    # chroma > 60
    "vivid",        # chroma > 150 (saturated chart colours, fluorescence)
    "ink",          # darker than 200 grey
    "colours",      # distinct colours (4 bits per channel) with 0.05% of the pixels, log-scaled to 0-1
    "top8",         # pixels in the 8 commonest of those colours (flat graphics near 1, photographs low)
    "grey_levels",  # grey levels (64 bins) holding 0.5% of the pixels, / 64
    "soft",         # neighbour steps of 5-30 grey levels (photographic gradients, noise)
    "texture",      # mean neighbour step inside the content, / 255 (text and line art high)
    "dark_border",  # border pixels darker than 60 (dark-field images, scans)
    "bands",        # rows filled with one light flat tone (shaded table rows)
    "h_rules",      # horizontal lines longer than a quarter of the width, / 10
    "v_rules",      # vertical lines longer than a quarter of the height, / 10
    "full_rules",   # horizontal lines across 85% of the width (table rules), / 10
    "axes",         # a long vertical line meets a long horizontal one at its bottom-left: a chart's axes (0/1)
    "row_bands",    # separate bands of inked rows (text lines, table rows), / 20
    "diagonal",     # strong gradients that run diagonally (curves, arrows) rather than along the axes
    "hue_red",      # red/pink share of the colourful pixels
    "hue_blue",     # blue share of the colourful pixels
    "photo_area",   # share of the content in dense blocks (no page background inside): photographs, micrographs
    "aspect",       # log(width / height) of the original image
    "log_height",   # log10 of the original height in pixels
    "log_width",    # log10 of the original width in pixels
)


def image_features(thumb: np.ndarray, width: int, height: int, blocks: Optional[list] = None) -> np.ndarray:
    """The `FEATURES` of an RGB uint8 thumbnail (``width`` x ``height`` is the original size);
    ``blocks`` are its `panel.blocks_of` content blocks when the caller has them already."""
    r, g, b = thumb[..., 0], thumb[..., 1], thumb[..., 2]
    mx, mn = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)  # (faster than .max(axis=2))
    chroma = mx - mn
    grey = (r.astype(np.uint16) * 77 + g.astype(np.uint16) * 150 + b.astype(np.uint16) * 29) >> 8
    n = grey.size
    white, black = mn > 230, mx < 35
    content = ~white
    n_content = max(int(np.count_nonzero(content)), 1)
    colourful = chroma > 60
    quant = ((r >> 4).astype(np.uint16) << 8) | ((g >> 4).astype(np.uint16) << 4) | (b >> 4)
    counts = np.bincount(quant.ravel(), minlength=4096)
    levels = np.bincount((grey >> 2).ravel(), minlength=64)
    signed = grey.astype(np.int16)
    dx, dy = np.abs(np.diff(signed, axis=1)), np.abs(np.diff(signed, axis=0))
    inside = content[:, 1:]
    ink = grey < 235
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    hue = _hue(thumb[colourful].astype(np.int16))
    n_hue = max(hue.size, 1)
    rules = _rules(ink)
    return np.array([
        white.mean(),
        black.mean(),
        np.count_nonzero((chroma < 20) & content & ~black) / n,
        colourful.mean(),
        np.count_nonzero(chroma > 150) / n,
        np.count_nonzero(grey < 200) / n,
        np.log1p(np.count_nonzero(counts >= max(2, n // 2000))) / np.log(4096),
        np.partition(counts, 4088)[4088:].sum() / n,
        np.count_nonzero(levels >= n * 0.005) / 64,
        (np.count_nonzero((dx > 4) & (dx <= 30)) + np.count_nonzero((dy > 4) & (dy <= 30))) / (2 * n),
        float(dx[inside].mean()) / 255 if inside.any() else 0.0,
        np.mean(border < 60),
        _bands(grey, chroma),
        *rules[:3],
        rules[3],
        _row_bands(ink),
        _diagonal(signed),
        np.count_nonzero((hue < 20) | (hue >= 330)) / n_hue,
        np.count_nonzero((hue >= 195) & (hue < 255)) / n_hue,
        _photo_area(white, n_content, blocks_of(white) if blocks is None else blocks),
        np.log(max(width, 1) / max(height, 1)),
        np.log10(max(height, 1)),
        np.log10(max(width, 1)),
    ], dtype=np.float64)


def _hue(rgb: np.ndarray) -> np.ndarray:
    """Hue in degrees (0-360) of an (n, 3) int16 array of colourful pixels."""
    if rgb.size == 0:
        return np.zeros(0, dtype=np.float32)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    mx, mn = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    c = np.maximum(mx - mn, 1).astype(np.float32)
    h = np.where(mx == r, ((g - b) / c) % 6, np.where(mx == g, (b - r) / c + 2, (r - g) / c + 4))
    return h * 60


def _runs(mask: np.ndarray, length: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True at least ``length`` long in each row of a 2-D array: (row, first, last) arrays."""
    rows, width = mask.shape
    padded = np.zeros((rows, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded.ravel())  # the zero padding keeps every run inside its row
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    keep = (stops - starts) >= length
    starts, stops = starts[keep], stops[keep]
    return starts // (width + 2), starts % (width + 2), stops % (width + 2) - 1


def _count_lines(rows: np.ndarray) -> int:
    """How many separate lines (bands of adjacent rows) the row indices form."""
    rows = np.unique(rows)
    return int(rows.size and 1 + np.count_nonzero(np.diff(rows) > 1))


def _rules(ink: np.ndarray) -> tuple[float, float, float, float]:
    """Straight lines: horizontal and vertical ones longer than a quarter of the image, horizontal
    ones across 85% of the width (each counted as lines, / 10, at most 1), and whether a vertical
    line's bottom meets a horizontal line's left end (a chart's axes; both a fifth of the image)."""
    h, w = ink.shape
    hr, hs, he = _runs(ink, 0.2 * w)  # per row: (row, left, right)
    vc, vs, ve = _runs(np.ascontiguousarray(ink.T), 0.2 * h)  # per column: (column, top, bottom)
    horizontal = _count_lines(hr[he - hs + 1 >= 0.25 * w])
    vertical = _count_lines(vc[ve - vs + 1 >= 0.25 * h])
    full = _count_lines(hr[he - hs + 1 >= 0.85 * w])
    axes = 0.0
    if hr.size and vc.size:
        axes = float(np.any((np.abs(hr[None, :] - ve[:, None]) <= 2) & (np.abs(hs[None, :] - vc[:, None]) <= 2)))
    return min(horizontal, 10) / 10, min(vertical, 10) / 10, min(full, 10) / 10, axes


def _row_bands(ink: np.ndarray) -> float:
    """Separate bands of inked rows inside the content (lines of text, table rows), / 20."""
    on = ink.any(axis=1)
    idx = np.flatnonzero(on)
    if idx.size == 0:
        return 0.0
    inner = on[idx[0]:idx[-1] + 1].astype(np.int8)
    return min(int(np.count_nonzero(np.diff(np.concatenate([[0], inner])) == 1)), 20) / 20


def _diagonal(g: np.ndarray) -> float:
    """Share of strong gradients that are diagonal (curves, arrows, circles) rather than along
    the axes (axes, bars, table rules, most text strokes)."""
    gx = np.abs(g[1:, 1:] - g[1:, :-1])
    gy = np.abs(g[1:, 1:] - g[:-1, 1:])
    strong = (gx + gy) > 80
    if not strong.any():
        return 0.0
    ax, ay = gx[strong], gy[strong]
    return float(np.mean((2 * ax > ay) & (2 * ay > ax)))


def _bands(grey: np.ndarray, chroma: np.ndarray) -> float:
    """Share of rows filled with one light flat tone (the shaded rows of a rendered table)."""
    light = (grey > 200) & (grey < 245) & (chroma < 20)
    return float(np.mean(np.count_nonzero(light, axis=1) > 0.6 * light.shape[1]))


def _photo_area(white: np.ndarray, n_content: int, blocks: list) -> float:
    """Share of the content in blocks (between blank gutters) with almost no page background
    inside: photographs, micrographs and scans are dense rectangles, charts and drawings are not."""
    h, w = white.shape
    dense = 0
    for x0, y0, x1, y1 in blocks:
        x0, y0, x1, y1 = int(x0), int(y0), int(x1), int(y1)
        block = white[y0:y1, x0:x1]
        if block.size >= 0.02 * h * w and block.mean() < 0.05:
            dense += block.size - int(np.count_nonzero(block))
    return min(dense / n_content, 1.0)


# ---------------------------------------------------------------- the classifier

MODEL_FILE = Path(__file__).with_name("content_model.json")


class ContentModelError(DataError, ValueError):
    """The fitted content-model file is missing or not valid (names the file and the reason)."""


GRAPHIC = ("chart", "diagram", "table", "equation")
PHOTOGRAPHIC = ("microscopy", "clinical", "photo")


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
        object.__setattr__(model, "_columns", np.array([FEATURES.index(f) for f in model.features]))
        return model

    def to_dict(self) -> dict:
        return {"features": list(self.features), "classes": list(self.classes),
                **{k: np.round(getattr(self, k), 6).tolist() for k in ("mean", "scale", "weights", "bias")}}

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        x = features[self._columns] if hasattr(self, "_columns") else features[[FEATURES.index(f) for f in self.features]]
        logits = self.weights @ ((x - self.mean) / self.scale) + self.bias
        e = np.exp(logits - logits.max())
        return e / e.sum()


@dataclass(frozen=True)
class ImageModel:
    """P(kind) from the thumbnail statistics, in two steps: is it a photograph-like image (a
    camera, microscope or scanner made it) or a drawn graphic; then which kind of either."""

    gate: Logistic  # classes ("graphic", "photographic")
    graphic: Logistic  # classes GRAPHIC
    photographic: Logistic  # classes PHOTOGRAPHIC

    @classmethod
    def from_dict(cls, raw: dict) -> "ImageModel":
        model = cls(*(Logistic.from_dict(raw[k]) for k in ("gate", "graphic", "photographic")))
        if model.gate.classes != ("graphic", "photographic") or model.graphic.classes != GRAPHIC \
                or model.photographic.classes != PHOTOGRAPHIC:
            raise ValueError("the image model's classes do not match this version of pmc-hub")
        return model

    def to_dict(self) -> dict:
        return {k: getattr(self, k).to_dict() for k in ("gate", "graphic", "photographic")}

    def probabilities(self, features: np.ndarray) -> dict[str, float]:
        """P(kind) for one feature vector (the kinds of `KINDS` the image can tell; "gel" is left
        to the caption)."""
        photographic = float(self.gate.probabilities(features)[1])
        out = dict(zip(GRAPHIC, ((1 - photographic) * self.graphic.probabilities(features)).tolist()))
        out.update(zip(PHOTOGRAPHIC, (photographic * self.photographic.probabilities(features)).tolist()))
        return out


@lru_cache(maxsize=4)
def load_content_model(path: Optional[Path] = None) -> dict:
    """The fitted parameters (``content_model.json``): the image model and the caption/image
    combination weights and score calibration."""
    path = Path(path or MODEL_FILE)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["image"] = ImageModel.from_dict(raw["image"])
        return raw
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ContentModelError(f"{path}: not a valid content model: {exc}; refit it with "
                                "scripts/fit_content_model.py") from exc


def thumbnail_of(row: dict) -> np.ndarray:
    """The thumbnail of a row's image bytes, by the same reduced decode `media.inspect` does (for
    rows that come without one, e.g. when relabelling a finished build)."""
    from PIL import Image

    from ..media import phash_and_thumbnail

    data = (row.get("image") or {}).get("bytes") if isinstance(row.get("image"), dict) else None
    if not data:
        raise DataError(f"{row.get('image_key', '?')}: row has no image bytes")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as im:
            return phash_and_thumbnail(im)[1]
