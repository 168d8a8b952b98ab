"""The CPU subfigure splitter: recursive XY-cut on a background mask, with straight
colour edges as the cut for panels that touch (no gap). The default detector when no model
is configured; needs only numpy and Pillow.

How it works: the background colour is the most common colour of the image border; a pixel
is foreground when any channel differs from it by more than ``tolerance``. A region is cut at
every run of (near-)empty rows or columns spanning it; pieces too thin to be panels (a tick
label strip, a detached panel letter) are merged back into the neighbour across the narrower
gap; each piece is cut again until no cut leaves at least two panel-sized pieces. In a figure
with no gap at all, regions are cut where the colour steps along most of a line (panels that
touch), never at a thin drawn line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image, ImageChops

from .boxes import Box, whole

Region = tuple[int, int, int, int]  # x0, y0, x1, y1 in working pixels


@dataclass
class SplitterConfig:
    max_side: int = 1024  # larger images are reduced first (speed); boxes are mapped back
    tolerance: int = 16  # per-channel difference from the background that counts as ink
    noise: float = 0.0  # share of ink allowed in a gap line (a thin axis line joins panel parts)
    min_gap: int = 2  # pixels (working scale)
    min_panel: int = 16  # pixels: thinner pieces are never panels
    min_panel_share: float = 0.3  # pieces thinner than this share of the largest sibling merge back
    edge_threshold: int = 40  # colour step across a panel boundary
    edge_coverage: float = 0.9  # share of a touching-panel boundary that steps or is blank
    edge_min_step: float = 0.7  # share of it that must step
    edge_reach: int = 3  # pixels each side of a boundary compared (thin lines are not boundaries)
    gap_floor_share: float = 0.75  # below the top level, cut only gaps this share of the narrowest top-level gutter
    max_depth: int = 6


class ClassicalSplitter:
    """``detect(images) -> list[list[Box]]``; one box for the whole image when no split is found."""

    name = "classical-xycut"

    def __init__(self, config: SplitterConfig | None = None):
        self.config = config or SplitterConfig()

    def detect(self, images: Sequence[Image.Image]) -> list[list[Box]]:
        return [self.split(im) for im in images]

    def split(self, image: Image.Image) -> list[Box]:
        cfg = self.config
        rgb = image.convert("RGB")
        scale = 1.0
        if max(rgb.size) > cfg.max_side:
            scale = max(rgb.size) / cfg.max_side
            rgb = rgb.resize((max(1, round(rgb.width / scale)), max(1, round(rgb.height / scale))), Image.BOX)
        pixels = np.asarray(rgb)
        ink = ink_mask(rgb, pixels, cfg.tolerance)
        regions = _Cutter(pixels, ink, cfg).run()
        if len(regions) < 2:
            return [whole(image, 0.0)]
        boxes = [Box(x0 * scale, y0 * scale, x1 * scale, y1 * scale, 1.0).clipped(image.width, image.height)
                 for x0, y0, x1, y1 in regions]
        return sorted(boxes, key=lambda b: (b.y0, b.x0))


def _mode_color(colors: np.ndarray) -> np.ndarray:
    """Mean of the most common colour (quantised to steps of 8) among ``colors`` (n, 3)."""
    q = colors.astype(np.int64) // 8
    keys = (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    return colors[keys == values[np.argmax(counts)]].mean(axis=0)


def background_color(pixels: np.ndarray, tolerance: int = 16) -> np.ndarray:
    """The colour of the gutters: the most common colour among full-length rows and columns
    of one flat colour (every layout with gaps has one), else of the image border."""
    lines = []
    pixels = pixels[::2, ::2]  # a quarter of the pixels finds the flat lines as well
    for axis in (1, 0):  # rows, then columns
        flat = (pixels.max(axis=axis) - pixels.min(axis=axis)).max(axis=1) <= tolerance
        if flat.any():
            lines.append(pixels.mean(axis=axis)[flat])
    if lines:
        return _mode_color(np.concatenate(lines))
    return _mode_color(np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]))


def ink_mask(image: Image.Image, pixels: np.ndarray, tolerance: int) -> np.ndarray:
    """1 where a pixel differs from the background colour by more than ``tolerance``."""
    bg = tuple(int(round(v)) for v in background_color(pixels, tolerance))
    diff = ImageChops.difference(image, Image.new("RGB", image.size, bg)).split()
    strongest = ImageChops.lighter(ImageChops.lighter(diff[0], diff[1]), diff[2])
    return (np.asarray(strongest) > tolerance).astype(np.uint8)


def _runs(empty: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True values."""
    padded = np.concatenate([[False], empty, [False]]).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


class _Cutter:
    def __init__(self, pixels: np.ndarray, ink: np.ndarray, cfg: SplitterConfig):
        self.pixels, self.ink, self.cfg = pixels, ink, cfg
        h, w = ink.shape
        self.min_panel = max(cfg.min_panel, int(0.04 * min(h, w)))
        self.gap_floor = cfg.min_gap
        self._last_gutters: list[int] = []

    def run(self) -> list[Region]:
        h, w = self.ink.shape
        root = self._trim((0, 0, w, h))
        if not root:
            return []
        # Colour edges inside a figure whose panels are separated by gaps are panel content
        # (heatmap cells, plot frames): cut at edges only where the figure has no gap at all.
        self.gap_floor = self.cfg.min_gap
        top = next((p for p in self._gap_cuts(root) if len(p) >= 2), None)
        self.use_edges = top is None
        if top is not None and self.cfg.gap_floor_share:
            # Gutters of one figure are alike: whitespace much narrower than the narrowest
            # top-level gutter is inside a panel (between a plot and its tick labels...).
            self.gap_floor = max(self.cfg.min_gap, int(self.cfg.gap_floor_share * min(self._last_gutters)))
        return self._cut(root, 0)

    def _trim(self, r: Region) -> Region | None:
        x0, y0, x1, y1 = r
        sub = self.ink[y0:y1, x0:x1]
        rows, cols = np.flatnonzero(sub.any(axis=1)), np.flatnonzero(sub.any(axis=0))
        if rows.size == 0:
            return None
        return x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1

    def _cut(self, r: Region, depth: int) -> list[Region]:
        if depth >= self.cfg.max_depth:
            return [r]
        for pieces in self._candidates(r):
            if len(pieces) >= 2:
                out: list[Region] = []
                for p in pieces:
                    out.extend(self._cut(p, depth + 1))
                return out
        return [r]

    def _candidates(self, r: Region):
        """Cuts to try, best first: gap cuts on the axis with the widest gap, then the other
        axis, then (figures without gaps only) colour-edge cuts."""
        yield from self._gap_cuts(r)
        if self.use_edges:
            for axis in (0, 1):
                edges = self._edges(r, axis)
                if edges:
                    yield self._pieces(r, axis, edges)

    def _gap_cuts(self, r: Region):
        x0, y0, x1, y1 = r
        sub = self.ink[y0:y1, x0:x1]
        gaps = {axis: self._gaps(sub, axis) for axis in (0, 1)}
        order = sorted((0, 1), key=lambda a: -max((e - s for s, e in gaps[a]), default=0))
        for axis in order:
            if gaps[axis]:
                yield self._pieces(r, axis, gaps[axis])

    def _gaps(self, sub: np.ndarray, axis: int) -> list[tuple[int, int]]:
        """Runs of near-empty lines across ``sub``: axis 0 = horizontal gaps (rows), 1 = vertical."""
        profile = sub.sum(axis=1 - axis)
        length = sub.shape[1 - axis]
        empty = profile <= self.cfg.noise * length
        return [(s, e) for s, e in _runs(empty) if e - s >= self.gap_floor and s > 0 and e < len(profile)]

    def _edges(self, r: Region, axis: int) -> list[tuple[int, int]]:
        """Lines where panels touch, as zero-width gaps [k, k): the colour differs between the
        pixels ``edge_reach`` before and after the line along most of it (so a thin drawn
        line, such as a plot axis, is no boundary), and the rest of the line is background."""
        x0, y0, x1, y1 = r
        px = self.pixels[y0:y1, x0:x1].astype(np.int16)
        ink = self.ink[y0:y1, x0:x1]
        d = self.cfg.edge_reach
        if (px.shape[0] if axis == 0 else px.shape[1]) <= 2 * d:
            return []
        if axis == 0:
            step = np.abs(px[2 * d:] - px[:-2 * d]).max(axis=2) > self.cfg.edge_threshold
            blank = (ink[2 * d:] == 0) & (ink[:-2 * d] == 0)
        else:
            step = np.abs(px[:, 2 * d:] - px[:, :-2 * d]).max(axis=2) > self.cfg.edge_threshold
            blank = (ink[:, 2 * d:] == 0) & (ink[:, :-2 * d] == 0)
        along = 1 - axis
        stepping = step.mean(axis=along)
        coverage = (step | blank).mean(axis=along)
        lines = np.flatnonzero((coverage >= self.cfg.edge_coverage) & (stepping >= self.cfg.edge_min_step)) + d
        return [(int(k), int(k)) for k in lines]

    def _pieces(self, r: Region, axis: int, gaps: list[tuple[int, int]]) -> list[Region]:
        """Cut ``r`` at ``gaps`` along ``axis``, merge too-thin pieces, trim each to its ink."""
        x0, y0, x1, y1 = r
        lo, hi = (y0, y1) if axis == 0 else (x0, x1)
        bounds, start = [], 0
        for s, e in gaps:
            if s > start:
                bounds.append([start, s])
            start = e
        bounds.append([start, hi - lo])
        bounds = [b for b in bounds if b[1] > b[0]]
        bounds = self._merge_thin(bounds)
        self._last_gutters = [b[0] - a[1] for a, b in zip(bounds, bounds[1:])]
        pieces = []
        for s, e in bounds:
            region = (x0, y0 + s, x1, y0 + e) if axis == 0 else (x0 + s, y0, x0 + e, y1)
            trimmed = self._trim(region)
            if trimmed:
                pieces.append(trimmed)
        return pieces

    def _merge_thin(self, bounds: list[list[int]]) -> list[list[int]]:
        while len(bounds) >= 2:
            sizes = [e - s for s, e in bounds]
            floor = max(self.min_panel, self.cfg.min_panel_share * max(sizes))
            k = int(np.argmin(sizes))
            if sizes[k] >= floor:
                break
            # join the thin piece to the neighbour across the narrower gap
            left_gap = bounds[k][0] - bounds[k - 1][1] if k > 0 else None
            right_gap = bounds[k + 1][0] - bounds[k][1] if k + 1 < len(bounds) else None
            j = k - 1 if right_gap is None or (left_gap is not None and left_gap <= right_gap) else k + 1
            a, b = sorted((k, j))
            bounds[a:b + 1] = [[bounds[a][0], bounds[b][1]]]
        return bounds
