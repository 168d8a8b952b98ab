"""Subfigure detection metrics: ImageCLEF 2016 compound-figure-separation accuracy,
precision / recall at an IoU threshold, and COCO-style average precision (one class).

Predictions and truths are given per figure, in the same order: ``list[list[Box]]``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import UsageError
from .boxes import Box

IMAGECLEF_OVERLAP = 2 / 3


class MetricsInputError(UsageError, ValueError):
    """Prediction or truth input that cannot be scored (names the file/figure and the reason)."""


@dataclass
class SubfigureScores:
    figures: int
    true_boxes: int
    predicted_boxes: int
    imageclef_accuracy: float
    precision_50: float
    recall_50: float
    ap_50: float
    map_50_95: float

    def to_dict(self) -> dict:
        return asdict(self)


def imageclef_figure_score(pred: Sequence[Box], truth: Sequence[Box]) -> float:
    """One figure's ImageCLEF score: correct predicted boxes / max(#true, #predicted).

    A predicted box is correct when its overlap with a true panel covers at least 2/3 of the
    predicted box; each true panel validates at most one predicted box (best overlaps first).
    """
    if not pred and not truth:
        return 1.0
    pairs = []
    for i, p in enumerate(pred):
        if p.area <= 0:
            continue
        for j, t in enumerate(truth):
            ratio = p.intersection(t) / p.area
            if ratio >= IMAGECLEF_OVERLAP - 1e-9:
                pairs.append((ratio, i, j))
    used_p, used_t = set(), set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    return len(used_p) / max(len(pred), len(truth))


def imageclef_accuracy(preds: Sequence[Sequence[Box]], truths: Sequence[Sequence[Box]]) -> float:
    """Mean ImageCLEF figure score over figures."""
    _check_lengths(preds, truths)
    if not truths:
        return 0.0
    return float(np.mean([imageclef_figure_score(p, t) for p, t in zip(preds, truths)]))


def _match(pred: Sequence[Box], truth: Sequence[Box], iou_threshold: float) -> list[bool]:
    """COCO matching: predictions by descending score take the best-IoU free true box."""
    order = sorted(range(len(pred)), key=lambda i: -pred[i].score)
    taken: set[int] = set()
    hits = [False] * len(pred)
    for i in order:
        best, best_j = iou_threshold - 1e-9, -1
        for j, t in enumerate(truth):
            if j in taken:
                continue
            iou = pred[i].iou(t)
            if iou >= best:
                best, best_j = iou, j
        if best_j >= 0:
            taken.add(best_j)
            hits[i] = True
    return hits


def precision_recall(preds: Sequence[Sequence[Box]], truths: Sequence[Sequence[Box]], iou_threshold: float = 0.5) -> tuple[float, float]:
    """Precision and recall of all given boxes (no score cut) at ``iou_threshold``."""
    _check_lengths(preds, truths)
    tp = sum(sum(_match(p, t, iou_threshold)) for p, t in zip(preds, truths))
    n_pred = sum(len(p) for p in preds)
    n_true = sum(len(t) for t in truths)
    return (tp / n_pred if n_pred else 0.0), (tp / n_true if n_true else 0.0)


def average_precision(preds: Sequence[Sequence[Box]], truths: Sequence[Sequence[Box]], iou_threshold: float = 0.5) -> float:
    """COCO-style AP (101-point interpolated precision envelope) at one IoU threshold."""
    _check_lengths(preds, truths)
    n_true = sum(len(t) for t in truths)
    if n_true == 0:
        return 0.0
    scored: list[tuple[float, bool]] = []
    for p, t in zip(preds, truths):
        scored.extend(zip((b.score for b in p), _match(p, t, iou_threshold)))
    if not scored:
        return 0.0
    scored.sort(key=lambda s: -s[0])
    hits = np.array([h for _, h in scored], dtype=float)
    tp = np.cumsum(hits)
    fp = np.cumsum(1 - hits)
    recall = tp / n_true
    precision = tp / (tp + fp)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    points = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, points, side="left")
    return float(np.mean([envelope[i] if i < len(envelope) else 0.0 for i in idx]))


def mean_average_precision(preds: Sequence[Sequence[Box]], truths: Sequence[Sequence[Box]]) -> float:
    """COCO mAP: mean AP over IoU thresholds 0.50, 0.55, ..., 0.95."""
    return float(np.mean([average_precision(preds, truths, t) for t in np.linspace(0.5, 0.95, 10)]))


def score(preds: Sequence[Sequence[Box]], truths: Sequence[Sequence[Box]]) -> SubfigureScores:
    """Every metric at once."""
    precision, recall = precision_recall(preds, truths, 0.5)
    return SubfigureScores(
        figures=len(truths),
        true_boxes=sum(len(t) for t in truths),
        predicted_boxes=sum(len(p) for p in preds),
        imageclef_accuracy=imageclef_accuracy(preds, truths),
        precision_50=precision,
        recall_50=recall,
        ap_50=average_precision(preds, truths, 0.5),
        map_50_95=mean_average_precision(preds, truths),
    )


def _check_lengths(preds: Sequence, truths: Sequence) -> None:
    if len(preds) != len(truths):
        raise MetricsInputError(f"{len(preds)} prediction lists for {len(truths)} figures")


def subcaption_right(text: str, letter: str, truth: dict[str, list[str]], caption: str) -> bool:
    """Whether ``text`` is a right subcaption for panel ``letter``: it holds every phrase the
    truth gives that panel, and no phrase that belongs only to another panel (a phrase printed
    more than once in the caption is never held against a panel). ``truth``: letter -> phrases,
    as in the ``subcaptions`` of tests/data/figures/subfigures.coco.json."""
    flat = " ".join(caption.split())
    own = truth[letter]
    foreign = (p for other, phrases in truth.items() if other != letter for p in phrases
               if p not in own and not any(p in q for q in own) and flat.count(p) == 1)
    return all(p in text for p in own) and not any(p in text for p in foreign)


# --- COCO JSON in -------------------------------------------------------------------------


def _coco_dataset(path: str | Path) -> dict:
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or "annotations" not in data:
        raise MetricsInputError(f"{path}: not a COCO dataset file (needs 'images' and 'annotations')")
    return data


def load_coco_truth(path: str | Path) -> tuple[list[int], dict[int, str], list[list[Box]]]:
    """COCO dataset JSON -> (image ids in file order, id -> file_name, boxes per image)."""
    data = _coco_dataset(path)
    ids = [int(im["id"]) for im in data["images"]]
    names = {int(im["id"]): im.get("file_name", str(im["id"])) for im in data["images"]}
    boxes = _group(path, data["annotations"], ids)
    return ids, names, [boxes[i] for i in ids]


def load_coco_captions(path: str | Path) -> dict[int, str]:
    """COCO dataset JSON -> id -> caption, for the image entries that carry a text ``caption``."""
    return {int(im["id"]): im["caption"] for im in _coco_dataset(path)["images"] if isinstance(im.get("caption"), str)}


def load_coco_predictions(path: str | Path, image_ids: Sequence[int]) -> list[list[Box]]:
    """COCO results JSON (a list of {image_id, bbox, score}) or a COCO dataset file whose
    annotations carry scores -> boxes per image, in ``image_ids`` order (missing -> none)."""
    data = _read_json(path)
    anns = data.get("annotations") if isinstance(data, dict) else data
    if not isinstance(anns, list):
        raise MetricsInputError(f"{path}: expected a list of COCO results or a COCO dataset file")
    boxes = _group(path, anns, image_ids)
    return [boxes[i] for i in image_ids]


def _group(path: str | Path, anns: list, image_ids: Sequence[int]) -> dict[int, list[Box]]:
    known = set(image_ids)
    out: dict[int, list[Box]] = {i: [] for i in image_ids}
    for n, ann in enumerate(anns):
        try:
            image_id = int(ann["image_id"])
            bbox = ann["bbox"]
            if len(bbox) != 4 or bbox[2] < 0 or bbox[3] < 0:
                raise ValueError(f"bbox {bbox!r} is not [x, y, w, h] with w, h >= 0")
            box = Box.from_xywh(bbox, float(ann.get("score", 1.0)))
        except (KeyError, TypeError, ValueError) as e:
            raise MetricsInputError(f"{path}: annotation #{n}: {e}") from e
        if image_id not in known:
            raise MetricsInputError(f"{path}: annotation #{n}: image_id {image_id} is not in the truth file")
        out[image_id].append(box)
    return out


def _read_json(path: str | Path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as e:
        raise MetricsInputError(f"{path}: cannot read JSON: {e}") from e


# --- COCO JSON out ------------------------------------------------------------------------


def coco_results(image_ids: Sequence[int], boxes: Sequence[Sequence[Box]], category_id: int = 1) -> list[dict]:
    """COCO results ([{image_id, category_id, bbox: [x, y, w, h], score, label}]) of the boxes
    found on each image; ``label``: the panel letter the detector read on the box, or None."""
    _check_lengths(boxes, image_ids)
    return [{"image_id": int(image_id), "category_id": category_id, "bbox": [round(v, 2) for v in b.to_xywh()],
             "score": round(float(b.score), 4), "label": b.label}
            for image_id, found in zip(image_ids, boxes) for b in found]


def evaluate_coco_files(pred_path: str | Path, truth_path: str | Path) -> SubfigureScores:
    ids, _, truths = load_coco_truth(truth_path)
    return score(load_coco_predictions(pred_path, ids), truths)
