"""Synthetic compound figures with exact ground-truth panel boxes (for training and benchmarks).

Layouts are grids of 1-5 x 1-5 cells, some rows with their own column count, some panels
spanning two cells; a share of figures has no gap between panels; gaps, outer margins,
borders and backgrounds vary; panel labels are drawn in the styles ``a``, ``A``, ``(a)``,
``i``, ``1`` at one corner per figure. Figure ``i`` of seed ``s`` is the same on every run
and independent of the others. Panels are drawn procedurally (plots, bars, heatmaps,
textures, gradients, micrographs) or taken from a folder of single-panel images.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import UsageError
from .boxes import Box

LABEL_STYLES = ("a", "A", "(a)", "i", "1")
LABEL_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif", ".bmp", ".webp"}


class SyntheticError(UsageError, ValueError):
    """A generator setting or panel folder that cannot produce figures."""


@dataclass
class SyntheticConfig:
    max_rows: int = 5
    max_cols: int = 5
    no_gap_share: float = 0.2
    span_share: float = 0.3  # figures with a panel spanning two cells
    uneven_share: float = 0.25  # figures whose rows have their own column counts
    label_share: float = 0.8  # figures with panel labels drawn on
    border_share: float = 0.2
    min_width: int = 320
    max_width: int = 960
    min_gap: int = 4
    max_gap: int = 28


@dataclass
class SyntheticFigure:
    image: Image.Image
    boxes: list[Box]
    labels: list[str]  # drawn label per box ("" when none)
    no_gap: bool
    layout: str  # e.g. "3x2", "2x[3,1]", "2x2+span"
    extra: dict = field(default_factory=dict)


class PanelSource(Protocol):
    def panel(self, rng: random.Random, width: int, height: int) -> Image.Image: ...


# --- panels -------------------------------------------------------------------------------


def _color(rng: random.Random, lo: int = 0, hi: int = 255) -> tuple[int, int, int]:
    return tuple(rng.randint(lo, hi) for _ in range(3))  # type: ignore[return-value]


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(6, size))


class ProceduralPanels:
    """Panels drawn from nothing: plots, bar charts, heatmaps, textures, gradients, micrographs."""

    kinds = ("plot", "bars", "heatmap", "texture", "gradient", "micrograph", "scatter")

    def panel(self, rng: random.Random, width: int, height: int) -> Image.Image:
        kind = rng.choice(self.kinds)
        return getattr(self, f"_{kind}")(rng, max(width, 4), max(height, 4))

    def _axes(self, rng: random.Random, w: int, h: int) -> tuple[Image.Image, ImageDraw.ImageDraw, tuple[int, int, int, int]]:
        im = Image.new("RGB", (w, h), (255, 255, 255))
        d = ImageDraw.Draw(im)
        fs = max(6, min(w, h) // 14)
        left, bottom = int(w * rng.uniform(0.12, 0.2)), int(h * rng.uniform(0.8, 0.88))
        top, right = int(h * rng.uniform(0.08, 0.16)), int(w * rng.uniform(0.9, 0.97))
        d.line([(left, top), (left, bottom), (right, bottom)], fill=(0, 0, 0), width=max(1, w // 200))
        font = _font(fs)
        for k in range(rng.randint(3, 5)):
            y = bottom - (bottom - top) * k // 4
            d.line([(left - 3, y), (left, y)], fill=(0, 0, 0))
            d.text((max(0, left - 3 - fs * 1.6), y - fs // 2), str(k * rng.choice((1, 5, 10))), fill=(0, 0, 0), font=font)
        if rng.random() < 0.5:
            d.text((left, max(0, top - fs - 2)), rng.choice(("Control", "Treated", "WT", "KO", "Day 3")), fill=(0, 0, 0), font=font)
        return im, d, (left, top, right, bottom)

    def _plot(self, rng: random.Random, w: int, h: int) -> Image.Image:
        im, d, (l, t, r, b) = self._axes(rng, w, h)
        xs = np.linspace(l + 2, r - 2, 30)
        for _ in range(rng.randint(1, 3)):
            ys = np.cumsum(np.array([rng.gauss(0, 1) for _ in xs]))
            ys = (ys - ys.min()) / (np.ptp(ys) + 1e-6)
            pts = [(float(x), float(b - 2 - y * (b - t - 4))) for x, y in zip(xs, ys)]
            d.line(pts, fill=_color(rng, 0, 200), width=max(1, w // 150))
        return im

    def _scatter(self, rng: random.Random, w: int, h: int) -> Image.Image:
        im, d, (l, t, r, b) = self._axes(rng, w, h)
        c = _color(rng, 0, 200)
        rad = max(1, min(w, h) // 80)
        for _ in range(rng.randint(15, 60)):
            x, y = rng.uniform(l + 3, r - 3), rng.uniform(t + 3, b - 3)
            d.ellipse([x - rad, y - rad, x + rad, y + rad], fill=c)
        return im

    def _bars(self, rng: random.Random, w: int, h: int) -> Image.Image:
        im, d, (l, t, r, b) = self._axes(rng, w, h)
        n = rng.randint(2, 8)
        step = (r - l) / (n + 1)
        for k in range(n):
            x = l + step * (k + 0.5)
            top = b - rng.uniform(0.1, 0.95) * (b - t)
            d.rectangle([x, top, x + step * 0.7, b - 1], fill=_color(rng, 0, 220), outline=(0, 0, 0))
        return im

    def _heatmap(self, rng: random.Random, w: int, h: int) -> Image.Image:
        nr, nc = rng.randint(3, 20), rng.randint(3, 20)
        a = np.random.default_rng(rng.getrandbits(32)).random((nr, nc))
        c0, c1 = np.array(_color(rng)), np.array(_color(rng))
        rgb = (c0[None, None] * (1 - a[..., None]) + c1[None, None] * a[..., None]).astype(np.uint8)
        return Image.fromarray(rgb).resize((w, h), Image.NEAREST)

    def _texture(self, rng: random.Random, w: int, h: int) -> Image.Image:
        g = np.random.default_rng(rng.getrandbits(32))
        small = (g.random((rng.randint(3, 12), rng.randint(3, 12), 3)) * 255).astype(np.uint8)
        im = Image.fromarray(small).resize((w, h), Image.BICUBIC)
        noise = g.integers(-12, 13, (h, w, 3))
        return Image.fromarray(np.clip(np.asarray(im, dtype=np.int16) + noise, 0, 255).astype(np.uint8))

    def _gradient(self, rng: random.Random, w: int, h: int) -> Image.Image:
        c0, c1 = np.array(_color(rng)), np.array(_color(rng))
        ang = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        t = xx * np.cos(ang) / max(w, 1) + yy * np.sin(ang) / max(h, 1)
        t = (t - t.min()) / (np.ptp(t) + 1e-6)
        return Image.fromarray((c0 * (1 - t[..., None]) + c1 * t[..., None]).astype(np.uint8))

    def _micrograph(self, rng: random.Random, w: int, h: int) -> Image.Image:
        g = np.random.default_rng(rng.getrandbits(32))
        small = g.random((max(2, h // 12), max(2, w // 12)))
        blobs = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC), dtype=float) / 255
        blobs = np.clip((blobs - 0.55) * 4, 0, 1)
        channel = np.zeros((h, w, 3))
        channel[..., rng.randrange(3)] = blobs
        if rng.random() < 0.5:
            channel[..., rng.randrange(3)] += blobs * 0.6
        base = rng.randint(0, 25)
        return Image.fromarray(np.clip(base + channel * 255, 0, 255).astype(np.uint8))


class FolderPanels:
    """Panels taken from image files (e.g. single-panel figures): a random crop of the
    right aspect ratio, resized to the cell."""

    def __init__(self, folder: str | Path):
        self.paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise SyntheticError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found")
        self._cache: dict[Path, Image.Image] = {}

    def _load(self, path: Path) -> Image.Image:
        if path not in self._cache:
            with Image.open(path) as im:
                im.draft("RGB", (1024, 1024))
                small = im.convert("RGB")
                small.thumbnail((1024, 1024))
            if len(self._cache) > 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[path] = small
        return self._cache[path]

    def panel(self, rng: random.Random, width: int, height: int) -> Image.Image:
        im = self._load(rng.choice(self.paths))
        target = width / max(height, 1)
        cw, ch = im.width, im.height
        if cw / ch > target:
            cw = max(1, int(ch * target))
        else:
            ch = max(1, int(cw / target))
        x0, y0 = rng.randint(0, im.width - cw), rng.randint(0, im.height - ch)
        return im.crop((x0, y0, x0 + cw, y0 + ch)).resize((max(width, 1), max(height, 1)), Image.BILINEAR)


# --- labels ---------------------------------------------------------------------------------


def _roman(n: int) -> str:
    out = ""
    for value, sym in ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out += sym
            n -= value
    return out


def panel_label(style: str, index: int) -> str:
    """The label of panel ``index`` (0-based) in ``style`` (one of LABEL_STYLES)."""
    letter = chr(ord("a") + index % 26)
    return {"a": letter, "A": letter.upper(), "(a)": f"({letter})", "i": _roman(index + 1), "1": str(index + 1)}[style]


def _draw_label(im: Image.Image, box: tuple[int, int, int, int], text: str, corner: str, rng: random.Random, boxed: bool) -> None:
    x0, y0, x1, y1 = box
    size = int(np.clip(min(x1 - x0, y1 - y0) * rng.uniform(0.08, 0.14), 9, 36))
    font = _font(size)
    d = ImageDraw.Draw(im)
    l, t, r, b = d.textbbox((0, 0), text, font=font)
    tw, th = r - l, b - t
    pad = max(2, size // 5)
    if tw + 2 * pad >= x1 - x0 or th + 2 * pad >= y1 - y0:
        return
    x = x0 + pad if "left" in corner else x1 - pad - tw
    y = y0 + pad if "top" in corner else y1 - pad - th
    patch = np.asarray(im.crop((x, y, x + tw, y + th)).convert("L"))
    dark_under = patch.size and patch.mean() < 128
    if boxed:
        d.rectangle([x - pad // 2, y - pad // 2, x + tw + pad // 2, y + th + pad // 2], fill=(255, 255, 255))
        dark_under = False
    d.text((x - l, y - t), text, fill=(255, 255, 255) if dark_under else (0, 0, 0), font=font)


# --- layouts --------------------------------------------------------------------------------


def _split(total: int, n: int, gap: int, rng: random.Random) -> list[tuple[int, int]]:
    """``n`` intervals covering ``total`` with ``gap`` between them, uneven sizes."""
    weights = [rng.uniform(0.7, 1.3) for _ in range(n)]
    free = total - gap * (n - 1)
    sizes = [int(free * w / sum(weights)) for w in weights]
    sizes[-1] = free - sum(sizes[:-1])
    out, pos = [], 0
    for s in sizes:
        out.append((pos, pos + s))
        pos += s + gap
    return out


def _layout(rng: random.Random, cfg: SyntheticConfig, width: int, height: int, gap: int) -> tuple[list[tuple[int, int, int, int]], str]:
    rows, cols = rng.randint(1, cfg.max_rows), rng.randint(1, cfg.max_cols)
    row_spans = _split(height, rows, gap, rng)
    if rows > 1 and rng.random() < cfg.uneven_share:
        counts = [rng.randint(1, cfg.max_cols) for _ in range(rows)]
        cells = [(x0, y0, x1, y1) for (y0, y1), n in zip(row_spans, counts) for (x0, x1) in _split(width, n, gap, rng)]
        return cells, f"{rows}x{counts}"
    col_spans = _split(width, cols, gap, rng)
    grid = {(r, c): (col_spans[c][0], row_spans[r][0], col_spans[c][1], row_spans[r][1]) for r in range(rows) for c in range(cols)}
    name = f"{rows}x{cols}"
    if rows * cols > 2 and rng.random() < cfg.span_share:
        r, c = rng.randrange(rows), rng.randrange(cols)
        options = [(r + 1, c)] * (r + 1 < rows) + [(r, c + 1)] * (c + 1 < cols)
        if options:
            other = rng.choice(options)
            a, b = grid.pop((r, c)), grid.pop(other)
            grid[(r, c)] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
            name += "+span"
    cells = [grid[k] for k in sorted(grid)]
    return cells, name


def _reading_order(cells: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    return sorted(cells, key=lambda b: (b[1], b[0]))


def make_figure(seed: int, index: int, cfg: SyntheticConfig | None = None, panels: PanelSource | None = None) -> SyntheticFigure:
    """Figure ``index`` of the stream seeded with ``seed``."""
    cfg = cfg or SyntheticConfig()
    panels = panels or ProceduralPanels()
    rng = random.Random(seed * 1_000_003 + index)
    no_gap = rng.random() < cfg.no_gap_share
    gap = 0 if no_gap else rng.randint(cfg.min_gap, cfg.max_gap)
    margin = 0 if no_gap or rng.random() < 0.3 else rng.randint(1, 20)
    width = rng.randint(cfg.min_width, cfg.max_width)
    height = int(width * rng.uniform(0.45, 1.3))
    bg = rng.choices([(255, 255, 255), (245, 245, 245), (230, 230, 230), (0, 0, 0)], weights=[75, 10, 8, 7])[0]
    cells, layout = _layout(rng, cfg, width - 2 * margin, height - 2 * margin, gap)
    cells = _reading_order([(x0 + margin, y0 + margin, x1 + margin, y1 + margin) for x0, y0, x1, y1 in cells])
    image = Image.new("RGB", (width, height), bg)
    style = rng.choice(LABEL_STYLES) if rng.random() < cfg.label_share else None
    corner, boxed = rng.choice(LABEL_CORNERS), rng.random() < 0.2
    border = rng.random() < cfg.border_share
    labels = []
    for i, (x0, y0, x1, y1) in enumerate(cells):
        image.paste(panels.panel(rng, x1 - x0, y1 - y0).convert("RGB"), (x0, y0))
        if border:
            ImageDraw.Draw(image).rectangle([x0, y0, x1 - 1, y1 - 1], outline=(40, 40, 40), width=rng.randint(1, 2))
        text = panel_label(style, i) if style else ""
        if text:
            _draw_label(image, (x0, y0, x1, y1), text, corner, rng, boxed)
        labels.append(text)
    boxes = [Box(float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1 in cells]
    return SyntheticFigure(image, boxes, labels, no_gap, layout, {"gap": gap, "label_style": style, "label_corner": corner})


def figures(seed: int, count: int, cfg: SyntheticConfig | None = None, panels: PanelSource | None = None, start: int = 0) -> Iterator[SyntheticFigure]:
    for i in range(start, start + count):
        yield make_figure(seed, i, cfg, panels)


# --- COCO out -------------------------------------------------------------------------------

CATEGORY = {"id": 1, "name": "subfigure", "supercategory": "figure"}


def coco_entries(image_id: int, file_name: str, fig: SyntheticFigure, first_ann_id: int) -> tuple[dict, list[dict]]:
    """The COCO ``images`` entry and ``annotations`` of one figure."""
    image = {"id": image_id, "file_name": file_name, "width": fig.image.width, "height": fig.image.height,
             "no_gap": fig.no_gap, "layout": fig.layout}
    anns = [{"id": first_ann_id + k, "image_id": image_id, "category_id": CATEGORY["id"], "bbox": b.to_xywh(),
             "area": b.area, "iscrowd": 0, "panel_label": label}
            for k, (b, label) in enumerate(zip(fig.boxes, fig.labels))]
    return image, anns


def write_dataset(out_dir: str | Path, count: int, seed: int = 0, cfg: SyntheticConfig | None = None,
                  panels: PanelSource | None = None, image_format: str = "png") -> Path:
    """Write ``count`` figures as ``out_dir/images/NNNNNN.png`` plus ``out_dir/annotations.json`` (COCO)."""
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i, fig in enumerate(figures(seed, count, cfg, panels)):
        name = f"images/{i:06d}.{image_format}"
        fig.image.save(out / name, quality=92) if image_format in ("jpg", "jpeg") else fig.image.save(out / name)
        image, anns = coco_entries(i, name, fig, len(annotations) + 1)
        images.append(image)
        annotations.extend(anns)
    coco = {"info": {"description": "pmc-hub synthetic compound figures", "seed": seed},
            "images": images, "annotations": annotations, "categories": [CATEGORY]}
    path = out / "annotations.json"
    path.write_text(json.dumps(coco), encoding="utf-8")
    return path
