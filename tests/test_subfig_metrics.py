"""Subfigure metrics against hand-computed cases, COCO input, and `eval subfigures`."""
import json

import pytest

from cli_checks import one_line_error
from pmc_hub.cli import main
from pmc_hub.subfigures import metrics
from pmc_hub.subfigures.boxes import Box

T = [Box(0, 0, 100, 100), Box(110, 0, 210, 100)]  # two true panels side by side


def test_imageclef_counts_boxes_mostly_inside_a_true_panel():
    # inside panel 1 (ratio 1), 75% inside panel 2 (ratio 0.75 >= 2/3): both correct
    pred = [Box(10, 10, 90, 90), Box(85, 0, 205, 100)]
    # second box: 120 wide, 95 of it inside panel 2 -> 0.79
    assert metrics.imageclef_figure_score(pred, T) == 1.0


def test_imageclef_rejects_a_box_straddling_two_panels_and_divides_by_the_larger_count():
    # 0-210 covers both panels: at most 100/210 of it in either -> wrong; 1 pred, 2 true
    assert metrics.imageclef_figure_score([Box(0, 0, 210, 100)], T) == 0.0
    # three predictions, two correct -> 2 / max(2, 3)
    pred = [Box(0, 0, 100, 100), Box(110, 0, 210, 100), Box(0, 0, 210, 100)]
    assert metrics.imageclef_figure_score(pred, T) == pytest.approx(2 / 3)
    # one true panel validates one prediction only
    assert metrics.imageclef_figure_score([Box(0, 0, 50, 100), Box(50, 0, 100, 100)], T) == pytest.approx(1 / 2)


def test_imageclef_accuracy_is_the_mean_over_figures():
    preds = [[Box(0, 0, 100, 100), Box(110, 0, 210, 100)], [Box(0, 0, 210, 100)]]
    assert metrics.imageclef_accuracy(preds, [T, T]) == pytest.approx(0.5)
    with pytest.raises(metrics.MetricsInputError, match="1 prediction lists for 2 figures"):
        metrics.imageclef_accuracy(preds[:1], [T, T])


def test_precision_recall_and_ap_hand_computed():
    # IoU(Box(0,0,100,50), T0) = 0.5 -> a hit at 0.5; one false positive; panel 2 missed
    preds = [[Box(0, 0, 100, 50, 0.9), Box(300, 0, 400, 100, 0.8)]]
    p, r = metrics.precision_recall(preds, [T], 0.5)
    assert (p, r) == (0.5, 0.5)
    # ranked: hit (P=1, R=.5), miss. Envelope: P=1 up to R=.5, 0 after -> 51 of 101 points
    assert metrics.average_precision(preds, [T], 0.5) == pytest.approx(51 / 101)
    # at IoU 0.55 the first box no longer hits: AP 0; mAP averages 0.5..0.95
    assert metrics.average_precision(preds, [T], 0.55) == 0.0
    assert metrics.mean_average_precision(preds, [T]) == pytest.approx(51 / 101 / 10)


def test_ap_ranks_by_score_across_figures():
    truths = [[Box(0, 0, 10, 10)], [Box(0, 0, 10, 10)]]
    # the false positive scores highest: P = 0, 1/2, 2/3 at R = 0, .5, 1 -> envelope 2/3 everywhere
    preds = [[Box(0, 0, 10, 10, 0.5), Box(50, 50, 60, 60, 0.9)], [Box(0, 0, 10, 10, 0.4)]]
    assert metrics.average_precision(preds, truths) == pytest.approx(2 / 3)
    perfect = [[Box(0, 0, 10, 10, 0.5)], [Box(0, 0, 10, 10, 0.4)]]
    assert metrics.mean_average_precision(perfect, truths) == pytest.approx(1.0)


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def _truth(tmp_path):
    return _write(tmp_path, "truth.json", {
        "images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
        "annotations": [{"id": 1, "image_id": 1, "bbox": [0, 0, 100, 100], "category_id": 1},
                        {"id": 2, "image_id": 1, "bbox": [110, 0, 100, 100], "category_id": 1},
                        {"id": 3, "image_id": 2, "bbox": [0, 0, 50, 50], "category_id": 1}],
        "categories": [{"id": 1, "name": "subfigure"}]})


def test_coco_files_are_scored_and_missing_images_count_as_no_prediction(tmp_path):
    truth = _truth(tmp_path)
    pred = _write(tmp_path, "pred.json", [{"image_id": 1, "bbox": [0, 0, 100, 100], "score": 0.9, "category_id": 1},
                                          {"image_id": 1, "bbox": [110, 0, 100, 100], "score": 0.8, "category_id": 1}])
    s = metrics.evaluate_coco_files(pred, truth)
    assert (s.figures, s.true_boxes, s.predicted_boxes) == (2, 3, 2)
    assert s.imageclef_accuracy == pytest.approx(0.5)  # figure 2 has no prediction
    assert (s.precision_50, s.recall_50) == (1.0, pytest.approx(2 / 3))


def test_bad_coco_input_names_the_file_and_annotation(tmp_path):
    truth = _truth(tmp_path)
    bad = _write(tmp_path, "bad.json", [{"image_id": 9, "bbox": [0, 0, 1, 1]}])
    with pytest.raises(metrics.MetricsInputError, match=r"bad.json: annotation #0: image_id 9"):
        metrics.evaluate_coco_files(bad, truth)
    neg = _write(tmp_path, "neg.json", [{"image_id": 1, "bbox": [0, 0, -1, 1]}])
    with pytest.raises(metrics.MetricsInputError, match=r"neg.json: annotation #0: bbox"):
        metrics.evaluate_coco_files(neg, truth)
    with pytest.raises(metrics.MetricsInputError, match="not a COCO dataset"):
        metrics.evaluate_coco_files(neg, neg)


def test_eval_subfigures_command_prints_and_writes_scores(tmp_path, capsys):
    truth = _truth(tmp_path)
    out = tmp_path / "scores.json"
    # predictions as a COCO dataset file: the truth itself scores perfectly
    assert main(["eval", "subfigures", "--pred", truth, "--truth", truth, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "imageclef_accuracy" in printed and "1.0000" in printed
    assert json.loads(out.read_text())["map_50_95"] == pytest.approx(1.0)
    assert main(["eval", "subfigures", "--pred", str(tmp_path / "missing.json"), "--truth", truth]) == 2
    assert "missing.json: cannot read JSON" in one_line_error(capsys)


def test_a_subcaption_is_right_with_its_phrases_and_without_another_panels():
    caption = "Title. (a) MA consumption and (b) total volume, when MA was offered. (c) Weight of mice."
    truth = {"a": ["MA consumption", "when MA was offered"], "b": ["total volume", "when MA was offered"],
             "c": ["Weight of mice"]}
    assert metrics.subcaption_right("MA consumption, when MA was offered.", "a", truth, caption)
    assert not metrics.subcaption_right("MA consumption", "a", truth, caption)  # the shared words are missing
    assert not metrics.subcaption_right("MA consumption and total volume, when MA was offered.", "a", truth, caption)
    # a phrase both panels list ("when MA was offered") is no foreign phrase for either
    assert metrics.subcaption_right("total volume, when MA was offered.", "b", truth, caption)
