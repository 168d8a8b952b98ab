"""The thumbnail media.inspect makes for the image labeler, the statistics read from it, and the
panel detection on real figures."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pmc_hub import media
from pmc_hub.labels.image import FEATURES, image_features
from pmc_hub.labels.panel import blank_of, blocks_of, image_panel_type
from pmc_hub.resources import sample_dir


def full_decode_thumbnail(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """The reference: decode everything, then shrink (what the reduced decode must approximate)."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB").resize(size, Image.Resampling.BOX), dtype=np.float64)


@pytest.mark.parametrize("rel", ["elife-52882-v2/fig1.jpg", "plosone-0091296/g001.png", "ijm-00202/ijm-00202-fig003.tif",
                                 "plosone-0178565/e001.png"])
def test_the_thumbnail_is_the_image_in_small(rel):
    data = (sample_dir() / rel).read_bytes()
    img = media.inspect(rel.split("/")[-1], data)
    thumb = img.thumbnail
    assert thumb.dtype == np.uint8 and thumb.ndim == 3 and thumb.shape[2] == 3
    assert max(thumb.shape[:2]) == min(media.THUMBNAIL_SIZE, max(img.width, img.height))
    assert abs(thumb.shape[1] / thumb.shape[0] - img.width / img.height) < 0.05 * img.width / img.height
    coarse = (max(1, thumb.shape[1] // 8), max(1, thumb.shape[0] // 8))
    ours = np.asarray(Image.fromarray(thumb).resize(coarse, Image.Resampling.BOX), dtype=np.float64)
    assert np.abs(ours - full_decode_thumbnail(data, coarse)).mean() < 6  # JPEG draft / box-reduce rounding


def test_colour_jpegs_keep_their_colour_and_their_phash():
    # colour JPEGs are drafted as YCbCr: the hash reads the Y plane, exactly the grey "L" draft
    data = (sample_dir() / "elife-52882-v2/fig1.jpg").read_bytes()
    img = media.inspect("fig1.jpg", data)
    chroma = img.thumbnail.max(axis=2).astype(int) - img.thumbnail.min(axis=2)
    assert (chroma > 60).mean() > 0.01  # the figure's blue curves are still blue
    with Image.open(io.BytesIO(data)) as grey:
        grey.draft("L", (128, 128))
        assert media.phash_and_thumbnail(grey)[0] == img.phash


def test_transparent_and_palette_images_show_their_colours_on_white():
    rgba = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    rgba.paste((200, 0, 0, 255), (0, 0, 100, 200))
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    thumb = media.inspect("t.png", buf.getvalue()).thumbnail
    assert (thumb[:, -10:] == 255).all()  # transparent: white page, not black
    assert thumb[:, :40, 0].mean() > 180 and thumb[:, :40, 1].mean() < 40
    buf = io.BytesIO()
    rgba.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE).save(buf, "PNG")
    thumb = media.inspect("p.png", buf.getvalue()).thumbnail
    assert thumb[:, :40, 0].mean() > 180 and thumb[:, :40, 1].mean() < 40  # the palette's red stays red


def test_statistics_tell_a_table_an_equation_and_a_chart_apart():
    def stats(rel):
        img = media.inspect(rel, (sample_dir() / rel).read_bytes())
        return dict(zip(FEATURES, image_features(img.thumbnail, img.width, img.height)))

    table, equation, chart = stats("plosone-0091296/t002.png"), stats("plosone-0178565/e001.png"), stats("elife-46472-v3/fig2.jpg")
    assert table["bands"] > 0.1 > chart["bands"]  # shaded table rows
    assert equation["log_height"] < 2 < chart["log_height"] and equation["aspect"] > 1
    assert chart["axes"] == 1 and equation["axes"] == 0
    photo = np.full((120, 160, 3), 0, dtype=np.uint8)
    photo[..., 0] = np.linspace(0, 255, 160)[None, :].astype(np.uint8)
    photo[..., 1] = np.linspace(0, 255, 120)[:, None].astype(np.uint8)
    smooth = dict(zip(FEATURES, image_features(photo, 1600, 1200)))
    assert smooth["white"] == 0 and smooth["photo_area"] > 0.95 and smooth["top8"] < chart["top8"]


@pytest.mark.parametrize("rel,panel", [
    ("plosone-0091296/g002.png", "single"), ("plosone-0091296/g009.png", "single"), ("ijm-00202/ijm-00202-fig005.tif", "single"),
    ("elife-46472-v3/fig2.jpg", "multiple"), ("plosone-0091296/g003.png", "multiple"), ("elife-30274-v1/fig2.jpg", "multiple"),
])
def test_panel_type_from_the_gutters_between_panels(rel, panel):
    thumb = media.inspect(rel, (sample_dir() / rel).read_bytes()).thumbnail
    assert image_panel_type(blocks_of(blank_of(thumb))) == panel


def test_blocks_are_found_between_blank_gutters():
    blank = np.ones((100, 100), dtype=bool)
    blank[5:45, 5:45] = blank[5:45, 55:95] = blank[55:95, 5:95] = False
    blocks = sorted(blocks_of(blank))
    assert blocks == [(5.0, 5.0, 45.0, 45.0), (5.0, 55.0, 95.0, 95.0), (55.0, 5.0, 95.0, 45.0)]
    assert image_panel_type(blocks) == "multiple"
    assert image_panel_type(blocks_of(np.ones((50, 50), dtype=bool))) == "single"
