"""Subfigure rows from figure rows: lossless crops, subcaptions, parent metadata, schema."""
import io
import shutil

import datasets
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from figure_rows import figure_row, sample_rows
from pmc_hub.schema import InvalidRecord, features, load_schema, validate
from pmc_hub.subfigures.classical import ClassicalSplitter
from pmc_hub.subfigures.records import SubfigureError, iter_subfigure_rows, subfigure_rows
from pmc_hub.subfigures.synthetic import SyntheticConfig, make_figure


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def compound_row():
    cfg = SyntheticConfig(no_gap_share=0.0, max_rows=1, max_cols=3)
    fig = next(f for f in (make_figure(11, i, cfg) for i in range(100)) if f.layout == "1x3")
    caption = "Three panels. (A) The first panel. (B) The second panel. (C) The third panel."
    row = figure_row(_png(fig.image), article="PMC1", figure_id="F1", file_name="f1.png", caption=caption,
                     license_category="noncommercial", article_title="A title", figure_label="Figure 1")
    return fig, row


def test_compound_figure_rows_pair_crops_with_subcaptions(compound_row):
    fig, row = compound_row
    rows = list(subfigure_rows(row, ClassicalSplitter()))
    assert [r["subcaption"] for r in rows] == ["The first panel.", "The second panel.", "The third panel."]
    assert [r["subfigure_label"] for r in rows] == ["a", "b", "c"]
    assert {r["alignment_method"] for r in rows} == {"label-order"}
    assert [r["subfigure_key"] for r in rows] == [f"PMC1/F1/f1.png/{i}" for i in range(3)]
    assert all(r["parent_image_key"] == "PMC1/F1/f1.png" and r["subfigure_count"] == 3 for r in rows)
    # parent metadata travels; the noncommercial row stays noncommercial
    assert {(r["article_title"], r["figure_label"], r["license_category"]) for r in rows} == {("A title", "Figure 1", "noncommercial")}
    # every box lies inside a true panel, and the crop is exactly those parent pixels
    parent = np.asarray(fig.image)
    for r, true in zip(rows, fig.boxes):
        x0, y0, x1, y1 = r["subfigure_box"]
        assert true.x0 <= x0 and true.y0 <= y0 and x1 <= true.x1 and y1 <= true.y1
        crop = Image.open(io.BytesIO(r["image"]["bytes"]))
        assert crop.format == "PNG" and crop.size == (x1 - x0, y1 - y0) == (r["image_size"]["width"], r["image_size"]["height"])
        assert np.array_equal(np.asarray(crop), parent[y0:y1, x0:x1])


def test_letters_read_on_the_panels_pick_their_subcaptions():
    # panels lettered down the columns: reading order alone would give the top-right panel B's text
    im = Image.new("RGB", (560, 460), "white")
    d = ImageDraw.Draw(im)
    for letter, (x0, y0) in zip("ABC", [(10, 6), (10, 236), (290, 6)]):
        d.text((x0, y0), letter, fill="black", font=ImageFont.load_default(size=22))
        d.rectangle([x0 + 24, y0 + 30, x0 + 250, y0 + 210], fill=(60 + 60 * "ABC".index(letter), 110, 170))
    row = figure_row(_png(im), article="PMC3", figure_id="F3", file_name="f3.png",
                     caption="Columns. (A) Top left. (B) Bottom left. (C) Top right.")
    rows = list(subfigure_rows(row, ClassicalSplitter()))
    got = {(r["subfigure_box"][0] // 100, r["subfigure_box"][1] // 100): (r["subfigure_label"], r["subcaption"]) for r in rows}
    assert got == {(0, 0): ("a", "Top left."), (0, 2): ("b", "Bottom left."), (2, 0): ("c", "Top right.")}
    assert {(r["alignment_method"], r["alignment_confidence"]) for r in rows} == {("panel-letter", 0.95)}


def test_jpeg_and_tiff_parents_are_cropped_from_decoded_pixels_into_png():
    rows = [r for r in sample_rows() if r["image_format"] in ("JPEG", "TIFF")][:2]
    assert {r["image_format"] for r in rows} <= {"JPEG", "TIFF"} and rows
    for row in rows:
        parent = Image.open(io.BytesIO(row["image"]["bytes"]))
        for sub in subfigure_rows(row, ClassicalSplitter()):
            x0, y0, x1, y1 = sub["subfigure_box"]
            crop = Image.open(io.BytesIO(sub["image"]["bytes"]))
            assert crop.format == "PNG" and sub["image_format"] == "PNG"
            assert np.array_equal(np.asarray(crop), np.asarray(parent.crop((x0, y0, x1, y1))))
            assert sub["subcaption"] == row["caption"]  # these captions print no labels


def test_a_figure_with_nothing_to_split_is_one_whole_subfigure():
    im = Image.new("RGB", (80, 60), "white")
    im.paste((200, 30, 30), (10, 10, 70, 50))
    row = figure_row(_png(im), article="PMC2", figure_id="F2", file_name="f2.png", caption="One red square.")
    (sub,) = subfigure_rows(row, ClassicalSplitter())
    assert sub["subfigure_box"] == [0, 0, 80, 60] and sub["subfigure_score"] == 0.0
    assert (sub["alignment_method"], sub["alignment_confidence"], sub["subcaption"]) == ("single-panel", 1.0, "One red square.")


def test_batched_stream_reports_undecodable_figures(compound_row):
    _, good = compound_row
    bad = dict(good, image={"bytes": b"not an image", "path": "x.png"}, image_key="PMC1/F9/x.png")
    with pytest.raises(SubfigureError, match="PMC1/F9/x.png: cannot decode image"):
        list(iter_subfigure_rows([bad], ClassicalSplitter()))
    errors = []
    rows = list(iter_subfigure_rows([good, bad, good], ClassicalSplitter(), batch_size=2, on_error=lambda r, e: errors.append(str(e))))
    assert len(rows) == 6 and len(errors) == 1 and "PMC1/F9/x.png" in errors[0]


def test_schema_shares_parent_field_definitions_and_rows_load_with_datasets(compound_row, tmp_path, monkeypatch):
    sub_schema, fig_schema = load_schema("subfigure")["properties"], load_schema("figure")["properties"]
    for name in ("article_accession_id", "article_reference_list", "license_category", "figure_id"):
        assert sub_schema[name] == fig_schema[name]
    rows = list(subfigure_rows(compound_row[1], ClassicalSplitter()))
    bad = dict(rows[0], alignment_method="guess")
    with pytest.raises(InvalidRecord, match="alignment_method"):
        validate("subfigure", bad, "k")

    import datasets

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "subfigures_noncommercial").mkdir()
    datasets.Dataset.from_list(rows, features=features("subfigure")).to_parquet(str(tmp_path / "subfigures_noncommercial/train-00000-of-00001.parquet"))
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "subfigures_noncommercial/*.parquet"), split="train",
                               cache_dir=str(tmp_path / "cache"))
    assert ds.features == features("subfigure")
    assert ds[1]["subcaption"] == "The second panel." and ds[1]["image"].size == tuple(rows[1]["image_size"].values())


def _touching_images() -> Image.Image:
    """A photo beside its drawn key, touching, no gutter: alone, the colour edge between them cuts it."""
    rng = np.random.default_rng(1)
    im = Image.new("RGB", (420, 200), "white")
    for x0, w, base in ((0, 300, (120, 100, 90)), (300, 120, (40, 60, 160))):
        noise = np.clip(np.array(base)[None, None, :] + rng.normal(0, 25, (200, w, 3)), 0, 255).astype(np.uint8)
        im.paste(Image.fromarray(noise), (x0, 0))
    return im


def test_the_figure_rows_caption_guides_the_split():
    im = _touching_images()
    assert len(ClassicalSplitter().split(im)) == 2  # the image alone
    plain = figure_row(_png(im), article="PMC5", figure_id="F5", file_name="f5.png", caption="Map of the study site and its key.")
    lettered = figure_row(_png(im), article="PMC5", figure_id="F6", file_name="f6.png", caption="(a) The site. (b) Its key.")
    for rows in (list(subfigure_rows(plain, ClassicalSplitter())),
                 [r for r in iter_subfigure_rows([plain, lettered], ClassicalSplitter()) if r["parent_image_key"].endswith("f5.png")]):
        assert [(r["subfigure_count"], r["subfigure_box"]) for r in rows] == [(1, [0, 0, 420, 200])]
    rows = [r for r in iter_subfigure_rows([plain, lettered], ClassicalSplitter()) if r["parent_image_key"].endswith("f6.png")]
    assert [r["subcaption"] for r in rows] == ["The site.", "Its key."]


def test_a_subfigures_build_passes_each_figures_caption(tmp_path):
    from conftest import run_build
    from pmc_hub.output import SUBFIGURE_CONFIGS
    from pmc_hub.resources import sample_dir

    # the bundled PLOS ONE article, its figure 1 ("Study locations. ...", no panels named) drawn
    # as two touching images
    article = tmp_path / "plosone-0091296"
    shutil.copytree(sample_dir() / "plosone-0091296", article)
    _touching_images().save(article / "g001.png")
    out = tmp_path / "out"
    run_build([article], out, subfigures=True)
    commercial = next(c for c in SUBFIGURE_CONFIGS if c.endswith("_commercial"))
    subs = datasets.load_dataset(str(out), commercial, split="train")
    first = [r for r in subs if r["parent_image_key"].endswith("g001.png")]
    assert [(r["subfigure_count"], r["subfigure_box"], r["alignment_method"]) for r in first] == [(1, [0, 0, 420, 200], "single-panel")]
