"""Chemistry figures and the splitter: a reaction scheme or a row of structures without letters
stays one box, a lettered scheme is cut by its letters, and panels that are no structure
drawings (charts, coloured line art) are still panels. The figures are drawn here with Pillow:
rings as hexagons with substituent bonds, arrows with reagents over them."""
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pmc_hub.subfigures.classical import ClassicalSplitter, SplitterConfig
from pmc_hub.subfigures.drawings import DrawingConfig, is_scheme, names_scheme, rings, run_lengths, stroke_width


def _font(size):
    return ImageFont.load_default(size=size)


def _ring(d, cx, cy, side=26, colour="black", width=2):
    """A benzene ring with its inner double bonds and one substituent (an OH)."""
    pts = [(cx + side * math.cos(math.radians(90 + 60 * k)), cy + side * math.sin(math.radians(90 + 60 * k))) for k in range(6)]
    d.line(pts + [pts[0]], fill=colour, width=width)
    for k in (0, 2, 4):
        (ax, ay), (bx, by) = pts[k], pts[k + 1]
        d.line([(ax + (cx - ax) * 0.2, ay + (cy - ay) * 0.2), (bx + (cx - bx) * 0.2, by + (cy - by) * 0.2)], fill=colour, width=width)
    top = pts[3]
    d.line([top, (top[0], top[1] - side)], fill=colour, width=width)
    d.text((top[0] - 8, top[1] - side - 16), "OH", fill=colour, font=_font(14))


def _chain(d, x, cy, bonds=4, length=26, width=2):
    """A zigzag chain ending in a carboxylic acid: a structure without a ring."""
    pts = [(x + k * length * 0.87, cy + (13 if k % 2 else 0)) for k in range(bonds + 1)]
    d.line(pts, fill="black", width=width)
    d.line([pts[1], (pts[1][0], pts[1][1] + length)], fill="black", width=width)  # a methyl branch
    d.line([pts[2], (pts[2][0], pts[2][1] - length)], fill="black", width=width)  # ... and a carbonyl
    d.text((pts[2][0] - 4, pts[2][1] - length - 16), "O", fill="black", font=_font(14))
    d.text((pts[-1][0] + 2, pts[-1][1] - 8), "COOH", fill="black", font=_font(14))


def _arrow(d, x0, x1, y, reagent):
    d.line([(x0, y), (x1 - 8, y)], fill="black", width=2)
    d.polygon([(x1, y), (x1 - 10, y - 5), (x1 - 10, y + 5)], fill="black")
    d.text(((x0 + x1) // 2, y - 6), reagent, fill="black", font=_font(12), anchor="md")


def _scheme(d, y, x=20):
    """Ring -> ring -> two rings: three structures parted by arrows with reagents."""
    _ring(d, x + 30, y)
    _arrow(d, x + 80, x + 200, y, "NaBH4, MeOH")
    _ring(d, x + 250, y)
    _arrow(d, x + 300, x + 420, y, "Pd/C, H2")
    _ring(d, x + 470, y)
    _ring(d, x + 530, y)


def scheme_figure() -> Image.Image:
    im = Image.new("RGB", (620, 130), "white")
    _scheme(ImageDraw.Draw(im), 80)
    return im


def test_a_reaction_scheme_stays_one_box():
    im = scheme_figure()
    assert len(ClassicalSplitter().split(im)) == 1
    # without the rule its molecules are cut apart at the whitespace between them
    assert len(ClassicalSplitter(SplitterConfig(drawings=None)).split(im)) >= 2


def test_a_grid_of_numbered_structures_stays_one_box():
    im = Image.new("RGB", (520, 260), "white")
    d = ImageDraw.Draw(im)
    for k in range(6):
        cx, cy = 70 + 180 * (k % 3), 75 + 125 * (k // 3)
        _ring(d, cx, cy)
        d.text((cx, cy + 34), str(k + 1), fill="black", font=_font(16), anchor="ma")
    assert len(ClassicalSplitter().split(im)) == 1
    assert len(ClassicalSplitter(SplitterConfig(drawings=None)).split(im)) >= 3


def test_a_lettered_scheme_is_cut_by_its_letters():
    im = Image.new("RGB", (660, 270), "white")
    d = ImageDraw.Draw(im)
    for k, letter in enumerate("ab"):
        d.text((4, 20 + 130 * k), f"({letter})", fill="black", font=_font(22))
        _scheme(d, 80 + 130 * k, x=50)
    boxes = ClassicalSplitter().split(im)
    assert [b.label for b in boxes] == ["a", "b"]
    assert boxes[0].y1 <= boxes[1].y0


def test_a_caption_naming_a_synthesis_keeps_structures_mostly_without_rings_whole():
    # one ring among chains: too few rings to be sure from the image alone
    im = Image.new("RGB", (860, 130), "white")
    d = ImageDraw.Draw(im)
    for k, reagent in enumerate(("EDC, DMF", "TFA", "LiAlH4")):
        _chain(d, 20 + 260 * k, 80)
        _arrow(d, 160 + 260 * k, 260 + 260 * k, 80, reagent)
    _ring(d, 820, 80)
    splitter = ClassicalSplitter()
    assert len(splitter.split(im)) >= 2
    assert len(splitter.split(im, "Synthesis of the acids 3 and 5.")) == 1
    # a caption naming panels keeps every cut
    assert len(splitter.split(im, "(A) Acid 1. (B) Acid 2. (C) Phenol 3.")) >= 2


def _synthesis_of_chains() -> Image.Image:
    """A two-row synthesis of chains (no ring anywhere, as in a lipid synthesis), the atoms drawn
    in colour, a long upright arrow from the first row's end down to the second row."""
    im = Image.new("RGB", (700, 300), "white")
    d = ImageDraw.Draw(im)
    for row, y in enumerate((70, 230)):
        for k, reagent in enumerate(("DBU", "TBAF, THF")):
            x = 20 + 330 * k
            _chain(d, x, y)
            d.text((x + 40, y + 30), "OH", fill=(220, 30, 30), font=_font(14))
            if k == 0:
                _arrow(d, x + 160, x + 310, y, reagent)
    d.line([(560, 110), (560, 190)], fill="black", width=2)  # 80 px: the rows' link, 8 glyph heights
    d.polygon([(560, 198), (555, 188), (565, 188)], fill="black")
    return im


def test_a_caption_naming_a_synthesis_keeps_ring_free_chains_whole():
    # fresh figures 1009-1012 (MDPI IJMS lipoxin syntheses): chains, an upright arrow between the
    # rows longer than a bond, atoms in red: from the image alone they are cut, with the caption
    # (naming a synthesis, no panels) they are one scheme
    im = _synthesis_of_chains()
    splitter = ClassicalSplitter()
    assert len(splitter.split(im)) >= 2
    assert len(splitter.split(im, "Chemical synthesis of LXA4 by the iodization method.")) == 1
    assert len(splitter.split(im, "(A) Route 1. (B) Route 2.")) >= 2


def test_a_caption_naming_a_synthesis_keeps_black_line_charts_apart():
    # "protein synthesis", "DNA synthesis": biology captions name a synthesis too; two black line
    # charts whose axes are shorter than the long arrows a scheme may have are still two panels
    im = Image.new("RGB", (440, 140), "white")
    d = ImageDraw.Draw(im)
    _line_chart(d, 20, 10, (0, 0, 0))
    _line_chart(d, 240, 10, (0, 0, 0))
    assert len(ClassicalSplitter().split(im, "DNA synthesis over time in the two strains.")) == 2


def _line_chart(d, x0, y0, colour):
    d.line([(x0, y0), (x0, y0 + 100), (x0 + 160, y0 + 100)], fill="black", width=2)
    pts = [(x0 + 10 + 15 * k, y0 + 90 - 70 * abs(math.sin(k / 2))) for k in range(10)]
    d.line(pts, fill=colour, width=2)
    for k in range(5):
        d.text((x0 + 32 * k, y0 + 104), str(k), fill="black", font=_font(12))


def test_two_charts_are_no_scheme():
    im = Image.new("RGB", (440, 140), "white")
    d = ImageDraw.Draw(im)
    _line_chart(d, 20, 10, (220, 40, 40))
    _line_chart(d, 240, 10, (40, 40, 220))
    assert len(ClassicalSplitter().split(im)) == 2


def test_coloured_rings_are_no_structure_drawing():
    im = Image.new("RGB", (620, 130), "white")
    d = ImageDraw.Draw(im)
    for k, x in enumerate((50, 270, 490)):
        _ring(d, x, 80, colour=((200, 30, 30), (30, 150, 30), (30, 30, 200))[k], width=3)
    # pieces in strong colours are a chart's or a diagram's, not a structure's
    assert len(ClassicalSplitter().split(im)) == 3


def test_run_lengths_measure_strokes():
    mask = np.zeros((5, 8), dtype=bool)
    mask[1, 1:6] = True
    mask[3, 2] = True
    runs = run_lengths(mask)
    assert runs[1, 1:6].tolist() == [5] * 5 and runs[3, 2] == 1 and runs[0].sum() == 0


def _ink(im):
    px = np.asarray(im)
    return (px < 200).any(axis=2), px.transpose(2, 0, 1)


def test_a_ring_is_found_and_a_letter_hole_is_not():
    cfg = DrawingConfig()
    im = Image.new("RGB", (120, 120), "white")
    _ring(ImageDraw.Draw(im), 60, 70)
    mask, planes = _ink(im)
    assert stroke_width(mask, planes, 10.0, cfg) == 2.0 and rings(mask, 10.0, cfg) == 1
    text = Image.new("RGB", (120, 40), "white")
    ImageDraw.Draw(text).text((4, 4), "OOOO", fill="black", font=_font(20))
    assert rings(_ink(text)[0], 10.0, cfg) == 0
    assert is_scheme([(mask, planes)] * 2, 10.0, cfg) and not is_scheme([(mask, planes)], 10.0, cfg)


def test_a_filled_or_coloured_drawing_is_no_line_art():
    cfg = DrawingConfig()
    bars = Image.new("RGB", (120, 120), "white")
    for k in range(4):
        ImageDraw.Draw(bars).rectangle([10 + 28 * k, 110 - 20 * k, 30 + 28 * k, 110], fill="black")
    assert stroke_width(*_ink(bars), 10.0, cfg) is None
    ring = Image.new("RGB", (120, 120), "white")
    _ring(ImageDraw.Draw(ring), 60, 70, colour=(30, 30, 200))
    assert stroke_width(*_ink(ring), 10.0, cfg) is None


def test_captions_that_name_a_scheme():
    assert names_scheme("Scheme 2. Synthesis of compounds 4a-4f.")
    assert names_scheme("Chemical structures of the flavonoids tested.")
    assert names_scheme("Synthetic pathway of anthocyanins.")
    assert not names_scheme("Structures of the mouse brain imaged by MRI.")
    assert not names_scheme(None) and not names_scheme("")



ROOT = Path(__file__).resolve().parents[1]


def test_black_line_charts_are_no_scheme():
    # a real figure (tests/data/figures, PLOS ONE 0009411 fig 1, held out): four framed black
    # log-log charts whose dashed series close holes of a ring's size
    path = ROOT / "tests/data/figures/rossmounce__hack4ac-figures__images__journal.pone.0009411.g001.png"
    with Image.open(path) as f:
        im = f.convert("RGB")
    assert len(ClassicalSplitter().split(im)) == 4
    # their axes, upright lines longer than any bond, are what tells them from structures
    loose = SplitterConfig(drawings=DrawingConfig(max_upright=100.0, axis_length=100.0))
    assert len(ClassicalSplitter(loose).split(im)) == 1
    # ... and so are their axes, an upright and a level line meeting
    no_axes = SplitterConfig(drawings=DrawingConfig(max_upright=100.0))
    assert len(ClassicalSplitter(no_axes).split(im)) == 4
