"""The transformers subfigure detector: real from_pretrained loading and inference on a tiny
random DAB-DETR saved to tmp_path, NMS, and the training script at toy scale."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from pmc_hub.subfigures.boxes import Box
from pmc_hub.subfigures.detector import DetectorError, DetectorSettings, TransformerDetector, load_detector, nms
from pmc_hub.subfigures import metrics
from pmc_hub.subfigures.synthetic import make_figure

ROOT = Path(__file__).resolve().parents[1]


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 4.]])
    scores = torch.tensor([0.5, 0.9, 0.8, 0.7])
    # box 1 beats box 0 (IoU .82); box 3 overlaps box 1 by IoU 36/104 = .35 > .2: dropped
    assert nms(boxes, scores, 0.2).tolist() == [1, 2]
    # at IoU .5 box 3 survives
    assert nms(boxes, scores, 0.5).tolist() == [1, 2, 3]
    assert nms(torch.zeros((0, 4)), torch.zeros(0), 0.2).numel() == 0


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from transformers import ConditionalDetrImageProcessor, DabDetrConfig, DabDetrForObjectDetection, ResNetConfig

    torch.manual_seed(0)
    backbone = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 16, 32], depths=[1, 1, 1, 1], out_features=["stage4"])
    config = DabDetrConfig(backbone_config=backbone, num_queries=12, encoder_layers=1, decoder_layers=1, encoder_ffn_dim=32,
                           decoder_ffn_dim=32, hidden_size=32, encoder_attention_heads=2, decoder_attention_heads=2,
                           num_labels=1, id2label={0: "subfigure"}, label2id={"subfigure": 0})
    path = tmp_path_factory.mktemp("tiny-dab-detr")
    DabDetrForObjectDetection(config).save_pretrained(path)
    ConditionalDetrImageProcessor(size={"shortest_edge": 96, "longest_edge": 128}).save_pretrained(path)
    return str(path)


def test_tiny_model_loads_and_detects_in_batches(tiny_model):
    detector = load_detector(tiny_model, DetectorSettings(batch_size=2, threshold=0.0, device="cpu"))
    assert isinstance(detector, TransformerDetector) and detector.name == f"transformers:{tiny_model}"
    images = [make_figure(0, i).image for i in range(3)] + [Image.new("L", (64, 48), 200)]
    found = detector.detect(images)
    assert len(found) == 4
    # batches of 2 give each image the boxes it gets alone: images are not mixed up in a batch
    alone = [detector.detect([im])[0] for im in images]
    assert [len(f) for f in found] == [len(f) for f in alone]
    flat = [v for f in found for b in f for v in b.to_xywh()]
    assert flat == pytest.approx([v for f in alone for b in f for v in b.to_xywh()], abs=0.5)
    for boxes in found:
        assert boxes == sorted(boxes, key=lambda b: (b.y0, b.x0))  # reading order
        # NMS at IoU 0.2 leaves no two boxes overlapping more than that
        assert all(a.iou(b) <= 0.2 + 1e-6 for k, a in enumerate(boxes) for b in boxes[k + 1:])


def test_whole_figure_is_kept_when_nothing_scores_above_the_threshold(tiny_model):
    detector = TransformerDetector(tiny_model, DetectorSettings(threshold=1.01, device="cpu"))
    im = make_figure(0, 1).image
    assert detector.detect([im]) == [[Box(0, 0, im.width, im.height, 0.0)]]


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(DetectorError, match=str(tmp_path / "nope")):
        TransformerDetector(str(tmp_path / "nope"), local_files_only=True)


def test_train_detector_script_runs_two_steps_and_saves_a_loadable_model(tmp_path):
    out = tmp_path / "det"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts/train_detector.py"), "--synthetic", "8", "--steps", "2", "--tiny",
         "--batch-size", "4", "--short-edge", "96", "--long-edge", "128", "--eval-count", "3", "--device", "cpu",
         "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "step 2/2 loss" in proc.stdout
    scores = json.loads((out / "eval.json").read_text())
    # eval.json is the saved model's score on held-out figures (seed 0 + 1): the model loads and
    # scores the same again
    detector = TransformerDetector(str(out), DetectorSettings(device="cpu", batch_size=4))
    figs = [make_figure(1, i) for i in range(3)]
    again = metrics.score(detector.detect([f.image for f in figs]), [f.boxes for f in figs]).to_dict()
    assert scores == pytest.approx(again)
    assert scores["figures"] == 3
