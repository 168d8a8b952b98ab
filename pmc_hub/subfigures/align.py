"""Match subfigure boxes to subcaptions.

A box whose panel letter the detector read takes the caption's text for that letter. The
boxes are put in reading order (rows top to bottom, left to right within a row; a row is the
boxes that start above the bottom of the row's shortest box, so uneven rows and panels that span
two rows read naturally; down the columns instead when the letters read say so), and the boxes
without a letter take the caption letters left between their lettered neighbours, in order. Position words (left, right, top, bottom, middle) pick the box by
geometry. A box without a subcaption keeps the full caption, and says so in ``method`` /
``confidence``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .boxes import Box
from .subcaptions import CaptionSplit

# alignment_method values (schemas/subfigure.schema.json lists the same)
SINGLE = "single-panel"  # one box: the whole caption is its caption
LETTER = "panel-letter"  # the letter read on the panel is a caption label
LABEL_ORDER = "label-order"  # caption labels paired with boxes in reading order
POSITION = "position-words"  # "left", "top"... matched by geometry
UNMATCHED = "full-caption"  # no subcaption for this box: the full caption is kept
METHODS = (SINGLE, LETTER, LABEL_ORDER, POSITION, UNMATCHED)
_LETTER_CONFIDENCE = 0.95


@dataclass
class Alignment:
    box: Box
    index: int  # position in reading order, 0-based
    subcaption: str
    label: str | None  # the caption's panel label ("a", "b"...) when matched by label
    method: str
    confidence: float


def reading_order(boxes: Sequence[Box], by_columns: bool = False) -> list[int]:
    """Indices of ``boxes`` in reading order: by rows, or (``by_columns``) down each column."""
    if by_columns:
        boxes = [Box(b.y0, b.x0, b.y1, b.x1) for b in boxes]
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


def _order(boxes: Sequence[Box], labels: list[str]) -> list[int]:
    """Reading order by rows, or down the columns when the letters read on the panels say so
    (fewer of them out of caption order)."""
    rank = {label: i for i, label in enumerate(labels)}

    def disorder(order: list[int]) -> int:
        read = [rank[boxes[i].label] for i in order if boxes[i].label in rank]
        return sum(a > b for k, a in enumerate(read) for b in read[k + 1:])

    rows, columns = reading_order(boxes), reading_order(boxes, by_columns=True)
    return columns if disorder(columns) < disorder(rows) else rows


def align(boxes: Sequence[Box], split: CaptionSplit) -> list[Alignment]:
    """One `Alignment` per box, in reading order."""
    labels = sorted(set(split.labels))  # letter order: "(a)(c)(d) ... (b)" may print b last
    ordered = [boxes[i] for i in _order(boxes, labels)]
    full = split.caption
    if len(ordered) == 1 and not split.subcaptions:
        return [Alignment(ordered[0], 0, full, None, SINGLE, 1.0)]
    if split.style == "position":
        return _by_position(ordered, split)
    if not labels:
        return [Alignment(b, k, full, None, UNMATCHED, 0.0) for k, b in enumerate(ordered)]
    # Counts that agree are strong evidence the boxes are the labelled panels.
    confidence = 0.9 if len(labels) == len(ordered) else 0.5
    out = []
    for k, (b, (label, read)) in enumerate(zip(ordered, _letters(ordered, labels))):
        sub = split.for_label(label) if label else None
        if sub is None or not sub.text:
            out.append(Alignment(b, k, full, None, UNMATCHED, 0.0))
        else:
            out.append(Alignment(b, k, sub.text, label, LETTER if read else LABEL_ORDER,
                                 _LETTER_CONFIDENCE if read else confidence))
    return out


def _letters(ordered: list[Box], labels: list[str]) -> list[tuple[str | None, bool]]:
    """The caption label of each box in reading order, and whether it was read on the panel: a
    box's own letter when the caption has it (first box per letter), else the next unused
    caption letter after the previous box's and before the next lettered box's."""
    rank = {label: i for i, label in enumerate(labels)}
    read: list[str | None] = [None] * len(ordered)
    for k, b in enumerate(ordered):
        if b.label in rank and b.label not in read:
            read[k] = b.label
    used = {label for label in read if label}
    out: list[tuple[str | None, bool]] = []
    last = -1
    for k in range(len(ordered)):
        if read[k] is not None:
            last = rank[read[k]]
            out.append((read[k], True))
            continue
        bound = next((rank[r] for r in read[k + 1:] if r is not None), len(labels))
        pick = next((i for i in range(last + 1, bound) if labels[i] not in used), None)
        if pick is None:
            out.append((None, False))
        else:
            used.add(labels[pick])
            last = pick
            out.append((labels[pick], False))
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
