#!/usr/bin/env python
"""Panel letters by style: draw 2 x 3 grids of bar charts (or dark images) lettered a-f in one
style at a time and score the letter finder (`labels.find_labels`) on them.

    python scripts/make_subfig_letter_styles.py [--fonts-dir /usr/share/fonts/truetype/dejavu] [--seeds 2]

Styles varied one at a time from bold sans capitals 2.5% of the figure's width, set above their
charts: the font (DejaVu Sans, Bold, Serif, Serif Bold, Mono, Condensed Bold, Oblique, Bold
Oblique, Serif Italic, ExtraLight; Pillow's own), the letter's height as a share of the figure's
width, upper or lower case in five fonts, in parentheses or not, and the place (above the chart,
inside its axes by the y axis, white on a dark image). Prints recall and precision per style.
Drawn figures measure the finder's reach over styles, nothing about real figures; the fonts are
Debian's fonts-dejavu-core (the glyph templates are drawn from four of them and Pillow's font).
"""
from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pmc_hub.subfigures.ink import ink_map
from pmc_hub.subfigures.labels import find_labels

FONTS = {"sans": "DejaVuSans.ttf", "sans-bold": "DejaVuSans-Bold.ttf", "serif": "DejaVuSerif.ttf",
         "serif-bold": "DejaVuSerif-Bold.ttf", "mono": "DejaVuSansMono.ttf", "condensed-bold": "DejaVuSansCondensed-Bold.ttf",
         "oblique": "DejaVuSans-Oblique.ttf", "bold-oblique": "DejaVuSans-BoldOblique.ttf",
         "serif-italic": "DejaVuSerif-Italic.ttf", "light": "DejaVuSans-ExtraLight.ttf", "pillow": None}
WIDTH, HEIGHT, COLUMNS, ROWS = 900, 600, 3, 2
CELL_W, CELL_H = 295, 290


def _chart(d: ImageDraw.ImageDraw, x0: int, y0: int, x1: int, y1: int, rng: np.random.Generator) -> None:
    d.line([(x0, y0), (x0, y1), (x1, y1)], fill="black", width=2)
    for j, h in enumerate(rng.uniform(0.2, 0.9, 5)):
        bx = x0 + 10 + j * (x1 - x0 - 16) // 5
        d.rectangle([bx, y1 - int(h * (y1 - y0)), bx + (x1 - x0) // 8, y1 - 1], fill=(60 + 30 * j, 90, 160))
    for j, tick in enumerate(("0", "5", "10")):
        d.text((x0 - 16, y1 - 8 - j * (y1 - y0) // 3), tick, fill="black", font=ImageFont.load_default(size=11))


def figure(fonts_dir: Path, font: str, share: float, case: str, parens: bool, place: str, seed: int) -> Image.Image:
    """Six panels lettered a-f in one style; ``share``: the letters' cap height over the width."""
    im = Image.new("RGB", (WIDTH, HEIGHT), "white")
    d = ImageDraw.Draw(im)
    rng = np.random.default_rng(seed)
    size = max(6, round(share * WIDTH / 0.72))  # a capital is about 0.72 of the font size
    face = ImageFont.load_default(size=size) if FONTS[font] is None else ImageFont.truetype(str(fonts_dir / FONTS[font]), size)
    for k in range(COLUMNS * ROWS):
        x0, y0 = 20 + (k % COLUMNS) * CELL_W, 20 + (k // COLUMNS) * CELL_H
        letter = "abcdef"[k].upper() if case == "upper" else "abcdef"[k]
        text = f"({letter})" if parens else letter
        left, top, _, bottom = d.textbbox((0, 0), text, font=face)
        if place == "above":
            d.text((x0 - left, y0 - top), text, fill="black", font=face)
            _chart(d, x0 + 30, y0 + (bottom - top) + 12, x0 + 270, y0 + 260, rng)
        elif place == "inside":
            _chart(d, x0 + 24, y0, x0 + 270, y0 + 260, rng)
            d.text((x0 + 34 - left, y0 + 4 - top), text, fill="black", font=face)
        else:  # white on a dark image
            im.paste(Image.fromarray(rng.integers(10, 70, (260, 270, 3)).astype(np.uint8)), (x0, y0))
            d.text((x0 + 6 - left, y0 + 6 - top), text, fill="white", font=face)
    return im


def styles() -> list[tuple[str, dict]]:
    """(name, the style's settings changed from the base) for each style scored."""
    out = [(f"font {f}", {"font": f}) for f in FONTS]
    out += [(f"height {s:.3f} of the width", {"share": s}) for s in (0.008, 0.012, 0.018, 0.025, 0.04, 0.06, 0.08, 0.1)]
    out += [(f"{case} case, {f}", {"case": case, "font": f}) for case in ("upper", "lower")
            for f in ("sans", "sans-bold", "serif", "serif-bold", "oblique")]
    out += [(f"parentheses {p}", {"parens": p}) for p in (False, True)]
    out += [(f"{place}, {case} case", {"place": place, "case": case}) for place in ("above", "inside", "dark") for case in ("upper", "lower")]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fonts-dir", type=Path, default=Path("/usr/share/fonts/truetype/dejavu"))
    p.add_argument("--seeds", type=int, default=2)
    args = p.parse_args(argv)
    base = {"font": "sans-bold", "share": 0.025, "case": "upper", "parens": False, "place": "above"}
    totals = collections.Counter()
    for name, changed in styles():
        right = found = drawn = 0
        for seed in range(args.seeds):
            labels = find_labels(ink_map(figure(args.fonts_dir, seed=seed, **{**base, **changed}), 1024, 16))
            for lab in labels:
                cell = min(ROWS - 1, (lab.box[1] - 10) // CELL_H) * COLUMNS + min(COLUMNS - 1, (lab.box[0] - 10) // CELL_W)
                right += lab.letter == "abcdef"[cell]
            found += len(labels)
            drawn += COLUMNS * ROWS
        totals.update(right=right, found=found, drawn=drawn)
        print(f"{name:32s} recall {right / drawn:.2f}  precision {right / max(1, found):.2f}  ({right} right of {found} read, {drawn} drawn)")
    print(f"{'all':32s} recall {totals['right'] / totals['drawn']:.2f}  precision {totals['right'] / max(1, totals['found']):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
