"""The thumbnails media.inspect makes for the image labeler (RGB thumbnail and grey image), the
statistics read from them, and the panel detection on real and drawn figures."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pmc_hub import media
from pmc_hub.labels.image import FEATURES, image_features
from pmc_hub.labels.panel import PAGE_LEVEL, content_blocks, image_panel_type, panel_blocks
from pmc_hub.resources import sample_dir

FIGURES = Path(__file__).parent / "data" / "figures"


def full_decode_thumbnail(data: bytes, size: tuple[int, int], mode: str = "RGB") -> np.ndarray:
    """The reference: decode everything, then shrink (what the reduced decode must approximate)."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert(mode).resize(size, Image.Resampling.BOX), dtype=np.float64)


@pytest.mark.parametrize("rel", ["elife-52882-v2/fig1.jpg", "plosone-0091296/g001.png", "ijm-00202/ijm-00202-fig003.tif",
                                 "plosone-0178565/e001.png"])
def test_the_thumbnail_is_the_image_in_small(rel):
    data = (sample_dir() / rel).read_bytes()
    img = media.inspect(rel.split("/")[-1], data)
    thumb = img.thumbnail.rgb
    assert thumb.dtype == np.uint8 and thumb.ndim == 3 and thumb.shape[2] == 3
    longest = max(img.width, img.height)
    assert max(thumb.shape[:2]) == (longest if longest <= media.THUMBNAIL_SIZE else max(thumb.shape[:2]))
    assert media.THUMBNAIL_SIZE / 2 < max(thumb.shape[:2]) <= media.THUMBNAIL_SIZE or longest <= media.THUMBNAIL_SIZE
    assert abs(thumb.shape[1] / thumb.shape[0] - img.width / img.height) < 0.05 * img.width / img.height
    coarse = (max(1, thumb.shape[1] // 8), max(1, thumb.shape[0] // 8))
    ours = np.asarray(Image.fromarray(thumb).resize(coarse, Image.Resampling.BOX), dtype=np.float64)
    assert np.abs(ours - full_decode_thumbnail(data, coarse)).mean() < 6  # JPEG draft / box-reduce rounding


@pytest.mark.parametrize("rel", ["elife-52882-v2/fig3.jpg", "plosone-0091296/g001.png", "ijm-00202/ijm-00202-fig003.tif",
                                 "plosone-0178565/e001.png"])
def test_the_grey_image_is_the_image_at_the_reduced_decodes_size(rel):
    data = (sample_dir() / rel).read_bytes()
    img = media.inspect(rel.split("/")[-1], data)
    grey, rgb = img.thumbnail.grey, img.thumbnail.rgb
    assert grey.dtype == np.uint8 and grey.ndim == 2 and max(grey.shape) <= media.DETAIL_SIZE
    # the panel search's image: more pixels a side than the thumbnail wherever the original has them
    assert max(grey.shape) >= min(max(img.width, img.height), 2 * max(rgb.shape[:2]) - 1)
    assert abs(grey.shape[1] / grey.shape[0] - img.width / img.height) < 0.05 * img.width / img.height
    coarse = (max(1, grey.shape[1] // 8), max(1, grey.shape[0] // 8))
    ours = np.asarray(Image.fromarray(grey).resize(coarse, Image.Resampling.BOX), dtype=np.float64)
    assert np.abs(ours - full_decode_thumbnail(data, coarse, "L")).mean() < 6


def test_colour_jpegs_keep_their_colour_and_their_phash():
    # colour JPEGs are drafted as YCbCr: the hash reads the Y plane, exactly the grey "L" draft
    data = (sample_dir() / "elife-52882-v2/fig1.jpg").read_bytes()
    img = media.inspect("fig1.jpg", data)
    chroma = img.thumbnail.rgb.max(axis=2).astype(int) - img.thumbnail.rgb.min(axis=2)
    assert (chroma > 60).mean() > 0.01  # the figure's blue curves are still blue
    with Image.open(io.BytesIO(data)) as grey:
        grey.draft("L", (128, 128))
        assert media.phash_and_thumbnail(grey)[0] == img.phash


def test_transparent_and_palette_images_show_their_colours_on_white():
    rgba = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    rgba.paste((200, 0, 0, 255), (0, 0, 100, 200))
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    thumbs = media.inspect("t.png", buf.getvalue()).thumbnail
    thumb = thumbs.rgb
    red = thumb[:, : thumb.shape[1] // 3 - 1]  # the left third is painted
    assert (thumb[:, -10:] == 255).all() and (thumbs.grey[:, -10:] == 255).all()  # transparent: white page, not black
    assert red[..., 0].mean() > 180 and red[..., 1].mean() < 40
    buf = io.BytesIO()
    rgba.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE).save(buf, "PNG")
    thumb = media.inspect("p.png", buf.getvalue()).thumbnail.rgb
    red = thumb[:, : thumb.shape[1] // 3 - 1]
    assert red[..., 0].mean() > 180 and red[..., 1].mean() < 40  # the palette's red stays red


def test_statistics_tell_a_table_an_equation_and_a_chart_apart():
    def stats(rel):
        img = media.inspect(rel, (sample_dir() / rel).read_bytes())
        return dict(zip(FEATURES, image_features(img.thumbnail.rgb, img.thumbnail.grey, img.width, img.height)))

    table, equation, chart = stats("plosone-0091296/t002.png"), stats("plosone-0178565/e001.png"), stats("elife-46472-v3/fig2.jpg")
    assert table["bands"] > 0.1 > chart["bands"]  # shaded table rows
    assert table["grey"] > chart["grey"] and table["full_rules"] > 0  # grey shading, rules across the table
    assert equation["log_height"] < 2 < chart["log_height"] and equation["aspect"] > 1
    photo = np.full((120, 160, 3), 0, dtype=np.uint8)
    photo[..., 0] = np.linspace(0, 255, 160)[None, :].astype(np.uint8)
    photo[..., 1] = np.linspace(0, 255, 120)[:, None].astype(np.uint8)
    smooth = dict(zip(FEATURES, image_features(photo, photo.max(axis=2), 1600, 1200)))
    assert smooth["white"] == 0 and smooth["photo_area"] > 0.95 and smooth["top8"] < chart["top8"]
    assert smooth["soft"] < 0.1 < smooth["texture"] * 255  # steps of a few levels, not of 5-30


def test_statistics_are_the_same_whatever_the_thumbnail_array_layout():
    img = media.inspect("fig2.jpg", (sample_dir() / "elife-46472-v3/fig2.jpg").read_bytes()).thumbnail
    thumb, grey = img.rgb, img.grey
    strided = np.zeros((thumb.shape[0], thumb.shape[1], 4), dtype=np.uint8)[..., :3]
    strided[...] = thumb  # a view with a different memory layout
    grey_view = np.zeros((grey.shape[0], grey.shape[1], 2), dtype=np.uint8)[..., 0]
    grey_view[...] = grey
    assert np.array_equal(image_features(thumb, grey, 800, 600), image_features(strided, grey_view, 800, 600))


@pytest.mark.parametrize("rel,panel", [
    ("plosone-0091296/g002.png", "single"), ("plosone-0091296/g009.png", "single"), ("ijm-00202/ijm-00202-fig005.tif", "single"),
    ("elife-46472-v3/fig2.jpg", "multiple"), ("plosone-0091296/g003.png", "multiple"), ("elife-30274-v1/fig2.jpg", "multiple"),
    ("elife-52882-v2/fig3.jpg", "multiple"),
])
def test_panel_type_from_the_gutters_between_panels(rel, panel):
    img = media.inspect(rel, (sample_dir() / rel).read_bytes())
    assert image_panel_type(panel_blocks(img.thumbnail.grey)) == panel


def thumbnail_blocks(thumb: np.ndarray) -> np.ndarray:
    """What the panel search read before it read the grey image: the RGB thumbnail's blocks."""
    return content_blocks(thumb.min(axis=2) > PAGE_LEVEL)[0]


def test_narrow_gutters_the_thumbnail_loses_part_panels_in_the_grey_image():
    # eLife 52882 fig 3: three charts in a row, 4-6 px apart in a 600 px figure
    img = media.inspect("fig3.jpg", (sample_dir() / "elife-52882-v2/fig3.jpg").read_bytes())
    assert image_panel_type(thumbnail_blocks(img.thumbnail.rgb)) == "single"
    assert image_panel_type(panel_blocks(img.thumbnail.grey)) == "multiple"
    # drawn: two framed charts 8 px apart in a 1000 px figure (under a pixel of the thumbnail)
    figure = Image.new("RGB", (1000, 500), "white")
    draw = ImageDraw.Draw(figure)
    for left in (0, 504):
        draw.rectangle((left, 0, left + 495, 499), outline="black", width=3)
        draw.line([(left + 40 + 35 * i, 450 - (3 * i * i) % 400) for i in range(12)], fill="blue", width=3)
    buf = io.BytesIO()
    figure.save(buf, "PNG")
    img = media.inspect("drawn.png", buf.getvalue())
    assert image_panel_type(thumbnail_blocks(img.thumbnail.rgb)) == "single"
    assert image_panel_type(panel_blocks(img.thumbnail.grey)) == "multiple"


def png(figure: Image.Image) -> bytes:
    buf = io.BytesIO()
    figure.save(buf, "PNG")
    return buf.getvalue()


def gutter_blocks(grey: np.ndarray) -> np.ndarray:
    """What the panel search read before round 6: blank gutters only, no seams."""
    return panel_blocks(grey, seams=None)


@pytest.mark.parametrize("path", [
    sample_dir() / "plosone-0091296/g001.png",  # two satellite photographs and a map that touch
    FIGURES / "rossmounce__plosone-phylo-figure-images__pone.0000743.g002.jpg",  # two dark images, a white hairline apart
    FIGURES / "rossmounce__plosone-phylo-figure-images__pone.0000960.g003.png",  # two framed panels whose frames abut
])
def test_panels_that_touch_or_are_framed_part_at_seams(path):
    grey = media.inspect(path.name, path.read_bytes()).thumbnail.grey
    assert image_panel_type(gutter_blocks(grey)) == "single"  # no blank gutter between the panels
    assert image_panel_type(panel_blocks(grey)) == "multiple"


def framed_chart(draw: ImageDraw.ImageDraw, left: int, width: int, height: int) -> None:
    draw.rectangle((left, 0, left + width - 1, height - 1), outline="black", width=4)
    draw.line([(left + 30 + (width - 60) * i // 11, height - 40 - (37 * i * i) % (height - 80)) for i in range(12)],
              fill="black", width=3)


def test_drawn_panels_that_touch_part_at_the_seam():
    # two framed charts side by side, their frames abutting: no blank column between them
    figure = Image.new("RGB", (800, 400), "white")
    draw = ImageDraw.Draw(figure)
    framed_chart(draw, 0, 400, 400)
    framed_chart(draw, 400, 400, 400)
    grey = media.inspect("framed.png", png(figure)).thumbnail.grey
    assert image_panel_type(gutter_blocks(grey)) == "single"
    assert image_panel_type(panel_blocks(grey)) == "multiple"
    # a photograph touching a chart drawn on the page beside it
    rng = np.random.default_rng(6)
    figure = Image.new("RGB", (600, 300), "white")
    figure.paste(Image.fromarray(rng.integers(20, 200, (300, 300), dtype=np.uint8)).convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(figure)
    draw.line([(298 + 25 * i, 250 - (29 * i * i) % 200) for i in range(12)], fill="black", width=3)
    grey = media.inspect("touching.png", png(figure)).thumbnail.grey
    assert image_panel_type(gutter_blocks(grey)) == "single"
    assert image_panel_type(panel_blocks(grey)) == "multiple"


def test_one_drawn_line_across_a_chart_is_no_seam():
    # a chart (340 px: the grey image is the figure itself) with a one-pixel marker line across
    # its whole height: one solid column is an axis or a rule as often as a frame, and does not part
    figure = Image.new("L", (340, 200), 255)
    draw = ImageDraw.Draw(figure)
    draw.line([(170, 0), (170, 199)], fill=0, width=1)
    draw.line([(10 + 29 * i, 180 - (41 * i * i) % 160) for i in range(12)], fill=0, width=2)
    grey = media.inspect("marker.png", png(figure)).thumbnail.grey
    assert grey.shape == (200, 340)
    assert image_panel_type(panel_blocks(grey)) == "single"
    # the same line two pixels wide is a drawn separator between two panels
    draw.line([(171, 0), (171, 199)], fill=0, width=1)
    grey = media.inspect("separator.png", png(figure)).thumbnail.grey
    assert image_panel_type(panel_blocks(grey)) == "multiple"


def test_a_photograph_is_one_panel_seams_or_not():
    path = FIGURES / "scikit-image__scikit-image__src___skimage2__data__camera.png"
    assert image_panel_type(panel_blocks(media.inspect(path.name, path.read_bytes()).thumbnail.grey)) == "single"


def test_blocks_are_found_between_blank_gutters():
    blank = np.ones((100, 100), dtype=bool)
    blank[5:45, 5:45] = blank[5:45, 55:95] = blank[55:95, 5:95] = False
    blank[60, 10] = True  # a page pixel inside a block
    boxes, content = content_blocks(blank)
    assert sorted(map(tuple, boxes.tolist())) == [(5, 5, 45, 45), (5, 55, 95, 95), (55, 5, 95, 45)]
    assert sorted(content.tolist()) == [1600, 1600, 3599]  # the content pixels inside each
    assert image_panel_type(boxes) == "multiple"
    assert image_panel_type(content_blocks(np.ones((50, 50), dtype=bool))[0]) == "single"
    # a gap narrower than 1% of the side joins its neighbours: one pixel parts 90 pixels, not 300
    wide, narrow = np.ones((10, 300), dtype=bool), np.ones((10, 90), dtype=bool)
    wide[2:8, 10:100] = wide[2:8, 101:200] = narrow[2:8, 5:40] = narrow[2:8, 41:85] = False
    assert len(content_blocks(wide)[0]) == 1 and len(content_blocks(narrow)[0]) == 2


def test_the_page_level_is_the_one_the_statistics_use():
    thumb = np.full((20, 30, 3), PAGE_LEVEL + 1, dtype=np.uint8)
    thumb[5:15, 5:25] = PAGE_LEVEL  # one level darker than the page: content
    features = dict(zip(FEATURES, image_features(thumb, thumb[..., 0], 30, 20)))
    assert features["white"] == pytest.approx(400 / 600)


def _smooth(img: Image.Image) -> Image.Image:
    """Drawn at 4 times the size and reduced: anti-aliased lines, as drawing programs export them."""
    return img.resize((img.width // 4, img.height // 4), Image.Resampling.BOX)


def test_ring_bonds_lie_at_their_angle_and_a_bar_chart_along_the_axes():
    rings = Image.new("L", (960, 480), "white")
    for cx in (160, 480, 800):  # benzene rings as drawing programs draw them: vertical sides, the other bonds at 30 degrees
        corners = [(cx + 120 * np.cos(np.radians(a)), 240 + 120 * np.sin(np.radians(a))) for a in range(30, 390, 60)]
        ImageDraw.Draw(rings).line(corners + corners[:1], fill="black", width=6)
    bars = Image.new("L", (960, 480), "white")
    draw = ImageDraw.Draw(bars)
    draw.line([(40, 440), (920, 440)], fill="black", width=6)
    draw.line([(40, 40), (40, 440)], fill="black", width=6)
    for x, top in ((120, 160), (320, 280), (520, 80), (720, 220)):
        draw.rectangle([x, top, x + 120, 440], outline="black", width=6)
    rings, bars = _smooth(rings), _smooth(bars)

    def stats(img: Image.Image) -> dict:
        grey = np.asarray(img)
        return dict(zip(FEATURES, image_features(np.stack([grey] * 3, axis=2), grey, *img.size)))

    ring, chart = stats(rings), stats(bars)
    assert ring["bond_edges"] > 0.4 > 0.05 > chart["bond_edges"]
    assert chart["axis_edges"] > 0.9 > 0.5 > ring["axis_edges"]
    assert 0 < ring["edges"] < 0.2 and 0 < chart["edges"] < 0.2
    # an image too small for the 3x3 edge filter has no edges
    tiny = np.full((2, 2), 255, dtype=np.uint8)
    small = dict(zip(FEATURES, image_features(np.stack([tiny] * 3, axis=2), tiny, 2, 2)))
    assert small["bond_edges"] == small["axis_edges"] == small["edges"] == 0


def test_long_arrows_at_a_bonds_angle_are_no_structure_drawing():
    # round 11: a flow network of land uses drawn as words in circles joined by long arrows at 30
    # degrees (J Ethnobiol Ethnomed PMC4417228 fig 4, CC BY 4.0) was taken from its edge
    # directions for a structure drawing; its slanted strokes run on where a ring's bonds end
    from pmc_hub.labels.image import LONG_STROKES_MAX, load_content_model

    def look(path: Path) -> tuple[dict, dict]:
        img = media.inspect(path.name, path.read_bytes())
        stats = image_features(img.thumbnail.rgb, img.thumbnail.grey, img.width, img.height)
        return dict(zip(FEATURES, stats)), load_content_model()["image"].probabilities(stats)

    network, kinds = look(FIGURES / "contentmine__norma__src__test__resources__org__xmlcml__norma__miscfiles__cproject__"
                                     "pmc4417228__fulltext.pdf__fig4.jpg")
    assert network["bond_edges"] > 0.25  # as many edges at a bond's angle as a drawn structure has
    assert network["long_strokes"] > LONG_STROKES_MAX and kinds["structure"] == 0
    assert max(kinds, key=kinds.get) in ("chart", "diagram")
    # a real structure drawing of the development set (MDPI IJMS 24 13282 fig 5, CC BY) keeps its bonds short
    drawing, kinds = look(FIGURES / "illumination-k__pubmed-client__assets__test_data__pmc_articles__pmc10487465__"
                                    "pmc10487465__ijms-24-13282-g005.jpg")
    assert drawing["long_strokes"] < LONG_STROKES_MAX and kinds["structure"] > 0
    # the synthetic rings above, drawn at the grey image's usual size, too
    rings = Image.new("L", (1200, 600), "white")
    for cx in (200, 600, 1000):
        corners = [(cx + 144 * np.cos(np.radians(a)), 300 + 144 * np.sin(np.radians(a))) for a in range(30, 390, 60)]
        ImageDraw.Draw(rings).line(corners + corners[:1], fill="black", width=8)
    grey = np.asarray(_smooth(rings))
    ring = dict(zip(FEATURES, image_features(np.stack([grey] * 3, axis=2), grey, 300, 150)))
    assert ring["bond_edges"] > 0.4 and ring["long_strokes"] < LONG_STROKES_MAX


def _edge_directions_2d(grey: np.ndarray) -> tuple[float, float, float, float]:
    """The edge statistics the plain way (2-D Sobel, a mask per test): the reference that the flat,
    padded layout of `image._sobel` must match exactly."""
    from pmc_hub.labels.image import AXIS_RATIO, BOND_RATIOS, EDGE_STRENGTH

    g = grey.astype(np.int64)
    across, down = g[:, 2:] - g[:, :-2], g[2:] - g[:-2]
    gx = np.abs(across[:-2] + 2 * across[1:-1] + across[2:])
    gy = np.abs(down[:, :-2] + 2 * down[:, 1:-1] + down[:, 2:])
    big, small = np.maximum(gx, gy), np.minimum(gx, gy)
    edge = big > EDGE_STRENGTH
    (low, low_of), (high, high_of) = BOND_RATIOS
    bond = edge & (small * low_of >= big * low) & (small * high_of <= big * high)
    axis = np.count_nonzero(edge & (small * AXIS_RATIO[1] < big * AXIS_RATIO[0]))
    h, w = bond.shape
    reach, along = max(h, w) / 8, 0
    for dx, dy in ((round(reach * 0.866), round(reach * 0.5)), (round(reach * 0.5), round(reach * 0.866))):
        if dx < w and dy < h:
            along += np.count_nonzero(bond[:h - dy, :w - dx] & bond[dy:, dx:])
            along += np.count_nonzero(bond[dy:, :w - dx] & bond[:h - dy, dx:])
    edges, n_bond = max(np.count_nonzero(edge), 1), np.count_nonzero(bond)
    return n_bond / edges, axis / edges, edges / edge.size, along / max(n_bond, 1)  # (no edges: 1 / size)


def test_edge_statistics_equal_the_plain_two_dimensional_sobel():
    from pmc_hub.labels.image import _edge_directions

    rng = np.random.default_rng(7)
    greys = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((3, 3), (3, 40), (40, 3), (9, 9), (17, 200), (96, 64))]
    greys += [np.where(g > 200, 0, 255).astype(np.uint8) for g in greys]  # sparse strokes: long ones and short ones
    rings = np.asarray(_smooth(Image.open(FIGURES / "illumination-k__pubmed-client__assets__test_data__pmc_articles__"
                                          "pmc10487465__pmc10487465__ijms-24-13282-g005.jpg").convert("L")))
    greys.append(rings)
    for grey in greys:
        assert _edge_directions(grey) == _edge_directions_2d(grey), grey.shape
    assert _edge_directions_2d(rings)[0] > 0  # the drawing has bonds: the comparison is not of empty masks


def test_blocks_count_the_content_of_every_band_exactly():
    rng = np.random.default_rng(3)
    blank = rng.random((120, 90)) < 0.7
    blank[30:34] = blank[70:75] = True  # three bands of rows
    blank[:, 40:43] = True
    boxes, content = content_blocks(blank)
    assert len(boxes) >= 4
    for (x0, y0, x1, y1), inside in zip(boxes.tolist(), content.tolist()):
        assert inside == np.count_nonzero(~blank[y0:y1, x0:x1])


@pytest.mark.parametrize("size", [(1, 400), (400, 1), (1, 1)])
def test_a_one_pixel_wide_or_high_image_has_finite_statistics(size):
    """A strip of one pixel (hostile or broken input) has no neighbour steps: its statistics stay
    finite, so its label's score is a number, not NaN."""
    pixels = (np.random.RandomState(0).rand(size[1], size[0], 3) * 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    img = media.inspect("strip.png", buf.getvalue())
    with np.errstate(all="raise"):
        features = image_features(img.thumbnail.rgb, img.thumbnail.grey, *size)
    assert features.shape == (len(FEATURES),) and np.isfinite(features).all()
