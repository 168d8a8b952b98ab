"""A figure as ink on a background: the working-scale pixels, how far each pixel is from the
background colour, and summed-area tables so any rectangle's ink is counted in O(1) and any
rectangle's row or column profile in O(side)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from PIL import Image, ImageChops


_FRAME = 6  # pixels: the widest frame around a figure that is told from its gutters


def _mode_color(colors: np.ndarray) -> np.ndarray:
    """Mean of the most common colour (quantised to steps of 8) among ``colors`` (n, 3)."""
    q = colors.astype(np.int64) // 8
    keys = (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    return colors[keys == values[np.argmax(counts)]].mean(axis=0)


def background_color(pixels: np.ndarray, tolerance: int = 16) -> np.ndarray:
    """The colour of the gutters: the most common colour among full-length rows and columns
    of one flat colour (every layout with gaps has one), else of the image border. When the
    only such lines are the outer few, they are a frame drawn around the figure: the lines
    inside it are used. When those lines are the rules of a table ruled all over, the colour of
    the page under them (`_page_under_rules`)."""
    # a ninth of the pixels finds the flat lines as well; one plane per channel, so that every
    # reduction runs along a contiguous axis
    full, pixels = pixels, pixels[::3, ::3]
    planes = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    m = _FRAME // 3
    lines = _flat_lines(planes, tolerance, m)
    if not lines and min(planes.shape[1:]) > 4 * m:
        lines = _flat_lines(planes[:, m:-m, m:-m], tolerance, 0)
    if lines:
        line = _mode_color(np.concatenate(lines))
        page = _page_under_rules(full, pixels, line, tolerance)
        return line if page is None else page
    return _mode_color(np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]))


_PAGE_SHARE = 0.5  # a colour covering this share of a figure is its page ...
_RULE_SHARE = 0.1  # ... when the flat lines' colour covers less than this: they are drawn rules
_RULE_WIDTH = 3  # pixels: ... none wider (a gutter is) ...
_GRID_RULES = 6  # ... and more of them than this across the figure: a table's grid, not panels' frames


def _page_under_rules(full: np.ndarray, pixels: np.ndarray, line: np.ndarray, tolerance: int) -> np.ndarray | None:
    """The page colour under the flat full-length lines of colour ``line`` when they are the
    rules of a table, else None. A table ruled all over (a grid of dark rules over every row and
    column) has no blank line, so its flat lines are its rules: thin, covering little of the
    figure, more than the frames of a grid of touching panels (up to 5 x 5 panels: 6 lines
    across), with a lighter colour covering most of the figure, the page (``pixels``: a ninth of
    the figure's ``full`` pixels, enough to find the colours). (The white hairlines of a montage
    of dark images stay its gutters: the images are darker than the hairlines.)"""
    if line.mean() >= 255 - 2 * tolerance:
        return None  # nothing is lighter: the common white gutters, decided without a look
    flat = pixels.reshape(-1, 3)
    page = _mode_color(flat)
    if page.mean() - line.mean() <= 2 * tolerance:
        return None
    def share(color: np.ndarray) -> float:
        return float((np.abs(flat - color).max(axis=1) <= tolerance).mean())
    if share(page) < _PAGE_SHARE or share(line) >= _RULE_SHARE:
        return None
    return page if _rule_grid(full, tolerance) else None


def _rule_grid(pixels: np.ndarray, tolerance: int) -> bool:
    """Whether the full-length flat lines of ``pixels`` are a table's grid: every run of them
    (rows, then columns) at most ``_RULE_WIDTH`` lines wide (rules, not gutters: a black gutter
    between white panels is wider), and more than ``_GRID_RULES`` runs one way."""
    planes = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    most = 0
    for axis in (2, 1):
        flat = (planes.max(axis=axis) - planes.min(axis=axis)).max(axis=0) <= tolerance
        edges = np.diff(np.concatenate([[0], flat.astype(np.int8), [0]]))
        widths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        if (widths > _RULE_WIDTH).any():
            return False
        most = max(most, widths.size)
    return most > _GRID_RULES


def _flat_lines(planes: np.ndarray, tolerance: int, margin: int) -> list[np.ndarray]:
    """Colours of the full-length rows and columns of one flat colour (``planes``: one (h, w)
    plane per channel); none unless one of them lies more than ``margin`` lines inside the border."""
    lines, inside = [], False
    for axis in (2, 1):  # rows (reduced along x), then columns
        flat = (planes.max(axis=axis) - planes.min(axis=axis)).max(axis=0) <= tolerance
        where = np.flatnonzero(flat)
        if where.size:
            lines.append(planes.take(where, axis=3 - axis).mean(axis=axis).T)
            inside |= bool(((where >= margin) & (where < flat.size - margin)).any())
    return lines if inside else []


class SummedArea:
    """Counts of True pixels of a mask over any rectangle, in O(1)."""

    def __init__(self, mask: np.ndarray):
        h, w = mask.shape
        self.height, self.width = h, w
        self.table = np.zeros((h + 1, w + 1), dtype=np.int32)
        inner = self.table[1:, 1:]
        # rows first, straight from the mask, then down in place: half the time of the other order
        np.cumsum(mask, axis=1, dtype=np.int32, out=inner)
        np.cumsum(inner, axis=0, out=inner)

    def count(self, x0: int, y0: int, x1: int, y1: int) -> int:
        """True pixels in [x0, x1) x [y0, y1) (clipped to the mask)."""
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(self.width, x1), min(self.height, y1)
        if x1 <= x0 or y1 <= y0:
            return 0
        t = self.table
        return int(t[y1, x1] - t[y0, x1] - t[y1, x0] + t[y0, x0])

    def counts(self, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
        """`count` of many rectangles at once (arrays of their corners)."""
        x0, x1 = np.clip(x0, 0, self.width), np.clip(x1, 0, self.width)
        y0, y1 = np.clip(y0, 0, self.height), np.clip(y1, 0, self.height)
        x1, y1 = np.maximum(x0, x1), np.maximum(y0, y1)
        t = self.table
        return t[y1, x1] - t[y0, x1] - t[y1, x0] + t[y0, x0]


@dataclass
class InkMap:
    """``strength``: per pixel, the largest channel difference from the background (0-255);
    ``mask``: strength above the tolerance. ``scale``: original pixels per working pixel."""

    pixels: np.ndarray
    strength: np.ndarray
    mask: np.ndarray
    scale: float
    area: SummedArea = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.area = SummedArea(self.mask)

    @cached_property
    def planes(self) -> np.ndarray:
        """``pixels`` as one (height, width) plane per channel: reductions over the channels,
        or along a line of one channel, then run over contiguous memory."""
        return np.ascontiguousarray(self.pixels.transpose(2, 0, 1))

    @property
    def height(self) -> int:
        return int(self.mask.shape[0])

    @property
    def width(self) -> int:
        return int(self.mask.shape[1])

    def count(self, x0: int, y0: int, x1: int, y1: int) -> int:
        """Ink pixels in [x0, x1) x [y0, y1) (clipped to the image)."""
        return self.area.count(x0, y0, x1, y1)

    def row_profile(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Ink per row y0..y1-1 within columns [x0, x1)."""
        t = self.area.table
        inside = t[y0:y1 + 1, x1] - t[y0:y1 + 1, x0]
        return np.diff(inside)

    def col_profile(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Ink per column x0..x1-1 within rows [y0, y1)."""
        t = self.area.table
        inside = t[y1, x0:x1 + 1] - t[y0, x0:x1 + 1]
        return np.diff(inside)


def ink_map(image: Image.Image, max_side: int, tolerance: int) -> InkMap:
    """The ink of ``image`` at a working scale whose longest side is at most ``max_side``."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    scale = 1.0
    if max(rgb.size) > max_side:
        scale = max(rgb.size) / max_side
        rgb = rgb.resize((max(1, round(rgb.width / scale)), max(1, round(rgb.height / scale))), Image.BOX)
    pixels = np.asarray(rgb)
    bg = tuple(int(round(v)) for v in background_color(pixels, tolerance))
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, bg)).split()
    strength = np.asarray(ImageChops.lighter(ImageChops.lighter(diff[0], diff[1]), diff[2]))
    return InkMap(pixels, strength, strength > tolerance, scale)
