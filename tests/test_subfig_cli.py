"""`pmc-hub subfigures detect`: COCO results for any images, ids from a truth file by file name,
scored by `pmc-hub eval subfigures`; user errors in one line."""
import json
import shutil
from pathlib import Path

import pytest

from cli_checks import one_line_error
from pmc_hub.cli import main

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "tests/data/figures/subfigures.coco.json"
# eLife 46793 fig 9 (6 lettered panels A-F) and the eLife 30274 fig 1 sample figure
IMAGES = ["tests/data/figures/stencila__encoda__src__codecs__jats____fixtures____elife-46793-v1__fig9.jpg",
          "pmc_hub/sample_data/elife-30274-v1/fig1.jpg"]


def _ids():
    return {im["file_name"]: im["id"] for im in json.loads(TRUTH.read_text(encoding="utf-8"))["images"]}


def test_detect_writes_coco_results_with_the_truth_files_ids(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "pred.json"
    assert main(["subfigures", "detect", *IMAGES, "--truth", str(TRUTH), "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    ids = _ids()
    assert {r["image_id"] for r in results} == {ids[IMAGES[0]], ids[IMAGES[1]]}
    first = [r for r in results if r["image_id"] == ids[IMAGES[0]]]
    assert sorted(r["label"] for r in first) == list("abcdef")  # the letters read on the panels
    assert all(r["category_id"] == 1 and len(r["bbox"]) == 4 for r in results)
    assert f"{len(results)} boxes in 2 images (classical-xycut, 2 with their caption)" in capsys.readouterr().out
    # scored against the truth file: the two figures are found, no other figure is
    scores = tmp_path / "scores.json"
    assert main(["eval", "subfigures", "--pred", str(out), "--truth", str(TRUTH), "--out", str(scores)]) == 0
    assert json.loads(scores.read_text())["predicted_boxes"] == len(results)


def test_ids_count_from_one_without_truth_and_match_by_base_name(tmp_path):
    copy = tmp_path / Path(IMAGES[1]).name
    shutil.copy(ROOT / IMAGES[1], copy)
    out = tmp_path / "pred.json"
    assert main(["subfigures", "detect", str(ROOT / IMAGES[0]), str(copy), "--out", str(out)]) == 0
    assert {r["image_id"] for r in json.loads(out.read_text())} == {1, 2}
    # fig1.jpg is the base name of several truth images: the full path decides
    assert main(["subfigures", "detect", str(ROOT / IMAGES[0]), "--truth", str(TRUTH), "--out", str(out)]) == 0
    assert {r["image_id"] for r in json.loads(out.read_text())} == {_ids()[IMAGES[0]]}


def test_detect_uses_the_captions_of_the_truth_file(tmp_path, monkeypatch, capsys):
    # eLife 46793 fig 8 supplement 1: its caption names panels A-E, whose letters the image alone
    # cannot place (see test_subfig_classical)
    monkeypatch.chdir(ROOT)
    image = "tests/data/figures/stencila__encoda__src__codecs__jats____fixtures____elife-46793-v1__fig8-figsupp1.jpg"
    guided, alone = tmp_path / "guided.json", tmp_path / "alone.json"
    assert main(["subfigures", "detect", image, "--truth", str(TRUTH), "--out", str(guided)]) == 0
    assert "1 with their caption" in capsys.readouterr().out
    assert main(["subfigures", "detect", image, "--truth", str(TRUTH), "--no-captions", "--out", str(alone)]) == 0
    assert "0 with their caption" in capsys.readouterr().out
    assert sorted(r["label"] for r in json.loads(guided.read_text())) == list("abcde")
    assert all(r["label"] is None for r in json.loads(alone.read_text()))


@pytest.mark.parametrize("argv, words", [
    (["subfigures", "detect", "{tmp}/none.png", "--out", "{tmp}/p.json"], "none.png: cannot read the image"),
    (["subfigures", "detect", "{tmp}/fig1.jpg", "--truth", str(TRUTH), "--out", "{tmp}/p.json"],
     "fig1.jpg: no image of that file name"),
    (["subfigures", "detect", str(ROOT / IMAGES[1]), "--truth", "{tmp}/t.json", "--out", "{tmp}/p.json"], "t.json: cannot read JSON"),
    (["subfigures", "detect", str(ROOT / IMAGES[1]), "--model", "{tmp}/no-model", "--out", "{tmp}/p.json"], "no-model"),
])
def test_user_errors_are_one_line(argv, words, tmp_path, capsys):
    shutil.copy(ROOT / IMAGES[1], tmp_path / "fig1.jpg")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    assert words.replace("{tmp}", str(tmp_path)) in one_line_error(capsys)
