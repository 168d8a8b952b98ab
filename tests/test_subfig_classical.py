"""The classical splitter on generated compound figures, hand-made layouts and real figures."""
import numpy as np
from PIL import Image, ImageDraw

from pmc_hub.resources import sample_dir
from pmc_hub.subfigures.boxes import Box
from pmc_hub.subfigures.classical import ClassicalSplitter
from pmc_hub.subfigures.ink import background_color
from pmc_hub.subfigures.detector import load_detector
from pmc_hub.subfigures.metrics import imageclef_accuracy
from pmc_hub.subfigures.synthetic import SyntheticConfig, make_figure


def test_imageclef_accuracy_at_least_95_percent_on_generated_figures_with_gaps():
    figs = [make_figure(2024, i, SyntheticConfig(no_gap_share=0.0)) for i in range(60)]
    preds = ClassicalSplitter().detect([f.image for f in figs])
    assert imageclef_accuracy(preds, [f.boxes for f in figs]) >= 0.95


def _grid(bg=(255, 255, 255), gap=12):
    im = Image.new("RGB", (400, 300), bg)
    d = ImageDraw.Draw(im)
    truth = []
    for r in range(2):
        for c in range(2):
            x0, y0 = 10 + c * (185 + gap), 10 + r * (135 + gap)
            truth.append(Box(x0, y0, x0 + 185, y0 + 135))
            d.rectangle([x0, y0, x0 + 184, y0 + 134], fill=(40 + 60 * c, 90, 200 - 50 * r))
    return im, truth


def test_two_by_two_grid_is_found_exactly_in_reading_order():
    im, truth = _grid()
    assert ClassicalSplitter().split(im) == truth


def test_gutters_of_any_colour_are_found():
    im, truth = _grid(bg=(20, 20, 20))
    assert background_color(np.asarray(im, dtype=np.int16)).round().tolist() == [20, 20, 20]
    assert ClassicalSplitter().split(im) == truth


def test_panel_parts_are_not_split_off():
    # a plot: tick labels and a title separated from the axes by whitespace, one panel
    im = Image.new("RGB", (300, 220), "white")
    d = ImageDraw.Draw(im)
    d.line([(60, 30), (60, 190), (280, 190)], fill="black", width=2)
    for y in (40, 90, 140, 185):
        d.text((20, y - 5), "10", fill="black")
    d.text((120, 5), "Title", fill="black")
    d.line([(70, 180), (150, 60), (270, 120)], fill="red", width=2)
    boxes = ClassicalSplitter().split(im)
    assert boxes == [Box(0, 0, 300, 220, 0.0)]  # nothing to split: the whole figure, score 0


def test_blank_image_is_one_whole_box():
    assert ClassicalSplitter().detect([Image.new("L", (50, 40), 255)]) == [[Box(0, 0, 50, 40, 0.0)]]


def test_large_images_are_reduced_and_boxes_mapped_back():
    im, truth = _grid()
    big = im.resize((1600, 1200), Image.NEAREST)
    boxes = ClassicalSplitter().split(big)
    assert len(boxes) == 4
    for b, t in zip(boxes, truth):
        assert abs(b.x0 - 4 * t.x0) <= 4 and abs(b.y1 - 4 * t.y1) <= 4


def test_real_sample_figures_give_boxes_inside_the_image():
    detector = load_detector(None)
    assert detector.name == "classical-xycut"
    paths = sorted((sample_dir() / "elife-30274-v1").glob("*.jpg")) + sorted((sample_dir() / "ijm-00202").glob("*.tif"))[:1]
    for path in paths:
        with Image.open(path) as im:
            im.load()
            boxes = detector.detect([im])[0]
        assert boxes and all(0 <= b.x0 < b.x1 <= im.width and 0 <= b.y0 < b.y1 <= im.height for b in boxes)
