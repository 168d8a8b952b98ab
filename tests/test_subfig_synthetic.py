"""Synthetic compound figures: exact, seeded, varied; COCO output; panels from real images."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from pmc_hub.resources import sample_dir
from pmc_hub.subfigures.synthetic import (FolderPanels, SyntheticConfig, SyntheticError, make_figure, panel_label,
                                          write_dataset)

ROOT = Path(__file__).resolve().parents[1]


def test_same_seed_same_figure_other_seed_other_figure():
    a, b = make_figure(3, 5), make_figure(3, 5)
    assert a.image.tobytes() == b.image.tobytes() and a.boxes == b.boxes
    assert make_figure(4, 5).image.tobytes() != a.image.tobytes()


def test_boxes_lie_inside_the_image_and_never_overlap():
    for i in range(40):
        fig = make_figure(0, i)
        w, h = fig.image.size
        assert 1 <= len(fig.boxes) <= 25
        for k, b in enumerate(fig.boxes):
            assert 0 <= b.x0 < b.x1 <= w and 0 <= b.y0 < b.y1 <= h
            assert all(b.intersection(o) == 0 for o in fig.boxes[k + 1:]), (i, fig.layout)


def test_no_gap_figures_have_touching_panels_and_gap_figures_have_gutters():
    figs = [make_figure(1, i) for i in range(100)]
    no_gap = [f for f in figs if f.no_gap]
    assert 8 <= len(no_gap) <= 35  # 20% expected
    multi = [f for f in no_gap if len(f.boxes) > 1]
    # a panel's edge is another panel's edge
    f = multi[0]
    edges = {b.x1 for b in f.boxes} | {b.y1 for b in f.boxes}
    assert edges & ({b.x0 for b in f.boxes} | {b.y0 for b in f.boxes})
    gapped = next(f for f in figs if not f.no_gap and len(f.boxes) > 1)
    assert gapped.extra["gap"] >= SyntheticConfig().min_gap


def test_layouts_include_spanning_panels_uneven_rows_and_labels():
    figs = [make_figure(2, i) for i in range(120)]
    layouts = " ".join(f.layout for f in figs)
    assert "+span" in layouts and "[" in layouts
    styles = {f.extra["label_style"] for f in figs}
    assert {"a", "A", "(a)", "i", "1"} <= styles
    labelled = next(f for f in figs if f.extra["label_style"] == "(a)" and len(f.boxes) >= 3)
    # every panel of a labelled figure carries its label, in reading order
    assert labelled.labels == [f"({chr(97 + k)})" for k in range(len(labelled.boxes))]
    assert all(f.labels == [""] * len(f.boxes) for f in figs if f.extra["label_style"] is None)


def test_panel_label_styles():
    assert [panel_label(s, 3) for s in ("a", "A", "(a)", "i", "1")] == ["d", "D", "(d)", "iv", "4"]
    assert panel_label("i", 8) == "ix"


def test_panels_from_a_folder_of_real_figures(tmp_path):
    panels = FolderPanels(sample_dir() / "elife-30274-v1")
    fig = make_figure(0, 1, panels=panels)
    assert fig.image.mode == "RGB" and fig.boxes
    with pytest.raises(SyntheticError, match="no images"):
        FolderPanels(tmp_path)


def test_write_dataset_writes_coco(tmp_path):
    path = write_dataset(tmp_path / "set", 5, seed=9)
    coco = json.loads(path.read_text())
    assert len(coco["images"]) == 5 and coco["categories"][0]["name"] == "subfigure"
    first = coco["images"][0]
    with Image.open(tmp_path / "set" / first["file_name"]) as im:
        assert im.size == (first["width"], first["height"])
    anns = [a for a in coco["annotations"] if a["image_id"] == first["id"]]
    assert [a["bbox"] for a in anns] == [b.to_xywh() for b in make_figure(9, 0).boxes]
    assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"])


def test_make_compound_figures_script(tmp_path):
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(ROOT / "scripts/make_compound_figures.py"), "--count", "3", "--out", str(out),
                    "--seed", "2", "--format", "jpg"], check=True, capture_output=True)
    coco = json.loads((out / "annotations.json").read_text())
    assert [im["file_name"] for im in coco["images"]] == [f"images/00000{i}.jpg" for i in range(3)]
