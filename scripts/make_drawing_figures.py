"""Draw charts and diagrams the way articles show them, with their truth, for fitting only.

The development set holds about two charts for every diagram, and 72 of its diagrams are the trees
of one source (docs/taxonomy.md, round 17 of the labeler), so a chart-or-diagram statistic fitted on
it learns sources. This script draws, with Pillow alone (nothing new to install), many styles of
both: charts (bar, line, scatter, box, Kaplan-Meier, heat map, forest plot, pie, ROC; with and
without frames, grids, legends, colours; one panel or a grid of lettered panels) and diagrams
(flow charts, boxes and arrows, cycles, pathway drawings with ellipses, arrows and inhibition bars
on a membrane, timelines, schematic layouts with text, trees, networks, Venn diagrams). It writes
the PNGs and a labels file in the format of ``tests/data/figures/labels.json`` (primary *Plots and
Charts* or *Illustrative Diagrams*, no caption). Drawn figures teach what such figures look like;
they measure nothing about real ones, and `scripts/fit_content_model.py` never scores them.

    python scripts/make_drawing_figures.py --count 600 --out /tmp/drawings
"""
from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path
from typing import Callable

from PIL import Image, ImageDraw, ImageFont

WORDS = ("cell", "gene", "TNF", "IL-6", "p53", "AKT", "mTOR", "NF-kB", "ERK", "MAPK", "RAS", "STAT3", "JAK",
         "insulin", "glucose", "ATP", "ROS", "DNA", "RNA", "protein", "patients", "control", "treated", "sample",
         "model", "input", "output", "data", "score", "analysis", "screening", "excluded", "included", "follow-up",
         "baseline", "week", "dose", "group A", "group B", "receptor", "ligand", "kinase", "nucleus", "membrane",
         "apoptosis", "growth", "survival", "training", "validation", "test set", "features", "classifier")
PALETTES = (
    ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)),
    ((228, 26, 28), (55, 126, 184), (77, 175, 74), (152, 78, 163), (255, 127, 0), (166, 86, 40)),
    ((0, 0, 0), (90, 90, 90), (150, 150, 150), (200, 200, 200), (60, 60, 60), (120, 120, 120)),
    ((27, 158, 119), (217, 95, 2), (117, 112, 179), (231, 41, 138), (102, 166, 30), (230, 171, 2)),
    ((0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233), (240, 228, 66)),
)
PASTELS = ((255, 242, 204), (218, 232, 252), (213, 232, 212), (248, 206, 204), (225, 213, 231), (255, 230, 204),
           (240, 240, 240), (255, 255, 255))

Box = tuple[int, int, int, int]


def _font(size: float) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=max(int(size), 6))


def _word(rng: random.Random, words: int = 1) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


class Style:
    """The look shared by a figure's panels: colours, line width, font size, frames, grids."""

    def __init__(self, rng: random.Random) -> None:
        self.colours = list(rng.choice(PALETTES))
        rng.shuffle(self.colours)
        self.line = rng.choice((1, 1, 2, 2, 3))
        self.text = rng.uniform(11, 20)
        self.frame = rng.random() < 0.4  # a closed box round the plot (MATLAB, R base graphics)
        self.grid = rng.random() < 0.3
        self.legend = rng.random() < 0.5
        self.pastel = rng.random() < 0.6
        self.ink = (0, 0, 0) if rng.random() < 0.8 else (60, 60, 60)


# ---------------------------------------------------------------- charts

def _axes(d: ImageDraw.ImageDraw, box: Box, s: Style, rng: random.Random, xticks: int, yticks: int,
          xlabels: list[str] | None = None) -> Box:
    """Axes, ticks, tick labels and titles in ``box``; returns the plot area."""
    x0, y0, x1, y1 = box
    f = _font(s.text * 0.8)
    left, bottom = x0 + int(s.text * 3.2), y1 - int(s.text * 2.8)
    top, right = y0 + int(s.text * 0.8), x1 - int(s.text * 0.6)
    if s.grid:
        for i in range(1, yticks):
            y = bottom - (bottom - top) * i // yticks
            d.line((left, y, right, y), fill=(220, 220, 220), width=1)
    d.line((left, top, left, bottom), fill=s.ink, width=s.line)
    d.line((left, bottom, right, bottom), fill=s.ink, width=s.line)
    if s.frame:
        d.line((left, top, right, top), fill=s.ink, width=s.line)
        d.line((right, top, right, bottom), fill=s.ink, width=s.line)
    tick = max(3, int(s.text * 0.35))
    for i in range(yticks + 1):
        y = bottom - (bottom - top) * i // yticks
        d.line((left - tick, y, left, y), fill=s.ink, width=1)
        d.text((left - tick - 2, y), f"{i * rng.choice((1, 2, 5, 10, 20))}" if i else "0", fill=s.ink, font=f, anchor="rm")
    for i in range(xticks + 1):
        x = left + (right - left) * i // xticks
        if xlabels is None:
            d.line((x, bottom, x, bottom + tick), fill=s.ink, width=1)
            d.text((x, bottom + tick + 1), str(i * 10), fill=s.ink, font=f, anchor="ma")
    if xlabels:
        step = (right - left) / len(xlabels)
        for i, name in enumerate(xlabels):
            d.text((left + step * (i + 0.5), bottom + tick + 1), name, fill=s.ink, font=f, anchor="ma")
    d.text(((left + right) // 2, y1 - 1), _word(rng), fill=s.ink, font=_font(s.text * 0.9), anchor="md")
    return left + s.line, top, right, bottom - s.line


def _legend(d: ImageDraw.ImageDraw, area: Box, s: Style, n: int, rng: random.Random) -> None:
    if not s.legend:
        return
    f = _font(s.text * 0.75)
    x, y = area[2] - int(s.text * 6), area[1] + 4
    for i in range(n):
        d.rectangle((x, y + i * s.text, x + s.text * 0.6, y + i * s.text + s.text * 0.6), fill=s.colours[i % 6])
        d.text((x + s.text, y + i * s.text), _word(rng), fill=s.ink, font=f)


def bar_chart(d, box, s, rng):
    groups, series = rng.randint(2, 7), rng.choice((1, 1, 2, 3))
    names = [_word(rng) for _ in range(groups)]
    x0, y0, x1, y1 = _axes(d, box, s, rng, groups, rng.randint(3, 6), names)
    step = (x1 - x0) / groups
    width = step * rng.uniform(0.5, 0.85) / series
    for g in range(groups):
        for k in range(series):
            h = rng.uniform(0.1, 0.95) * (y1 - y0)
            left = x0 + g * step + (step - width * series) / 2 + k * width
            fill = s.colours[k] if series > 1 or rng.random() < 0.5 else s.colours[0]
            d.rectangle((left, y1 - h, left + width - 1, y1), fill=fill if rng.random() < 0.9 else None, outline=s.ink)
            if rng.random() < 0.6:  # error bars
                e = rng.uniform(0.02, 0.12) * (y1 - y0)
                c = left + width / 2
                d.line((c, y1 - h - e, c, y1 - h + e), fill=s.ink)
                d.line((c - width / 4, y1 - h - e, c + width / 4, y1 - h - e), fill=s.ink)
    _legend(d, (x0, y0, x1, y1), s, series, rng)


def line_chart(d, box, s, rng):
    x0, y0, x1, y1 = _axes(d, box, s, rng, rng.randint(3, 8), rng.randint(3, 6))
    series, points = rng.randint(1, 4), rng.randint(5, 40)
    for k in range(series):
        v = rng.uniform(0.2, 0.8)
        pts = []
        for i in range(points):
            v = min(max(v + rng.gauss(0, 0.08), 0.02), 0.98)
            pts.append((x0 + (x1 - x0) * i / (points - 1), y1 - v * (y1 - y0)))
        d.line(pts, fill=s.colours[k], width=s.line + 1)
        if points < 15 and rng.random() < 0.6:
            r = s.text * 0.25
            for x, y in pts:
                d.ellipse((x - r, y - r, x + r, y + r), fill=s.colours[k])
    _legend(d, (x0, y0, x1, y1), s, series, rng)


def scatter_chart(d, box, s, rng):
    x0, y0, x1, y1 = _axes(d, box, s, rng, rng.randint(3, 6), rng.randint(3, 6))
    groups = rng.randint(1, 3)
    r = rng.uniform(1.5, 4)
    slope = rng.uniform(-0.8, 0.8)
    for k in range(groups):
        for _ in range(rng.randint(20, 200)):
            u = rng.random()
            v = min(max(0.5 + slope * (u - 0.5) + rng.gauss(0, 0.15), 0.02), 0.98)
            x, y = x0 + u * (x1 - x0), y1 - v * (y1 - y0)
            d.ellipse((x - r, y - r, x + r, y + r), fill=s.colours[k] if rng.random() < 0.8 else None, outline=s.colours[k])
    if rng.random() < 0.5:
        d.line((x0, y1 - (0.5 - slope / 2) * (y1 - y0), x1, y1 - (0.5 + slope / 2) * (y1 - y0)), fill=s.ink, width=s.line)
    _legend(d, (x0, y0, x1, y1), s, groups, rng)


def box_chart(d, box, s, rng):
    groups = rng.randint(2, 6)
    x0, y0, x1, y1 = _axes(d, box, s, rng, groups, rng.randint(3, 6), [_word(rng) for _ in range(groups)])
    step = (x1 - x0) / groups
    for g in range(groups):
        c = x0 + step * (g + 0.5)
        q = sorted(rng.uniform(0.05, 0.95) for _ in range(5))
        y = [y1 - v * (y1 - y0) for v in q]
        w = step * 0.3
        d.line((c, y[0], c, y[4]), fill=s.ink)
        d.rectangle((c - w, y[3], c + w, y[1]), fill=s.colours[g % 6] if s.pastel else None, outline=s.ink, width=s.line)
        d.line((c - w, y[2], c + w, y[2]), fill=s.ink, width=s.line + 1)
        for v in (y[0], y[4]):
            d.line((c - w / 2, v, c + w / 2, v), fill=s.ink)
        if rng.random() < 0.5:
            for _ in range(rng.randint(5, 25)):
                px, py = c + rng.uniform(-w, w), y1 - rng.uniform(q[0], q[4]) * (y1 - y0)
                d.ellipse((px - 2, py - 2, px + 2, py + 2), fill=s.ink)


def km_chart(d, box, s, rng):
    x0, y0, x1, y1 = _axes(d, box, s, rng, rng.randint(4, 8), 5)
    for k in range(rng.randint(2, 3)):
        v, x = 1.0, x0
        pts = [(x0, y0)]
        while x < x1:
            dx = rng.uniform(0.01, 0.08) * (x1 - x0)
            x = min(x + dx, x1)
            pts.append((x, y1 - v * (y1 - y0)))
            if rng.random() < 0.3:
                d.line((x, y1 - v * (y1 - y0) - 4, x, y1 - v * (y1 - y0) + 4), fill=s.colours[k])  # censored
            v *= rng.uniform(0.85, 1.0)
            pts.append((x, y1 - v * (y1 - y0)))
        d.line(pts, fill=s.colours[k], width=s.line + 1)
    _legend(d, (x0, y0, x1, y1), s, 2, rng)


def heat_map(d, box, s, rng):
    x0, y0, x1, y1 = box
    rows, cols = rng.randint(5, 40), rng.randint(4, 30)
    f = _font(s.text * 0.7)
    left, top = x0 + int(s.text * (3 if rng.random() < 0.7 else 0.5)), y0 + int(s.text * 0.5)
    right, bottom = x1 - int(s.text * 3), y1 - int(s.text * 2)
    if rng.random() < 0.4:  # a dendrogram on the left
        _tree(d, (x0, top, left, bottom), s, rng, leaves=min(rows, 12), horizontal=True)
        left += int(s.text * 2)
    low, high = rng.choice((((49, 54, 149), (165, 0, 38)), ((255, 255, 255), (200, 0, 0)), ((0, 0, 120), (255, 255, 0))))
    ch, cw = (bottom - top) / rows, (right - left) / cols
    for r in range(rows):
        for c in range(cols):
            t = rng.random()
            col = tuple(int(a + (b - a) * t) for a, b in zip(low, high))
            d.rectangle((left + c * cw, top + r * ch, left + (c + 1) * cw, top + (r + 1) * ch), fill=col,
                        outline=(255, 255, 255) if rng.random() < 0.3 and cw > 6 else None)
    for i in range(10):  # colour bar
        t = i / 9
        col = tuple(int(a + (b - a) * t) for a, b in zip(low, high))
        d.rectangle((right + 6, bottom - (i + 1) * (bottom - top) / 10, right + 14, bottom - i * (bottom - top) / 10), fill=col)
    if rows < 20:
        for r in range(rows):
            if rng.random() < 0.2:
                d.text((right + 18, top + (r + 0.5) * ch), _word(rng), fill=s.ink, font=f, anchor="lm")


def forest_plot(d, box, s, rng):
    x0, y0, x1, y1 = box
    rows = rng.randint(4, 15)
    f = _font(s.text * 0.8)
    split = x0 + (x1 - x0) * rng.uniform(0.35, 0.5)
    h = (y1 - y0 - s.text * 3) / (rows + 1)
    centre = split + (x1 - split) * 0.45
    d.line((centre, y0, centre, y1 - s.text * 2), fill=s.ink, width=1)
    for r in range(rows):
        y = y0 + (r + 0.5) * h
        d.text((x0 + 4, y), f"{_word(rng)} {2000 + rng.randint(0, 24)}", fill=s.ink, font=f, anchor="lm")
        m = centre + rng.gauss(0, 0.15) * (x1 - split)
        e = rng.uniform(0.03, 0.15) * (x1 - split)
        d.line((m - e, y, m + e, y), fill=s.ink, width=s.line)
        q = rng.uniform(2, 6)
        d.rectangle((m - q, y - q, m + q, y + q), fill=s.colours[0] if rng.random() < 0.5 else s.ink)
    y = y0 + (rows + 0.5) * h
    m = centre + rng.gauss(0, 0.05) * (x1 - split)
    d.polygon([(m - 12, y), (m, y - 6), (m + 12, y), (m, y + 6)], fill=s.ink)
    d.line((split, y1 - s.text * 2, x1 - 4, y1 - s.text * 2), fill=s.ink, width=s.line)
    for i in range(5):
        x = split + (x1 - 4 - split) * i / 4
        d.line((x, y1 - s.text * 2, x, y1 - s.text * 1.6), fill=s.ink)
        d.text((x, y1 - s.text * 1.5), f"{0.25 * 2 ** i:g}", fill=s.ink, font=f, anchor="ma")


def pie_chart(d, box, s, rng):
    x0, y0, x1, y1 = box
    r = min(x1 - x0, y1 - y0) * 0.38
    cx, cy = (x0 + x1) / 2 - (r * 0.3 if s.legend else 0), (y0 + y1) / 2
    parts = [rng.random() for _ in range(rng.randint(2, 7))]
    a = -90.0
    for i, p in enumerate(parts):
        sweep = 360 * p / sum(parts)
        d.pieslice((cx - r, cy - r, cx + r, cy + r), a, a + sweep, fill=s.colours[i % 6], outline=(255, 255, 255))
        a += sweep
    if rng.random() < 0.4:  # a doughnut
        d.ellipse((cx - r / 2, cy - r / 2, cx + r / 2, cy + r / 2), fill=(255, 255, 255))
    _legend(d, box, s, len(parts), rng)


def roc_chart(d, box, s, rng):
    x0, y0, x1, y1 = _axes(d, box, s, rng, 5, 5)
    d.line((x0, y1, x1, y0), fill=(150, 150, 150), width=1)
    for k in range(rng.randint(1, 3)):
        power = rng.uniform(0.15, 0.6)
        pts = [(x0 + (x1 - x0) * t, y1 - (y1 - y0) * t ** power) for t in [i / 30 for i in range(31)]]
        d.line(pts, fill=s.colours[k], width=s.line + 1)
    _legend(d, (x0, y0, x1, y1), s, 2, rng)


CHARTS: dict[str, Callable] = {"bar plot": bar_chart, "line plot": line_chart, "scatter plot": scatter_chart,
                               "box plot": box_chart, "Kaplan-Meier curve": km_chart, "heatmap": heat_map,
                               "forest plot": forest_plot, "pie chart": pie_chart, "ROC curve": roc_chart}


# ---------------------------------------------------------------- diagrams

def _node(d: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, s: Style, rng: random.Random, shape: str,
          size: tuple[float, float] | None = None) -> Box:
    f = _font(s.text * 0.85)
    tw = d.textlength(text, font=f)
    w, h = size or (tw + s.text * 1.4, s.text * 2.0)
    x, y = xy
    box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
    fill = rng.choice(PASTELS) if s.pastel else (255, 255, 255)
    if shape == "ellipse":
        d.ellipse(box, fill=fill, outline=s.ink, width=s.line)
    elif shape == "round":
        d.rounded_rectangle(box, radius=h / 3, fill=fill, outline=s.ink, width=s.line)
    elif shape == "plain":
        pass
    else:
        d.rectangle(box, fill=fill, outline=s.ink, width=s.line)
    d.text((x, y), text, fill=s.ink, font=f, anchor="mm")
    return tuple(int(v) for v in box)


def _arrow(d: ImageDraw.ImageDraw, a: tuple[float, float], b: tuple[float, float], s: Style, head: str = "arrow",
           colour=None) -> None:
    colour = colour or s.ink
    d.line((a, b), fill=colour, width=s.line)
    ang = math.atan2(b[1] - a[1], b[0] - a[0])
    size = 5 + 2 * s.line
    if head == "bar":  # inhibition
        px, py = -math.sin(ang) * size, math.cos(ang) * size
        d.line((b[0] - px, b[1] - py, b[0] + px, b[1] + py), fill=colour, width=s.line + 1)
    elif head == "arrow":
        left = (b[0] - size * math.cos(ang - 0.45), b[1] - size * math.sin(ang - 0.45))
        right = (b[0] - size * math.cos(ang + 0.45), b[1] - size * math.sin(ang + 0.45))
        d.polygon([b, left, right], fill=colour)


def _edge_point(box: Box, toward: tuple[float, float]) -> tuple[float, float]:
    """Where the line from a box's centre toward a point leaves the box."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return cx, cy
    sx = (box[2] - box[0]) / 2 / abs(dx) if dx else math.inf
    sy = (box[3] - box[1]) / 2 / abs(dy) if dy else math.inf
    t = min(sx, sy)
    return cx + dx * t, cy + dy * t


def _connect(d, a: Box, b: Box, s: Style, head: str = "arrow") -> None:
    ca, cb = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2), ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    _arrow(d, _edge_point(a, cb), _edge_point(b, ca), s, head)


def flow_chart(d, box, s, rng):
    x0, y0, x1, y1 = box
    levels = rng.randint(3, 7)
    h = (y1 - y0) / levels
    previous: list[Box] = []
    for lv in range(levels):
        n = 1 if lv == 0 or rng.random() < 0.5 else rng.randint(2, 3)
        y = y0 + h * (lv + 0.5)
        nodes = []
        for i in range(n):
            x = x0 + (x1 - x0) * (i + 0.5) / n
            text = f"{_word(rng, rng.randint(1, 2))} (n = {rng.randint(10, 2000)})" if rng.random() < 0.5 else _word(rng, 2)
            nodes.append(_node(d, (x, y), text, s, rng, rng.choice(("rect", "rect", "round")),
                               (min((x1 - x0) / n * 0.8, s.text * 14), min(h * 0.6, s.text * 3))))
        for a in previous:
            for b in nodes:
                if len(previous) == 1 or len(nodes) == 1 or abs(a[0] - b[0]) < (x1 - x0) / 3:
                    _connect(d, a, b, s)
        if rng.random() < 0.3 and lv and n == 1:  # a side box of exclusions
            side = _node(d, (x1 - (x1 - x0) * 0.15, y - h / 2), _word(rng, 2), s, rng, "rect",
                         (min((x1 - x0) * 0.25, s.text * 10), h * 0.4))
            _arrow(d, ((x0 + x1) / 2, y - h / 2), (side[0], y - h / 2), s)
        previous = nodes


def boxes_and_arrows(d, box, s, rng):
    x0, y0, x1, y1 = box
    n = rng.randint(4, 10)
    shape = rng.choice(("rect", "round", "ellipse"))
    nodes = []
    for _ in range(n):
        x, y = rng.uniform(x0 + s.text * 4, x1 - s.text * 4), rng.uniform(y0 + s.text * 2, y1 - s.text * 2)
        nodes.append(_node(d, (x, y), _word(rng), s, rng, shape))
    for i in range(n - 1 + rng.randint(0, n)):
        a, b = rng.sample(nodes, 2)
        _connect(d, a, b, s, rng.choice(("arrow", "arrow", "bar", "none")))


def cycle(d, box, s, rng):
    x0, y0, x1, y1 = box
    n = rng.randint(3, 7)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    r = min(x1 - x0, y1 - y0) * 0.35
    if rng.random() < 0.6:
        d.text((cx, cy), _word(rng), fill=s.ink, font=_font(s.text * 1.1), anchor="mm")
    for i in range(n):
        _node(d, (cx + r * math.cos(2 * math.pi * i / n - math.pi / 2), cy + r * math.sin(2 * math.pi * i / n - math.pi / 2)),
              _word(rng), s, rng, rng.choice(("ellipse", "round", "rect")))
    for i in range(n):
        a0 = 360 * i / n - 90 + 18
        d.arc((cx - r, cy - r, cx + r, cy + r), a0, a0 + 360 / n - 36, fill=s.ink, width=s.line + 1)
        end = math.radians(a0 + 360 / n - 36)
        tip = (cx + r * math.cos(end), cy + r * math.sin(end))
        back = (cx + r * math.cos(end - 0.12), cy + r * math.sin(end - 0.12))
        _arrow(d, back, tip, s)


def pathway(d, box, s, rng):
    x0, y0, x1, y1 = box
    if rng.random() < 0.7:  # a cell membrane: a double line or a lipid bilayer
        my = y0 + (y1 - y0) * rng.uniform(0.15, 0.3)
        for k in (0, 6):
            d.line((x0, my + k, x1, my + k), fill=(120, 120, 120), width=2)
        if rng.random() < 0.5:
            for x in range(int(x0), int(x1), 8):
                d.ellipse((x, my - 4, x + 5, my + 1), fill=(200, 200, 200))
    if rng.random() < 0.5:  # a nucleus
        d.ellipse((x0 + (x1 - x0) * 0.55, y1 - (y1 - y0) * 0.3, x1 - 10, y1 - 5), outline=s.ink, width=s.line,
                  fill=(245, 235, 250) if s.pastel else None)
    nodes = []
    for i in range(rng.randint(5, 14)):
        x, y = rng.uniform(x0 + 40, x1 - 40), rng.uniform(y0 + 20, y1 - 20)
        shape = rng.choice(("ellipse", "ellipse", "round", "rect", "plain"))
        nodes.append(_node(d, (x, y), rng.choice(WORDS[:20]), s, rng, shape))
    for i in range(1, len(nodes)):
        a = nodes[rng.randrange(i)]
        _connect(d, a, nodes[i], s, rng.choice(("arrow", "arrow", "arrow", "bar")))


def timeline(d, box, s, rng):
    x0, y0, x1, y1 = box
    y = y0 + (y1 - y0) * rng.uniform(0.4, 0.6)
    d.line((x0 + 10, y, x1 - 10, y), fill=s.ink, width=s.line + 2)
    _arrow(d, (x1 - 30, y), (x1 - 6, y), s)
    n = rng.randint(3, 8)
    for i in range(n):
        x = x0 + 20 + (x1 - x0 - 60) * i / (n - 1)
        d.ellipse((x - 5, y - 5, x + 5, y + 5), fill=s.colours[i % 6])
        up = -1 if i % 2 else 1
        d.line((x, y, x, y + up * (y1 - y0) * 0.18), fill=s.ink)
        _node(d, (x, y + up * (y1 - y0) * 0.25), f"{_word(rng)}", s, rng, rng.choice(("rect", "plain", "round")))
        d.text((x, y - up * 10), f"week {i * rng.randint(1, 4)}", fill=s.ink, font=_font(s.text * 0.7),
               anchor="md" if up > 0 else "ma")


def schematic(d, box, s, rng):
    """A layout of labelled shapes: cells, vessels, devices, with text blocks and arrows between."""
    x0, y0, x1, y1 = box
    cols = rng.randint(2, 4)
    w = (x1 - x0) / cols
    centres = []
    for i in range(cols):
        cx, cy = x0 + w * (i + 0.5), (y0 + y1) / 2 + rng.uniform(-0.1, 0.1) * (y1 - y0)
        kind = rng.choice(("cell", "tube", "stack", "mouse"))
        fill = rng.choice(PASTELS[:6]) if s.pastel else (255, 255, 255)
        if kind == "cell":
            d.ellipse((cx - w * 0.35, cy - w * 0.25, cx + w * 0.35, cy + w * 0.25), fill=fill, outline=s.ink, width=s.line)
            d.ellipse((cx - w * 0.1, cy - w * 0.08, cx + w * 0.1, cy + w * 0.08), fill=s.colours[i % 6])
        elif kind == "tube":
            d.rectangle((cx - w * 0.08, cy - w * 0.3, cx + w * 0.08, cy + w * 0.2), fill=fill, outline=s.ink, width=s.line)
            d.chord((cx - w * 0.08, cy + w * 0.12, cx + w * 0.08, cy + w * 0.28), 0, 180, fill=fill, outline=s.ink)
        elif kind == "stack":
            for k in range(3):
                d.rectangle((cx - w * 0.3 + k * 6, cy - w * 0.2 + k * 6, cx + w * 0.2 + k * 6, cy + w * 0.15 + k * 6),
                            fill=fill, outline=s.ink)
        else:
            d.ellipse((cx - w * 0.3, cy - w * 0.12, cx + w * 0.2, cy + w * 0.12), fill=(230, 230, 230), outline=s.ink)
            d.ellipse((cx + w * 0.15, cy - w * 0.1, cx + w * 0.32, cy + w * 0.05), fill=(230, 230, 230), outline=s.ink)
            d.line((cx - w * 0.3, cy, cx - w * 0.45, cy + w * 0.1), fill=s.ink, width=s.line)
        f = _font(s.text * 0.8)
        for k in range(rng.randint(1, 3)):
            d.text((cx, y1 - s.text * (1.2 * k + 1)), _word(rng, 2), fill=s.ink, font=f, anchor="mm")
        d.text((cx, y0 + s.text), _word(rng), fill=s.ink, font=_font(s.text), anchor="mm")
        centres.append((cx, cy))
    for a, b in zip(centres, centres[1:]):
        _arrow(d, (a[0] + w * 0.38, a[1]), (b[0] - w * 0.38, b[1]), s)


def _tree(d, box, s, rng, leaves: int | None = None, horizontal: bool = True, labels: bool = False) -> None:
    """A rooted tree (cladogram) drawn with right angles, as phylogenies and dendrograms are."""
    x0, y0, x1, y1 = box
    n = leaves or rng.randint(5, 30)
    f = _font(min(s.text * 0.8, (y1 - y0) / n * 0.9))
    label_w = (x1 - x0) * 0.3 if labels else 0

    def build(items: list[int]) -> tuple[float, float]:
        """Draws the subtree of leaf positions ``items``; returns (depth position, leaf axis position)."""
        if len(items) == 1:
            pos = y0 + (y1 - y0) * (items[0] + 0.5) / n
            return x1 - label_w, pos
        cut = rng.randint(1, len(items) - 1)
        parts = [build(items[:cut]), build(items[cut:])]
        depth = min(p[0] for p in parts) - rng.uniform(0.03, 0.12) * (x1 - x0)
        depth = max(depth, x0)
        for px, py in parts:
            d.line((depth, py, px, py), fill=s.ink, width=s.line)
        d.line((depth, parts[0][1], depth, parts[1][1]), fill=s.ink, width=s.line)
        return depth, (parts[0][1] + parts[1][1]) / 2

    root = build(list(range(n)))
    d.line((x0, root[1], root[0], root[1]), fill=s.ink, width=s.line)
    if labels:
        for i in range(n):
            d.text((x1 - label_w + 4, y0 + (y1 - y0) * (i + 0.5) / n), f"{_word(rng)} {rng.randint(1, 99)}", fill=s.ink,
                   font=f, anchor="lm")


def tree(d, box, s, rng):
    _tree(d, box, s, rng, labels=rng.random() < 0.8)


def network(d, box, s, rng):
    x0, y0, x1, y1 = box
    n = rng.randint(8, 40)
    pts = [(rng.uniform(x0 + 20, x1 - 20), rng.uniform(y0 + 20, y1 - 20)) for _ in range(n)]
    for _ in range(int(n * rng.uniform(1, 2.5))):
        a, b = rng.sample(pts, 2)
        d.line((a, b), fill=(150, 150, 150) if rng.random() < 0.7 else s.ink, width=1)
    for i, (x, y) in enumerate(pts):
        r = rng.uniform(4, 12)
        d.ellipse((x - r, y - r, x + r, y + r), fill=s.colours[i % 3], outline=s.ink)
        if rng.random() < 0.5:
            d.text((x, y - r - 2), rng.choice(WORDS[:20]), fill=s.ink, font=_font(s.text * 0.7), anchor="md")


def venn(d, box, s, rng):
    x0, y0, x1, y1 = box
    n = rng.choice((2, 3, 3))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    r = min(x1 - x0, y1 - y0) * 0.28
    for i in range(n):  # translucent circles: the figure's draw blends RGBA fills
        a = 2 * math.pi * i / n - math.pi / 2
        px, py = cx + r * 0.6 * math.cos(a), cy + r * 0.6 * math.sin(a)
        d.ellipse((px - r, py - r, px + r, py + r), fill=s.colours[i] + (70,), outline=s.ink, width=s.line)
        d.text((px + r * 0.9 * math.cos(a), py + r * 1.15 * math.sin(a)), _word(rng), fill=s.ink, font=_font(s.text), anchor="mm")
    for _ in range(n * 2 + 1):
        d.text((cx + rng.uniform(-r, r), cy + rng.uniform(-r, r)), str(rng.randint(1, 900)), fill=s.ink,
               font=_font(s.text * 0.9), anchor="mm")


DIAGRAMS: dict[str, Callable] = {"flow chart": flow_chart, "boxes and arrows": boxes_and_arrows, "cycle": cycle,
                                 "pathway diagram": pathway, "timeline": timeline, "schematic": schematic,
                                 "phylogenetic tree": tree, "network graph": network, "Venn diagram": venn}
SECONDARY = {"boxes and arrows": "schematic", "cycle": "schematic", "timeline": "schematic"}


def figure(rng: random.Random, kind: str) -> tuple[Image.Image, list[str], str]:
    """One drawn figure of ``kind`` ("chart" or "diagram"): the image, its secondary classes, its panel type."""
    s = Style(rng)
    draws = CHARTS if kind == "chart" else DIAGRAMS
    cols, rows = rng.choice(((1, 1), (1, 1), (1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (1, 2))) if kind == "chart" \
        else rng.choice(((1, 1), (1, 1), (1, 1), (1, 1), (2, 1), (1, 2)))
    pw, ph = rng.randint(260, 560), rng.randint(200, 460)
    gap = rng.randint(8, 40)
    img = Image.new("RGB", (cols * pw + (cols + 1) * gap, rows * ph + (rows + 1) * gap), "white")
    d = ImageDraw.Draw(img, "RGBA")
    names = []
    mixed = rng.random() < 0.5
    first = rng.choice(list(draws))
    letters = cols * rows > 1 and rng.random() < 0.85
    for r in range(rows):
        for c in range(cols):
            name = rng.choice(list(draws)) if mixed else first
            names.append(name)
            x, y = gap + c * (pw + gap), gap + r * (ph + gap)
            draws[name](d, (x, y + (int(s.text * 1.5) if letters else 0), x + pw, y + ph), s, rng)
            if letters:
                d.text((x, y), "ABCDEFGH"[r * cols + c] if rng.random() < 0.6 else "abcdefgh"[r * cols + c],
                       fill=(0, 0, 0), font=_font(s.text * 1.4))
    secondary = list(dict.fromkeys(SECONDARY.get(n, n) for n in names))
    return img, secondary, "multiple" if cols * rows > 1 else "single"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=600, help="figures, half charts and half diagrams")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    labels = []
    for n in range(args.count):
        kind = "chart" if n % 2 == 0 else "diagram"
        img, secondary, panel_type = figure(rng, kind)
        name = f"drawn_{kind}_{n:04d}.png"
        img.save(args.out / name)
        labels.append({"file": str(args.out / name),
                       "primary": "Plots and Charts" if kind == "chart" else "Illustrative Diagrams",
                       "secondary": secondary, "panel_type": panel_type, "caption": None,
                       "article": f"drawn-{kind}-{n:04d}", "split": "tune"})
    (args.out / "drawings.labels.json").write_text(json.dumps({"version": 1, "figures": labels}, indent=1))
    print(f"{args.count} figures in {args.out}")


if __name__ == "__main__":
    main()
