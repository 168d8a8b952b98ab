"""The drawing histograms (`pmc_hub.labels.drawing`) the chart-or-diagram step reads: what each
measures on drawn strokes whose answer is known, and that they are part of the image statistics."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from pmc_hub import media
from pmc_hub.labels.drawing import DRAWING_FEATURES, RUN_EDGES, drawing_features
from pmc_hub.labels.image import FEATURES, image_features


def _features(img: Image.Image) -> dict[str, float]:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    thumb = media.inspect("drawn.png", buf.getvalue()).thumbnail
    return dict(zip(DRAWING_FEATURES, drawing_features(thumb.grey, thumb.rgb)))


def test_gaps_are_measured_between_strokes_by_length():
    # vertical strokes 40 px apart on a 384-px page: every blank gap between ink is 39 px long (bin 33-64)
    img = Image.new("RGB", (384, 200), "white")
    d = ImageDraw.Draw(img)
    for x in range(20, 370, 40):
        d.line((x, 10, x, 190), fill="black", width=1)
    f = _features(img)
    gap_bin = int(np.searchsorted(RUN_EDGES, 39, side="right")) - 1
    assert f[f"gap_run_h{gap_bin}"] ** 2 > 0.95  # the features are square roots of shares
    assert abs(sum(f[f"gap_run_h{i}"] ** 2 for i in range(len(RUN_EDGES) - 1)) - 1) < 1e-9  # shares of all gaps
    # down the columns the strokes are unbroken: no gap between two runs of ink
    assert all(f[f"gap_run_v{i}"] == 0 for i in range(len(RUN_EDGES) - 1))


def test_edge_directions_tell_upright_strokes_from_slanted_ones():
    upright, slanted = (Image.new("RGB", (300, 300), "white") for _ in range(2))
    for x in range(30, 280, 30):
        ImageDraw.Draw(upright).line((x, 20, x, 280), fill="black", width=3)
        ImageDraw.Draw(slanted).line((x - 20, 280, x + 20 + 100, 20), fill="black", width=3)
    up, sl = _features(upright), _features(slanted)
    # bin 0 is an edge across x (a vertical stroke); the slanted strokes' edges lie in other bins
    assert up["orient0"] ** 2 > 0.9
    assert sl["orient0"] ** 2 < 0.3


def test_colours_count_hues_and_pale_fills_of_the_content():
    img = Image.new("RGB", (200, 200), "white")
    d = ImageDraw.Draw(img)
    d.rectangle((10, 10, 90, 190), fill=(220, 30, 30))  # saturated red bars
    d.rectangle((110, 10, 190, 190), fill=(218, 232, 252))  # a pale blue box, as diagrams fill theirs
    f = _features(img)
    assert f["hue0"] ** 2 > 0.4  # red: half the content
    assert f["pale"] ** 2 > 0.4
    assert f["hue2"] == 0 and f["hue4"] ** 2 < 0.05  # no green; the pale box is not colourful


def test_a_blank_or_tiny_image_gives_zeros_not_errors():
    assert not drawing_features(np.full((2, 2), 255, np.uint8), np.full((2, 2, 3), 255, np.uint8)).any()
    blank = drawing_features(np.full((50, 50), 255, np.uint8), np.full((25, 25, 3), 255, np.uint8))
    assert blank.shape == (len(DRAWING_FEATURES),) and not blank.any()


def test_the_histograms_are_part_of_the_image_statistics():
    rgb = np.full((60, 80, 3), 255, np.uint8)
    grey = np.full((120, 160), 255, np.uint8)
    grey[40:42, 10:150] = 0
    x = image_features(rgb, grey, 800, 600)
    assert x.shape == (len(FEATURES),)
    assert set(DRAWING_FEATURES) <= set(FEATURES)
    assert np.allclose(x[[FEATURES.index(f) for f in DRAWING_FEATURES]], drawing_features(grey, rgb))
