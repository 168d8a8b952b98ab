"""How a piece of a figure is drawn: chemical structure drawings told from panels.

A reaction scheme or a row of numbered structures has whitespace between its molecules, so the
gutter cut finds one piece per molecule, each a drawing of some size: by size and text alone they
are panels. What tells them apart from the panels of a compound figure is how they are drawn:
sparse line drawings (little ink in their box, no filled areas, almost no colour), all of one
stroke width, and most of them holding a ring (a hexagon or pentagon closes background about a
bond long on each side, far larger than the hole of a letter, far smaller than a chart's frame).
Charts have frames, bars and coloured series, micrographs are dense, trees and flow charts close
no ring of that size.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable

import numpy as np

from .components import connected_components, row_runs


@dataclass
class DrawingConfig:
    max_fill: float = 0.2  # a line drawing's ink covers at most this share of its box
    max_thick: float = 0.2  # ... and at most this share of its ink is in strokes over twice its width (fills)
    max_colour: float = 0.2  # ... and at most this share of its ink is coloured (a chart's series)
    max_width: float = 0.5  # ... and its strokes are at most this many glyph heights wide (no bars)
    max_upright: float = 6.0  # ... and no upright line is longer than this many glyph heights (a chart's axis)
    colour_step: int = 60  # channels this far apart make a pixel coloured
    width_spread: float = 1.0  # pixels: the pieces of one scheme are drawn with one stroke width
    ring_min: float = 1.2  # a ring's hole is at least this many glyph heights across both ways ...
    ring_max: float = 8.0  # ... and at most this many
    ring_aspect: float = 2.0  # ... and at most this much longer one way than the other
    ring_share: float = 0.5  # at least this share of the pieces hold a ring (none, when the caption names a scheme)
    # A caption naming a scheme, a synthesis or structures already says what the pieces are: no
    # ring is needed (chains: a lipid synthesis), the upright arrows between a scheme's rows may
    # be this long, and this much of the ink coloured (atoms drawn red, blue, green)
    caption_upright: float = 14.0
    axis_length: float = 5.0  # glyph heights: an upright and a level line this long that meet are a chart's axes
    caption_colour: float = 0.3


def run_lengths(mask: np.ndarray) -> np.ndarray:
    """For every pixel of a 2-D boolean array, the length of the run of True it lies in along its
    row (0 off the runs)."""
    _, starts, ends = row_runs(mask)
    out = np.zeros(mask.shape, dtype=np.int32)
    # the runs come in row-major order, as boolean indexing takes the pixels they cover
    out[mask] = np.repeat(ends - starts, ends - starts)
    return out


def stroke_width(mask: np.ndarray, planes: np.ndarray, glyph: float, config: DrawingConfig) -> float | None:
    """The stroke width (pixels) of the piece whose ink is ``mask`` (its pixels ``planes``,
    channels first) when it is sparse black line art (little ink in its box, no upright line
    longer than a few bonds and none meeting a long level line as a chart's axes do, thin strokes,
    no filled areas, little colour), else None; ``glyph``
    is the figure's text height in pixels."""
    ink = mask.astype(bool, copy=False)
    if not ink.any() or ink.mean() > config.max_fill:
        return None
    px = planes[:, ink]
    if ((px.max(axis=0) - px.min(axis=0)) > config.colour_step).mean() > config.max_colour:
        return None
    upright = run_lengths(ink.T).T
    # a bond is a few glyph heights long; a chart's axis or frame, a tree's stem are longer
    if upright.max() > config.max_upright * glyph:
        return None
    level = run_lengths(ink)
    if _axes(upright, level, config.axis_length * glyph):
        return None
    # a pixel's stroke is as thick as its shorter run across (rows or columns)
    thick = np.minimum(level, upright)[ink]
    width = float(np.median(thick))
    if width > config.max_width * glyph or (thick > max(2 * width, width + 2)).mean() > config.max_thick:
        return None
    return width


def _axes(upright: np.ndarray, level: np.ndarray, length: float) -> bool:
    """Whether an upright and a level line, both at least ``length`` pixels long, meet (within
    2 px): a chart's axes or frame. A scheme's arrows and bonds do not meet so (its upright
    arrows run between rows of structures)."""
    near = upright >= length
    if not near.any() or not (level >= length).any():
        return False
    grown = near.copy()
    for k in (1, 2):  # 2 px each way
        grown[k:] |= near[:-k]
        grown[:-k] |= near[k:]
        grown[:, k:] |= near[:, :-k]
        grown[:, :-k] |= near[:, k:]
    return bool((grown & (level >= length)).any())


def rings(mask: np.ndarray, glyph: float, config: DrawingConfig) -> int:
    """The holes of the background inside the piece whose ink is ``mask`` (not reaching its edge)
    the size of a ring; ``glyph`` is the figure's text height in pixels."""
    ink = mask.astype(bool, copy=False)
    # widened one pixel along the rows, a stroke has no diagonal step the background (8-connected
    # components) could slip through
    closed = ink.copy()
    closed[:, 1:] |= ink[:, :-1]
    holes = connected_components(~closed)
    h, w = ink.shape
    inner = (holes.x0 > 0) & (holes.y0 > 0) & (holes.x1 < w) & (holes.y1 < h)
    hh, hw = holes.y1 - holes.y0, holes.x1 - holes.x0
    lo, hi = config.ring_min * glyph, config.ring_max * glyph
    sized = (np.minimum(hh, hw) >= lo) & (np.maximum(hh, hw) <= hi)
    round_ = np.maximum(hh, hw) <= config.ring_aspect * np.minimum(hh, hw)
    return int((inner & sized & round_).sum())


def is_scheme(pieces: Iterable[tuple[np.ndarray, np.ndarray]], glyph: float, config: DrawingConfig,
              scheme_caption: bool = False) -> bool:
    """Whether the pieces (each its ink mask and its pixels, channels first) are one chemistry
    scheme (structures, reactions), not panels: two or more, all sparse black line art of one
    stroke width, and most holding a ring (a caption naming a scheme, a synthesis or structures
    needs none, and allows longer upright arrows and more colour: ``caption_upright``,
    ``caption_colour``). Stops at the first piece that is no line art (most figures' first)."""
    limits = replace(config, max_upright=config.caption_upright, max_colour=config.caption_colour) if scheme_caption else config
    masks, widths = [], []
    for mask, planes in pieces:
        width = stroke_width(mask, planes, glyph, limits)
        if width is None:
            return False
        masks.append(mask)
        widths.append(width)
    if len(widths) < 2 or max(widths) - min(widths) > config.width_spread:
        return False
    if scheme_caption:
        return True
    ringed = sum(rings(mask, glyph, config) > 0 for mask in masks)
    return ringed >= config.ring_share * len(masks)


_SCHEME_WORDS = re.compile(
    r"\b(schemes?|synthe(?:sis|ses|tic|si[sz]ed)|(?:chemical|molecular) structures?"
    r"|structures? of (?:the )?(?:compounds?|molecules?|derivatives?|analogues?|analogs?))\b",
    re.IGNORECASE)


def names_scheme(caption: str | None) -> bool:
    """Whether a caption says its figure is a chemistry scheme: a scheme, a synthesis, chemical
    structures."""
    return bool(caption) and _SCHEME_WORDS.search(caption) is not None


# what a caption's first sentence calls a figure that is one drawing of boxes and arrows
# (singular only: "Venn diagrams of ...", "flow charts of ...", "schematic drawings of ..." name
# several drawings, often panels)
_DIAGRAM_WORDS = re.compile(
    r"\b(flow[- ]?chart|flow diagram|schematic(?! \w+s\b)|conceptual framework|venn diagram|consort)\b(?!s)",
    re.IGNORECASE)
_FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s")


def names_diagram(caption: str | None) -> bool:
    """Whether a caption's first sentence says its figure is a flow chart, a schematic, a
    conceptual framework or a Venn diagram: one drawing of boxes, arrows and text. (Further on,
    "A Venn diagram of ..." is one panel's subcaption.)"""
    if not caption:
        return False
    return _DIAGRAM_WORDS.search(_FIRST_SENTENCE.split(caption, maxsplit=1)[0]) is not None
