"""Match subfigure boxes to subcaptions.

Boxes are put in reading order (rows top to bottom, left to right within a row; a row is the
boxes that start above the bottom of the row's shortest box, so uneven rows and panels that
span two rows read naturally), then paired in order with the caption's labels. Position words
(left, right, top, bottom, middle) pick the box by geometry. A box without a subcaption keeps
the full caption, and says so in ``method`` / ``confidence``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .boxes import Box
from .subcaptions import CaptionSplit

# alignment_method values (schemas/subfigure.schema.json lists the same)
SINGLE = "single-panel"  # one box: the whole caption is its caption
LABEL_ORDER = "label-order"  # caption labels paired with boxes in reading order
POSITION = "position-words"  # "left", "top"... matched by geometry
UNMATCHED = "full-caption"  # no subcaption for this box: the full caption is kept
METHODS = (SINGLE, LABEL_ORDER, POSITION, UNMATCHED)


@dataclass
class Alignment:
    box: Box
    index: int  # position in reading order, 0-based
    subcaption: str
    label: str | None  # the caption's panel label ("a", "b"...) when matched by label
    method: str
    confidence: float


def reading_order(boxes: Sequence[Box]) -> list[int]:
    """Indices of ``boxes`` in reading order."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i].y0, boxes[i].x0))
    rows: list[list[int]] = []
    row_bottom = 0.0
    for i in order:
        b = boxes[i]
        slack = 0.1 * b.height
        if rows and b.y0 < row_bottom - slack:
            rows[-1].append(i)
            row_bottom = min(row_bottom, b.y1)
        else:
            rows.append([i])
            row_bottom = b.y1
    return [i for row in rows for i in sorted(row, key=lambda k: boxes[k].x0)]


def align(boxes: Sequence[Box], split: CaptionSplit) -> list[Alignment]:
    """One `Alignment` per box, in reading order."""
    order = reading_order(boxes)
    ordered = [boxes[i] for i in order]
    full = split.caption
    if len(ordered) == 1 and not split.subcaptions:
        return [Alignment(ordered[0], 0, full, None, SINGLE, 1.0)]
    if split.style == "position":
        return _by_position(ordered, split)
    labels = split.labels
    if not labels:
        return [Alignment(b, k, full, None, UNMATCHED, 0.0) for k, b in enumerate(ordered)]
    # Counts that agree are strong evidence the boxes are the labelled panels.
    confidence = 0.9 if len(labels) == len(ordered) else 0.5
    out = []
    for k, b in enumerate(ordered):
        if k < len(labels):
            sub = split.for_label(labels[k])
            text = sub.text if sub else ""
            out.append(Alignment(b, k, text or full, labels[k], LABEL_ORDER if text else UNMATCHED, confidence if text else 0.0))
        else:
            out.append(Alignment(b, k, full, None, UNMATCHED, 0.0))
    return out


def _by_position(ordered: list[Box], split: CaptionSplit) -> list[Alignment]:
    chosen: dict[int, tuple[str, str]] = {}
    for sub in split.subcaptions:
        k = _pick(ordered, sub.position or "", set(chosen))
        if k is not None:
            chosen[k] = (sub.text, sub.position or "")
    return [Alignment(b, k, chosen[k][0], None, POSITION, 0.6) if k in chosen and chosen[k][0]
            else Alignment(b, k, split.caption, None, UNMATCHED, 0.0)
            for k, b in enumerate(ordered)]


def _pick(boxes: list[Box], word: str, taken: set[int]) -> int | None:
    free = [k for k in range(len(boxes)) if k not in taken]
    if not free:
        return None
    cx = {k: (boxes[k].x0 + boxes[k].x1) / 2 for k in free}
    cy = {k: (boxes[k].y0 + boxes[k].y1) / 2 for k in free}
    if word == "left":
        return min(free, key=lambda k: cx[k])
    if word == "right":
        return max(free, key=lambda k: cx[k])
    if word == "top":
        return min(free, key=lambda k: cy[k])
    if word == "bottom":
        return max(free, key=lambda k: cy[k])
    if word == "middle":
        mx = sum(cx.values()) / len(free)
        my = sum(cy.values()) / len(free)
        return min(free, key=lambda k: (cx[k] - mx) ** 2 + (cy[k] - my) ** 2)
    return None
