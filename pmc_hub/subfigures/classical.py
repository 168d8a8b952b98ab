"""The CPU subfigure splitter, the default detector: panel labels first, then whitespace.

1. The figure becomes ink on a background (`ink.ink_map`): the gutter colour is found, every
   pixel that differs from it is ink; images larger than ``max_side`` are reduced first.
2. The panel letters drawn on the figure are read (`labels.find_labels`).
3. With two or more letters, the figure is cut by them: title lines above every letter are left
   out (`_Layout.below_titles`), then a region is cut at its runs of empty
   rows or columns, the pieces holding no letter join the piece before them (a letter sits at
   the top left of its panel, so everything after it up to the next letter is its panel: axes,
   legends, tick labels, a chart under the letter's title), and each piece is cut again until it
   holds one letter. Letters that no gap separates (panels that touch) are cut apart at a colour
   edge between them, else at the emptiest line just before the later letter. When the letters
   cannot place the panels (most letters sit away from their panel's top left, or a gap cuts
   off graphics while leaving every letter on one side: letters drawn on images were missed,
   unless they are all the letters the caption names),
   the figure is cut as if it had none.
4. Without letters, the figure is cut at its gutters (recursive XY-cut), and a piece is only a
   panel when it is big enough and holds graphics, not only text (tick labels, titles, legends
   and word-by-word splits of a text block join their neighbour); a figure left with one such
   piece, not counting text strips (a tree's label column, a legend) nor, unless the caption
   names panels, tables (a chart's table of terms under it: `tables.is_table`) nor the molecules
   of a chemistry scheme (`drawings.is_scheme`), is one box (a plain chart, an unlettered
   reaction scheme stays whole). A figure without any gap that is mostly ink is
   cut at the lines drawn between its panels (lines of one colour that stand out from the lines
   beside them), else at long straight colour edges (panels that touch).
5. Given the figure's caption (a build gives every figure's): when the letters read did not split
   the figure, or split it with fewer letters than the caption names, they are read again more
   loosely and used when they are exactly the caption's letters (and keep those read before); a caption naming no panels keeps a figure without gaps
   whole unless colour edges part it into three or more panels. Without a caption, steps 1-4 alone.

Boxes come back in the image's pixels, in reading order, each with the letter it holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

from .boxes import Box, whole
from .components import Components, connected_components
from .drawings import DrawingConfig, is_scheme, names_diagram, names_scheme
from .ink import InkMap, ink_map
from .labels import LabelConfig, PanelLabel, find_labels
from .subcaptions import CaptionSplit, split_caption
from .tables import TableConfig, is_table

Region = tuple[int, int, int, int]  # x0, y0, x1, y1 in working pixels


@dataclass
class SplitterConfig:
    max_side: int = 1024  # larger images are reduced first (speed); boxes are mapped back
    tolerance: int = 16  # per-channel difference from the background that counts as ink
    min_gap: int = 2  # pixels (working scale)
    gap_specks: float = 0.003  # share of a line inside a gap that may be isolated specks (JPEG noise, a dot)
    separator_density: float = 0.9  # a 1-px gap counts between strips this full of ink (image montages)
    separator_noise: float = 0.05  # ... and when at most this share of it is ink
    min_panel: int = 16  # pixels: thinner pieces are never panels
    min_panel_share: float = 0.3  # pieces thinner than this share of the largest sibling merge back
    text_share: float = 0.03  # the tallest glyph measured, as a share of the longest side (at least 8 px)
    graphic_size: float = 3.0  # text blobs are at most this many glyph heights high (or wide, rotated)
    solid_fill: float = 0.6  # ... and a narrow upright blob this full of ink is a bar or axis, not text
    solid_share: float = 0.5  # a piece at least this much ink is an image, not text
    text_strip: float = 0.8  # a piece whose ink is this much text is a label column or legend, no panel
    marker_share: float = 0.5  # solid round blobs of one size holding this share of the text are markers (dots)
    min_area_share: float = 0.1  # a panel covers at least this share of its largest sibling's area
    band_span: float = 0.9  # a piece spanning this share of the figure's width (or height) ...
    band_depth: float = 0.2  # ... and at most this share of its height (width) is a band along it ...
    band_ratio: float = 2.5  # ... no panel beside a piece that is no band and this many times as deep
    fragment_share: float = 0.04  # of a compound figure, smaller pieces are fragments, not panels
    max_growth: float = 0.25  # ... and join a panel they grow by at most this share, else are left out
    max_rule: int = 6  # pixels: the widest line drawn between touching panels
    rule_contrast: float = 0.2  # ... whose colour this share of the pixels beside it (each side) differs from
    edge_threshold: int = 40  # colour step across a panel boundary
    edge_coverage: float = 0.9  # share of a touching-panel boundary that steps or is blank
    edge_min_step: float = 0.7  # share of it that must step
    edge_reach: int = 3  # pixels each side of a boundary compared (thin lines are not boundaries)
    max_edges: int = 5  # more colour edges across a region than this: cells of one image, not panels
    edge_min_ink: float = 0.2  # share of a gapless figure that must be ink for colour-edge cuts
    max_depth: int = 8
    read_labels: bool = True
    max_label_offset: float = 0.35  # the median letter must sit this near its panel's top-left corner
    max_centred_offset: float = 0.12  # ... or every letter this near the middle of its panel's top
    letter_lead: float = 2.0  # letter heights of content allowed before a letter in its own panel
    title_lines: float = 3.0  # letter heights: a line of text above every letter at most this deep is a title, in no panel
    letter_halo: int = 2  # pixels of faint ink around a letter's crisp glyph
    labels: LabelConfig = field(default_factory=LabelConfig)
    tables: TableConfig = field(default_factory=TableConfig)  # a table piece is no panel of a figure without letters
    # the pieces of a chemistry scheme (structures, arrows, reagents) are no panels: `drawings.is_scheme`
    drawings: DrawingConfig | None = field(default_factory=DrawingConfig)
    # The caption as evidence (only when one is given):
    # the letters a caption names are looked for again with this looser reading, kept only when
    # exactly the caption's letters are found (so glyphs from 5 px tall count: small bold letters)
    caption_labels: LabelConfig = field(default_factory=lambda: LabelConfig(
        min_score=0.35, clear_left=0.22, clear_right=0.32, clear_top=0.12, clear_bottom=0.06,
        crowded_start=0.5, max_height_share=0.15, min_height=5))
    # a caption naming no panels: a figure without gaps is cut at colour edges only into this many panels
    unnamed_edge_panels: int = 3


class ClassicalSplitter:
    """``detect(images) -> list[list[Box]]``; one box for the whole image when no split is found."""

    name = "classical-xycut"

    def __init__(self, config: SplitterConfig | None = None):
        self.config = config or SplitterConfig()

    def detect(self, images: Sequence[Image.Image], captions: Sequence[str | None] | None = None) -> list[list[Box]]:
        return [self.split(im, caption) for im, caption in zip(images, captions or [None] * len(images))]

    def split(self, image: Image.Image, caption: str | None = None) -> list[Box]:
        """The panels of ``image``; with its ``caption``, the panels the caption names guide the
        split (see `_caption_labels` and `_Layout.by_gaps`)."""
        cfg = self.config
        ink = ink_map(image, cfg.max_side, cfg.tolerance)
        named = split_caption(caption) if caption is not None else None
        labels = find_labels(ink, cfg.labels) if cfg.read_labels else []
        layout = _Layout(ink, cfg, named.panel_count if named is not None else None, names_scheme(caption),
                         names_diagram(caption))
        panels = layout.run(labels)
        if named is not None and cfg.read_labels and not any(label for _, label in panels):
            again = self._caption_labels(ink, named)
            if {lab.letter for lab in again} == set(named.labels):
                panels = layout.run(again)  # the same layout: its connected components are not found twice
            labels = again or labels
        elif named is not None and cfg.read_labels and {lab.letter for lab in labels} < set(named.labels):
            panels = self._more_letters(ink, named, labels, layout) or panels
        if labels and not any(label for _, label in panels):
            panels = layout.letter(panels, labels)
        if len(panels) < 2:
            return [whole(image, 0.0)]
        s = ink.scale
        boxes = [Box(x0 * s, y0 * s, x1 * s, y1 * s, 1.0, label.letter if label else None).clipped(image.width, image.height)
                 for (x0, y0, x1, y1), label in panels]
        return sorted(boxes, key=lambda b: (b.y0, b.x0))

    def _more_letters(self, ink: InkMap, named: CaptionSplit, labels: list[PanelLabel],
                      layout: "_Layout") -> list[tuple[Region, PanelLabel | None]]:
        """For a figure the letters read did split but that misses some letters its caption names
        (small letters beside large ones): the panels cut by the looser reading when it finds
        exactly the caption's letters, the ones read before at the same places, and every panel
        it cuts holds one; else none."""
        again = self._caption_labels(ink, named)
        if {lab.letter for lab in again} != set(named.labels):
            return []
        where = {lab.letter: lab.box for lab in again}
        if any(where[lab.letter] != lab.box for lab in labels):
            return []
        panels = layout.run(again)
        return panels if all(label for _, label in panels) else []

    def _caption_labels(self, ink: InkMap, named: CaptionSplit) -> list[PanelLabel]:
        """For a figure the letters read did not split (none read, or they could not place the
        panels) whose caption names two or more letters: the letters a looser reading finds, if
        they are all the caption's (else none). A run that spells what the caption names is
        no chance reading, so glyphs crowded by their panel or a little weak are trusted then to
        place the panels, and to name the panels cut without them (`_Layout.letter`) when they
        are some of the caption's letters.
        (A figure the letters did split is left as it is: filling in a letter missing from its
        run misplaced it on the development set.)"""
        letters = set(named.labels)
        if len(letters) < 2:
            return []
        again = find_labels(ink, self.config.caption_labels)
        return again if {lab.letter for lab in again} <= letters else []


def _runs(empty: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True values."""
    padded = np.concatenate([[False], empty, [False]]).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _area(r: Region) -> int:
    return (r[2] - r[0]) * (r[3] - r[1])


def _union(a: Region, b: Region) -> Region:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _lead_offset(r: Region, labels: list[PanelLabel]) -> float:
    """How far (share of the region's width or height) the region's top-left label is from its
    top-left corner: near 0 when the region is the panels those labels head."""
    lead = min(labels, key=lambda lab: lab.box[0] + lab.box[1])
    w, h = max(1, r[2] - r[0]), max(1, r[3] - r[1])
    return max((lead.box[0] - r[0]) / w, (lead.box[1] - r[1]) / h)


def _foot_offset(r: Region, label: PanelLabel) -> float:
    """How far (share of the region's width or height) ``label`` is from the bottom left corner
    or the middle of the bottom edge of the region: a letter under its panel."""
    w, h = max(1, r[2] - r[0]), max(1, r[3] - r[1])
    across = min(label.box[0] - r[0], abs((label.box[0] + label.box[2]) - (r[0] + r[2])) / 2)
    return max(across / w, (r[3] - label.box[3]) / h)


def _foot_lead_offset(r: Region, labels: list[PanelLabel]) -> float:
    """`_foot_offset` of the label nearest the region's foot: near 0 when the region is the
    panels those labels stand under."""
    return min(_foot_offset(r, lab) for lab in labels)


def _complete(labels: list[PanelLabel]) -> bool:
    """The letters run from "a" with none missing."""
    return "".join(sorted(lab.letter for lab in labels)) == "abcdefghijklmnopqrstuvwxyz"[:len(labels)]


def _centred_offset(r: Region, label: PanelLabel) -> float:
    """How far (share of the region's width or height) ``label`` is from the middle of the
    region's top edge: a letter centred over its panel."""
    w, h = max(1, r[2] - r[0]), max(1, r[3] - r[1])
    across = abs((label.box[0] + label.box[2]) - (r[0] + r[2])) / 2
    return max(across / w, (label.box[1] - r[1]) / h)


_KEY = 1 << 16  # blob height * _KEY + width: one integer per blob size


def _depth(r: Region, root: Region, axis: int) -> float:
    """``r``'s extent along ``axis`` (0: x, 1: y) as a share of ``root``'s."""
    return (r[axis + 2] - r[axis]) / max(1, root[axis + 2] - root[axis])


def _lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values`` at ``wanted`` among the sorted ``keys``, 0 where absent."""
    at = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    return np.where(keys[at] == wanted, values[at], 0.0)


@dataclass
class _Blobs:
    """The connected components of a region: bounding-box sizes, ink pixels, the share of the
    box they fill, text or not; their boxes when they lie wholly inside it (None: measured by
    their parts inside)."""

    heights: np.ndarray
    widths: np.ndarray
    pixels: np.ndarray
    fill: np.ndarray
    text: np.ndarray
    boxes: np.ndarray | None = None


class _Unlabelled(Exception):
    """The letters read cannot place the panels (some panel has none)."""


def _center_in(label: PanelLabel, r: Region) -> bool:
    cx, cy = (label.box[0] + label.box[2]) / 2, (label.box[1] + label.box[3]) / 2
    return r[0] <= cx < r[2] and r[1] <= cy < r[3]


class _Layout:
    def __init__(self, ink: InkMap, cfg: SplitterConfig, named_panels: int | None = None, scheme_caption: bool = False,
                 diagram_caption: bool = False):
        # named_panels: how many panels the figure's caption names (None: no caption given);
        # scheme_caption: the caption says the figure is a scheme, a synthesis or structures;
        # diagram_caption: its first sentence says the figure is a flow chart or schematic
        self.ink, self.cfg, self.named_panels, self.scheme_caption = ink, cfg, named_panels, scheme_caption
        self.diagram_caption = diagram_caption
        h, w = ink.height, ink.width
        self.min_panel = max(cfg.min_panel, int(0.04 * min(h, w)))
        self._comps: Components | None = None
        self._glyph: float | None = None
        self._gaps: dict[tuple[Region, int], list[tuple[int, int]]] = {}  # `gaps`, once per region and axis

    # --- geometry -------------------------------------------------------------------------

    def trim(self, r: Region) -> Region | None:
        x0, y0, x1, y1 = r
        rows = np.flatnonzero(self.ink.row_profile(x0, y0, x1, y1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(self.ink.col_profile(x0, y0 + int(rows[0]), x1, y0 + int(rows[-1]) + 1))
        return x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1

    def profile(self, r: Region, axis: int) -> np.ndarray:
        """Ink per line across ``r``: axis 0 = rows (horizontal lines), 1 = columns."""
        return self.ink.row_profile(*r) if axis == 0 else self.ink.col_profile(*r)

    def gaps(self, r: Region, axis: int) -> list[tuple[int, int]]:
        """Empty lines across ``r`` (absolute coordinates): runs of at least ``min_gap``, or thinner
        runs of nearly empty lines (JPEG leaves specks on a hairline) between two strips of solid
        ink (white hairlines between images of a montage). Computed once per region and axis: the
        title lines, the cut by letters and its retry with letters under panels scan the same root."""
        if (r, axis) not in self._gaps:
            self._gaps[r, axis] = self._scan_gaps(r, axis)
        return self._gaps[r, axis]

    def _scan_gaps(self, r: Region, axis: int) -> list[tuple[int, int]]:
        prof = self.profile(r, axis)
        length = r[2] - r[0] if axis == 0 else r[3] - r[1]
        base = r[1] if axis == 0 else r[0]
        blank = prof == 0
        # a line with a few isolated specks (JPEG noise, a stray dot) between two blank lines
        specks = np.zeros_like(blank)
        specks[1:-1] = (prof[1:-1] <= max(1, self.cfg.gap_specks * length)) & blank[:-2] & blank[2:]
        empty = [(s, e) for s, e in _runs(blank | specks) if e - s >= self.cfg.min_gap]
        hairlines = [(s, e) for s, e in _runs(prof <= self.cfg.separator_noise * length)
                     if e - s < self.cfg.min_gap and self._between_solid(prof, s, e, length)]
        return [(base + s, base + e) for s, e in sorted(empty + hairlines) if s > 0 and e < len(prof)]

    def _between_solid(self, prof: np.ndarray, s: int, e: int, length: int) -> bool:
        d = 3
        if s < d or e + d > len(prof):
            return False
        need = self.cfg.separator_density * length
        return bool(prof[s - d:s].min() >= need and prof[e:e + d].min() >= need)

    def pieces(self, r: Region, axis: int, cuts: list[tuple[int, int]]) -> list[Region]:
        """``r`` cut at ``cuts`` (absolute [start, end) along ``axis``), each piece trimmed."""
        lo, hi = (r[1], r[3]) if axis == 0 else (r[0], r[2])
        out, start = [], lo
        for s, e in cuts + [(hi, hi)]:
            if s > start:
                piece = (r[0], start, r[2], s) if axis == 0 else (start, r[1], s, r[3])
                trimmed = self.trim(piece)
                if trimmed:
                    out.append(trimmed)
            start = e
        return out

    def rules(self, r: Region, axis: int) -> list[tuple[int, int]]:
        """Lines drawn between touching panels (their frames): thin runs of lines across ``r``
        that are ink all along and of one colour."""
        x0, y0, x1, y1 = r
        full = self.profile(r, axis) == (x1 - x0 if axis == 0 else y1 - y0)
        lines = np.flatnonzero(full)
        # only the lines that are ink all along are looked at for their colours
        px = self.ink.planes[:, y0:y1, x0:x1].take(lines, axis=axis + 1)
        spread = (px.max(axis=2 - axis) - px.min(axis=2 - axis)).max(axis=0)
        full[lines] = spread <= self.cfg.tolerance
        base = y0 if axis == 0 else x0
        return [(base + s, base + e) for s, e in _runs(full)
                if s > 0 and e < len(full) and e - s <= self.cfg.max_rule and self._stands_out(r, axis, s, e)]

    def _stands_out(self, r: Region, axis: int, s: int, e: int) -> bool:
        """Whether the line of one colour at [s, e) across ``r`` (relative to its start) is drawn
        between panels: beside it, ``edge_reach`` away on each side, ``rule_contrast`` of the
        pixels differ from its colour. A dark stretch of a gel or a photograph, of the colour of
        the lines around it, is no rule (round 16)."""
        x0, y0, x1, y1 = r
        px = self.ink.planes[:, y0:y1, x0:x1]
        size = px.shape[1 + axis]
        line = px.take(s, axis=axis + 1).astype(np.int16)
        colour = np.median(line, axis=1, keepdims=True)
        for k in (s - self.cfg.edge_reach, e - 1 + self.cfg.edge_reach):
            if not 0 <= k < size:
                continue
            beside = px.take(k, axis=axis + 1).astype(np.int16)
            if (np.abs(beside - colour) > self.cfg.tolerance).any(axis=0).mean() < self.cfg.rule_contrast:
                return False
        return True

    def edges(self, r: Region, axis: int) -> list[tuple[int, int]]:
        """Lines where panels touch, as zero-width cuts [k, k): the colour differs between the
        pixels ``edge_reach`` before and after the line along most of it (so a thin drawn line,
        such as a plot axis, is no boundary), and the rest of the line is background."""
        x0, y0, x1, y1 = r
        px = self.ink.planes[:, y0:y1, x0:x1]
        ink = self.ink.mask[y0:y1, x0:x1]
        d = self.cfg.edge_reach
        if ink.shape[axis] <= 2 * d:
            return []
        if axis == 0:
            ahead, behind = px[:, 2 * d:], px[:, :-2 * d]
            before, after = ink[:-2 * d], ink[2 * d:]
        else:
            ahead, behind = px[:, :, 2 * d:], px[:, :, :-2 * d]
            before, after = ink[:, :-2 * d], ink[:, 2 * d:]
        # |ahead - behind| per channel without leaving uint8; a step in any channel counts
        step = ((np.maximum(ahead, behind) - np.minimum(ahead, behind)) > self.cfg.edge_threshold).any(axis=0)
        blank = ~before & ~after
        along = 1 - axis
        stepping = step.sum(axis=along) / step.shape[along]
        coverage = (step | blank).sum(axis=along) / step.shape[along]
        lines = np.flatnonzero((coverage >= self.cfg.edge_coverage) & (stepping >= self.cfg.edge_min_step)) + d
        if lines.size and int((np.diff(lines) > 2 * d).sum()) + 1 > self.cfg.max_edges:
            return []  # a grid of colour cells (a heatmap), not panels
        base = y0 if axis == 0 else x0
        return [(base + int(k), base + int(k)) for k in lines]

    # --- with panel labels ----------------------------------------------------------------

    def run(self, labels: list[PanelLabel]) -> list[tuple[Region, PanelLabel | None]]:
        root = self.trim((0, 0, self.ink.width, self.ink.height))
        if root is None:
            return []
        if len(labels) >= 2:
            # letters heading their panels; else, when the caption names as many panels, every
            # letter of a run from "a" under its panel ("(a)" centred under a micrograph): the
            # panel is the content above it (stray glyphs of an unlettered figure read as a, b, c
            # can pass for letters under panels: 1 of 1000 generated figures without the caption)
            for under in (False, True):
                try:
                    panels = self.by_labels(root if under else self.below_titles(root, labels), labels, 0, under)
                except _Unlabelled:
                    panels = []
                # letters not at their panels' top left nor all centred over them (drawn at another
                # corner, or stray glyphs read as letters): the cut by letters is not to be trusted
                placed = self._under_placed(panels) if under else self._placed(panels)
                if panels and placed:
                    return panels
                if under or not self._all_named(labels):
                    break
        return [(r, None) for r in self.by_gaps(root)]

    def below_titles(self, root: Region, labels: list[PanelLabel]) -> Region:
        """The figure under its title lines: the rows of the figure above its first letter that
        are each one line of text (no deeper than ``title_lines`` letter heights, and not an
        image) belong to no panel, so they are left out before the letters cut it ("Figure S5,
        related to Figure 4" over panels A-C: round 20). Letters at their panels' top left head
        them, so nothing above the first letter is a panel's."""
        pieces = self.pieces(root, 0, self.gaps(root, 0))
        first = min(lab.box[1] for lab in labels)
        deepest = self.cfg.title_lines * max(lab.box[3] - lab.box[1] for lab in labels)
        top = None
        for x0, y0, x1, y1 in pieces[:-1]:
            if y1 > first or y1 - y0 > deepest or self.ink.count(x0, y0, x1, y1) >= self.cfg.solid_share * _area((x0, y0, x1, y1)):
                break
            top = y1
        rest = self.trim((root[0], top, root[2], root[3])) if top is not None else None
        return rest or root

    def letter(self, panels: list[tuple[Region, PanelLabel | None]], labels: list[PanelLabel]) -> list[tuple[Region, PanelLabel | None]]:
        """Panels cut without letters named by the letters read that could not cut them (one
        missed, or their panels apart by gaps anyway): a panel holding exactly one letter, at its
        top left or at its foot, takes it; none are named unless two are."""
        named = []
        for r, _ in panels:
            held = [lab for lab in labels if _center_in(lab, r)]
            fits = len(held) == 1 and min(_lead_offset(r, held), _foot_offset(r, held[0])) <= self.cfg.max_label_offset
            named.append(held[0] if fits else None)
        letters = [lab for lab in named if lab]
        if len(letters) < 2 or not _complete(letters):
            return panels  # a letter missed may be misread as the next one
        return [(r, lab) for (r, _), lab in zip(panels, named)]

    def _under_placed(self, panels: list[tuple[Region, PanelLabel | None]]) -> bool:
        """Whether every panel cut by letters under their panels has its letter at its foot."""
        lettered = [(r, lab) for r, lab in panels if lab]
        return (len(lettered) == len(panels) >= 2 and _complete([lab for _, lab in lettered])
                and max(_foot_offset(r, lab) for r, lab in lettered) <= self.cfg.max_label_offset)

    def _placed(self, panels: list[tuple[Region, PanelLabel | None]]) -> bool:
        """Whether the letters head the panels cut by them: most at their panel's top left, or
        (when they run from "a" without a gap) every one centred over its panel, or every one
        under it (at its left or middle)."""
        lettered = [(r, lab) for r, lab in panels if lab]
        if not lettered:
            return False
        offsets = sorted(_lead_offset(r, [lab]) for r, lab in lettered)
        if offsets[len(offsets) // 2] <= self.cfg.max_label_offset:
            return True
        # other placements only when no letter was missed (a panel without its letter would
        # join its neighbour the wrong way)
        if not _complete([lab for _, lab in lettered]):
            return False
        if max(_centred_offset(r, lab) for r, lab in lettered) <= self.cfg.max_centred_offset:
            return True
        return max(_foot_offset(r, lab) for r, lab in lettered) <= self.cfg.max_label_offset

    def by_labels(self, r: Region, labels: list[PanelLabel], depth: int,
                  under: bool) -> list[tuple[Region, PanelLabel | None]]:
        """``r`` cut by ``labels`` until each piece holds one. ``under``: the letters stand under
        their panels, so the content before a letter is its panel's (else the content after it)."""
        if len(labels) == 1 or depth >= self.cfg.max_depth:
            return [(r, labels[0])]
        groups = self._label_groups(r, labels, depth == 0, under)
        if len(groups) < 2:
            return [(r, labels[0])]
        return [leaf for region, labs in groups for leaf in self.by_labels(region, labs, depth + 1, under)]

    def _label_groups(self, r: Region, labels: list[PanelLabel], root: bool,
                      under: bool) -> list[tuple[Region, list[PanelLabel]]]:
        """``r`` cut into pieces that each hold at least one label: at gaps, else (or when the
        gap cut leaves some letters at their pieces' top left and others far from it) at colour
        edges or just before a label. The cut whose pieces start nearest their first label wins
        (a letter sits at its panel's top left, or at its foot when ``under``), then the wider gaps."""
        offset = _foot_lead_offset if under else _lead_offset

        def key(groups: list[tuple[Region, list[PanelLabel]]], gap: int) -> tuple[float, int]:
            return -max(offset(region, labs) for region, labs in groups), gap

        best, best_key = [], None
        for axis in (0, 1):
            pieces = self._hand_over(self.pieces(r, axis, self.gaps(r, axis)), labels, axis, under)
            groups = self._group(pieces, labels, axis, under)
            if root and len(groups) == 1 and not self._all_named(labels) and self._unlabelled_panel(pieces, labels):
                raise _Unlabelled
            if len(groups) >= 2:
                groups = self._before_labels(groups, axis, under)
                gap = min(b[1 if axis == 0 else 0] - a[3 if axis == 0 else 2] for (a, _), (b, _) in zip(groups, groups[1:]))
                if best_key is None or key(groups, gap) > best_key:
                    best, best_key = groups, key(groups, gap)
        if best:
            offsets = [offset(region, labs) for region, labs in best]
            # letters placed at their pieces' top left, or all of them elsewhere (at another
            # corner: the cut by letters is then refused as a whole, see ``_placed``)
            if max(offsets) <= self.cfg.max_label_offset or min(offsets) > self.cfg.max_label_offset:
                return best
        others = [self._before_labels(self._group(self.pieces(r, axis, self.edges(r, axis)), labels, axis, under), axis, under)
                  for axis in (0, 1)]
        for groups in others + [self._cut_before_label(r, labels, under)]:
            if len(groups) >= 2 and (best_key is None or key(groups, 0) > best_key):
                best, best_key = groups, key(groups, 0)
        return best

    def _before_labels(self, groups: list[tuple[Region, list[PanelLabel]]], axis: int,
                       under: bool) -> list[tuple[Region, list[PanelLabel]]]:
        """Content that comes before a group's first letter along ``axis`` with no gap parting
        it from the letter's panel (an axis title or a legend of the panel before touches it)
        goes to the group before, cut at the emptiest line before the letter (nearest it)."""
        if under or min(_lead_offset(region, labs) for region, labs in groups) > self.cfg.max_label_offset:
            return groups  # no letter at its piece's top left: letters placed another way
        lo, hi = (1, 3) if axis == 0 else (0, 2)
        out = list(groups)
        for k in range(1, len(out)):
            (prev, prev_labs), (r, labs) = out[k - 1], out[k]
            start = min(lab.box[lo] for lab in labs)
            height = max(lab.box[3] - lab.box[1] for lab in labs)
            after = max([lab.box[hi] for lab in prev_labs] + [r[lo]])
            if start - r[lo] <= self.cfg.letter_lead * height or start <= after:
                continue
            prof = self.profile(r, axis)[after - r[lo]:start - r[lo]]
            if any(e - s >= self.cfg.min_gap for s, e in _runs(prof == 0)):
                continue  # a gap parts it from the letter's panel: text led to it (`_leads`)
            across = (r[2] - r[0]) if axis == 0 else (r[3] - r[1])
            cut = after + int(np.argmin(prof / max(1, across) + np.linspace(0.05, 0, prof.size)))
            head = self.trim((r[0], r[1], r[2], cut) if axis == 0 else (r[0], r[1], cut, r[3]))
            tail = self.trim((r[0], cut, r[2], r[3]) if axis == 0 else (cut, r[1], r[2], r[3]))
            if head is None or tail is None:
                continue
            out[k - 1] = (_union(prev, head), prev_labs)
            out[k] = (tail, labs)
        return out

    def _hand_over(self, pieces: list[Region], labels: list[PanelLabel], axis: int, under: bool) -> list[Region]:
        """A letter standing alone at the far end of a piece that holds another letter, level
        with the start of the next piece, heads that next piece when it holds none: the letter
        was set just before its panel's gutter (left of a tree's root, above a chart's title)."""
        lo, hi = (1, 3) if axis == 0 else (0, 2)
        across = 0 if axis == 0 else 1  # the coordinate a letter shares with its panel's start
        out = list(pieces)
        if under:
            return out
        for k in range(len(out) - 1):
            p, q = out[k], out[k + 1]
            held = [lab for lab in labels if _center_in(lab, p)]
            if len(held) < 2 or any(_center_in(lab, q) for lab in labels):
                continue
            for lab in held:
                h = lab.box[3] - lab.box[1]
                if abs(lab.box[across] - q[across]) > 2 * h:
                    continue
                tail = list(p)
                tail[lo] = lab.box[lo]
                pad = self.cfg.letter_halo
                near = (max(tail[0], lab.box[0] - pad), max(tail[1], lab.box[1] - pad),
                        min(tail[2], lab.box[2] + pad), min(tail[3], lab.box[3] + pad))
                if self.ink.count(*tail) != self.ink.count(*near):
                    continue  # the piece goes on past the letter: it is no letter before a gutter
                head = list(p)
                head[hi] = lab.box[lo]
                trimmed = self.trim(tuple(head))
                if trimmed is not None:
                    out[k], out[k + 1] = trimmed, _union(q, lab.box)
                    break
        return out

    def _all_named(self, labels: list[PanelLabel]) -> bool:
        """Whether the letters read are all the caption names (a run from "a" as long as its
        panels): then no letter was missed, and a piece of graphics holding none is part of a
        lettered panel (a FACS plot's statistics table under it) or a panel the caption leaves
        unlettered (a knowledge graph beside sections (a)-(c)), no sign of missed letters."""
        return self.named_panels == len(labels) and _complete(labels)

    def _unlabelled_panel(self, pieces: list[Region], labels: list[PanelLabel]) -> bool:
        """Whether a gap cut that leaves all the labels in one piece has cut off a panel: a
        piece of graphics, not text, and of a panel's size. Then letters were missed (drawn
        on images, too small), and the labels cannot place the panels."""
        if len(pieces) < 2:
            return False
        biggest = max(map(_area, pieces))
        panels = [p for p in pieces if _area(p) >= self.cfg.min_area_share * biggest and not self.is_text(p)]
        held = [any(_center_in(lab, p) for lab in labels) for p in panels]
        return any(held) and not all(held)

    def _group(self, pieces: list[Region], labels: list[PanelLabel], axis: int,
               under: bool) -> list[tuple[Region, list[PanelLabel]]]:
        """Pieces (in order along ``axis``) with their labels; a piece without a label joins the
        piece before it (the first ones join the first labelled piece), unless it starts a run
        of text that leads to the next lettered piece (`_leads`); with letters ``under`` their
        panels, the piece after it (`_group_under`)."""
        held = [[lab for lab in labels if _center_in(lab, piece)] for piece in pieces]
        if under:
            return self._group_under(pieces, held)
        groups: list[tuple[Region, list[PanelLabel]]] = []
        waiting: Region | None = None
        for k, piece in enumerate(pieces):
            if held[k]:
                region = _union(piece, waiting) if waiting else piece
                groups.append((region, held[k]))
                waiting = None
            elif groups and waiting is None and not self._leads(pieces, held, k, axis):
                groups[-1] = (_union(groups[-1][0], piece), groups[-1][1])
            else:
                waiting = _union(waiting, piece) if waiting else piece
        return groups

    @staticmethod
    def _group_under(pieces: list[Region], held: list[list[PanelLabel]]) -> list[tuple[Region, list[PanelLabel]]]:
        """`_group` for letters under their panels: a piece without a letter joins the lettered
        piece after it (the last ones join the last lettered piece)."""
        groups: list[tuple[Region, list[PanelLabel]]] = []
        waiting: Region | None = None
        for piece, labs in zip(pieces, held):
            waiting = _union(waiting, piece) if waiting else piece
            if labs:
                groups.append((waiting, labs))
                waiting = None
        if waiting and groups:
            groups[-1] = (_union(groups[-1][0], waiting), groups[-1][1])
        return groups

    def _leads(self, pieces: list[Region], held: list[list[PanelLabel]], k: int, axis: int) -> bool:
        """Whether the unlettered pieces from ``k`` on belong to the lettered piece after them:
        they are text or rules (the next chart's axis title and tick labels, left of its letter;
        a row's heading over a line drawn across, above the row's column titles: round 19) and
        the gap before them is wider than every gap between them and that piece."""
        lo, hi = (1, 3) if axis == 0 else (0, 2)
        before = pieces[k][lo] - pieces[k - 1][hi]
        for j in range(k, len(pieces) - 1):
            if held[j] or pieces[j + 1][lo] - pieces[j][hi] >= before:
                return False
            if held[j + 1]:  # the run reaches a letter: is it all text? (measured last: slower)
                return all(p[hi] - p[lo] <= self.cfg.max_rule or self.is_text(p) for p in pieces[k:j + 1])
        return False

    def _cut_before_label(self, r: Region, labels: list[PanelLabel], under: bool) -> list[tuple[Region, list[PanelLabel]]]:
        """Touching panels: cut between the labels where they are apart, at the emptiest line
        (nearest the later label) between the end of one label group and the start of the next."""
        best: tuple[float, int, int] | None = None  # (badness, axis, position)
        for axis in (0, 1):
            lo_i, hi_i = (0, 2) if axis == 1 else (1, 3)
            order = sorted(labels, key=lambda lab: lab.box[lo_i])
            for a, b in zip(order, order[1:]):
                left_end = max(lab.box[hi_i] for lab in order if lab.box[lo_i] <= a.box[lo_i])
                start = b.box[lo_i]
                if start <= left_end:
                    continue
                sub = (r[0], r[1], r[2], r[3])
                prof = self.profile(sub, axis)
                base = r[1] if axis == 0 else r[0]
                window = prof[left_end - base:start - base]
                if window.size == 0:
                    continue
                # prefer empty lines, then lines near the later label
                weights = window / max(1, (r[2] - r[0]) if axis == 0 else (r[3] - r[1])) + np.linspace(0.05, 0, window.size)
                k = int(np.argmin(weights))
                badness = float(weights[k])
                if best is None or badness < best[0]:
                    best = (badness, axis, left_end + k)
        if best is None:
            return []
        _, axis, pos = best
        return self._group(self.pieces(r, axis, [(pos, pos)]), labels, axis, under)

    # --- without labels -------------------------------------------------------------------

    def by_gaps(self, root: Region) -> list[Region]:
        # a flow chart's boxes, arrows and clip art stand apart at gaps like panels; a caption
        # calling the figure one diagram and naming no panels keeps it whole
        if self.diagram_caption and self.named_panels == 0:
            return [root]
        top = next(iter(self._gap_candidates(root)), None)
        # colour edges cut only figures without any gap that are mostly ink (touching images);
        # a chart without gaps is mostly background, and its bars and frames make edges
        self.use_edges = top is None and self.ink.count(*root) >= self.cfg.edge_min_ink * _area(root)
        regions = self._cut(root, 0)
        panels = self._substantial(regions) if len(regions) > 1 else regions
        # a caption naming no panels raises the bar for the weakest evidence, colour edges
        # parting two touching images (a photo beside its drawn key, a diagram's shaded halves)
        if self.use_edges and self.named_panels == 0 and len(panels) < self.cfg.unnamed_edge_panels:
            return [root]
        return panels

    def _cut(self, r: Region, depth: int) -> list[Region]:
        if depth >= self.cfg.max_depth:
            return [r]
        for pieces in self._candidates(r):
            if len(pieces) >= 2:
                return [leaf for p in pieces for leaf in self._cut(p, depth + 1)]
        return [r]

    def _candidates(self, r: Region) -> Iterator[list[Region]]:
        """Cuts to try, best first: gap cuts on the axis with the widest gap, then the other
        axis, then (figures without gaps only) colour-edge cuts."""
        yield from self._gap_candidates(r)
        if self.use_edges:
            for axis in (0, 1):
                cuts = self.rules(r, axis) or self.edges(r, axis)
                if cuts:
                    yield self._panels(self.pieces(r, axis, cuts), axis)

    def _gap_candidates(self, r: Region) -> Iterator[list[Region]]:
        gaps = {axis: self.gaps(r, axis) for axis in (0, 1)}
        order = sorted((0, 1), key=lambda a: -max((e - s for s, e in gaps[a]), default=0))
        for axis in order:
            if gaps[axis]:
                panels = self._panels(self.pieces(r, axis, gaps[axis]), axis)
                if len(panels) >= 2:
                    yield panels

    def _panels(self, pieces: list[Region], axis: int) -> list[Region]:
        """Join pieces that cannot be panels to their neighbour across the narrower gap:
        too thin, or only text."""
        pieces = list(pieces)
        while len(pieces) >= 2:
            size = [(p[3] - p[1]) if axis == 0 else (p[2] - p[0]) for p in pieces]
            floor = max(self.min_panel, self.cfg.min_panel_share * max(size))
            weak = [k for k, p in enumerate(pieces) if size[k] < floor or self.is_text(p)]
            if not weak:
                break
            k = min(weak, key=lambda k: size[k])
            pieces = self._join(pieces, k, axis)
        return pieces

    def _join(self, pieces: list[Region], k: int, axis: int) -> list[Region]:
        lo, hi = (1, 3) if axis == 0 else (0, 2)
        left = pieces[k][lo] - pieces[k - 1][hi] if k > 0 else None
        right = pieces[k + 1][lo] - pieces[k][hi] if k + 1 < len(pieces) else None
        j = k - 1 if right is None or (left is not None and left <= right) else k + 1
        a, b = sorted((k, j))
        return pieces[:a] + [_union(pieces[a], pieces[b])] + pieces[b + 1:]

    @property
    def comps(self) -> Components:
        if self._comps is None:
            self._comps = connected_components(self.ink.mask)
        return self._comps

    @property
    def glyph_height(self) -> float:
        """The height of the figure's text, measured on its glyph-shaped blobs (the median), so
        that text is told from graphics whatever the figure's size."""
        if self._glyph is None:
            c = self.comps
            h, w = c.y1 - c.y0, c.x1 - c.x0
            limit = max(8.0, self.cfg.text_share * max(self.ink.width, self.ink.height))
            glyphs = h[(h >= 4) & (h <= 2 * limit) & (w >= 0.15 * h) & (w <= 1.5 * h)]
            # too few to measure: text as tall as a third of the tallest glyph
            self._glyph = float(np.median(glyphs)) if glyphs.size >= 8 else limit / self.cfg.graphic_size
        return self._glyph

    def is_text(self, r: Region) -> bool:
        """No graphics inside ``r``, only text (see `_blobs`)."""
        blobs = self._blobs(r)
        return blobs is not None and bool(blobs.text.all())

    def _is_table(self, r: Region, blobs: _Blobs) -> bool:
        """Whether ``r`` (its `_blobs`) is a table (`tables.is_table`): text in aligned columns
        and rows, with rules and shaded rows or cells but no other graphics."""
        if blobs.boxes is None:
            return False
        return is_table(r, blobs.boxes, blobs.pixels, blobs.text, self.glyph_height, self.cfg.tables)

    def _holds_graphics(self, blobs: _Blobs | None) -> bool:
        """Whether a region (its `_blobs`) can be a panel: not text only (`is_text`) and not a
        text strip (a label column, a legend: `text_share` at least ``text_strip``)."""
        if blobs is None:  # mostly ink: an image
            return True
        return not bool(blobs.text.all()) and self.text_share(blobs) < self.cfg.text_strip

    def text_share(self, blobs: _Blobs) -> float:
        """The share of a region's ink that is text (its `_blobs`). Solid round blobs of one size
        (within a pixel) holding half of the text-sized ink are a chart's markers (a scatter
        plot's dots), not text."""
        text = float(blobs.pixels[blobs.text].sum())
        dots = blobs.text & (blobs.fill >= self.cfg.solid_fill) & (np.abs(blobs.heights - blobs.widths) <= 1)
        if dots.any():
            keys, at = np.unique(blobs.heights[dots] * _KEY + blobs.widths[dots], return_inverse=True)
            per_size = np.bincount(at, weights=blobs.pixels[dots])
            near = sum(_lookup(keys, per_size, keys + dh * _KEY + dw) for dh in (-1, 0, 1) for dw in (-1, 0, 1))
            if near.max() >= self.cfg.marker_share * text:
                text -= float(near.max())
        return text / max(1, int(blobs.pixels.sum()))

    def _blobs(self, r: Region) -> _Blobs | None:
        """Per blob of ``r``: its size, its ink and whether it is text; None when ``r`` is mostly
        ink (an image). Text blobs are at most ``graphic_size`` glyph heights high (glyphs,
        words, lines of text, rules, shaded rows) or that wide and not solid (rotated words,
        brackets, braces), so a frame, plot, drawing, bar or axis line is graphics. Blobs that
        cross the edges of ``r`` (a table's grid, the frame shared by touching panels) are not
        measured, unless no blob lies wholly inside (images joined by specks across a
        hairline): then their parts inside are."""
        c = self.comps
        inside = (c.x0 >= r[0]) & (c.y0 >= r[1]) & (c.x1 <= r[2]) & (c.y1 <= r[3])
        if inside.any():
            if self.ink.count(*r) >= self.cfg.solid_share * _area(r):
                return None
            heights, widths, pixels = (c.y1 - c.y0)[inside], (c.x1 - c.x0)[inside], c.pixels[inside]
            fill = pixels / (heights * widths)
            boxes = np.stack([c.x0[inside], c.y0[inside], c.x1[inside], c.y1[inside]], axis=1)
        else:
            x0, y0 = np.maximum(c.x0, r[0]), np.maximum(c.y0, r[1])
            x1, y1 = np.minimum(c.x1, r[2]), np.minimum(c.y1, r[3])
            seen = (x1 > x0) & (y1 > y0)
            heights, widths, pixels = (y1 - y0)[seen], (x1 - x0)[seen], c.pixels[seen]
            fill = pixels / ((c.y1 - c.y0) * (c.x1 - c.x0))[seen]
            boxes = None
        size = self.cfg.graphic_size * self.glyph_height
        text = (heights <= size) | ((widths <= size) & (fill < self.cfg.solid_fill))
        return _Blobs(heights, widths, pixels, fill, text, boxes)

    def is_panel(self, r: Region) -> bool:
        """Whether a piece without a letter counts as a panel for the single-panel decision: it
        holds graphics (`_holds_graphics`) and, unless the caption names panels, is no table (a
        chart's table of terms under it, a tree's columns of table cells beside it). Its blobs
        are measured once."""
        blobs = self._blobs(r)
        if not self._holds_graphics(blobs):
            return False
        return bool(self.named_panels) or blobs is None or not self._is_table(r, blobs)

    def _band(self, r: Region, root: Region) -> tuple[int, float] | None:
        """``r`` as a band along the figure ``root``: (1, its share of the height) when it spans
        nearly the figure's whole width and is a small share of its height (a row of column
        headings with their symbols, one track of a gene diagram drawn in bands, a row of an
        alignment), (0, its share of the width) for the same down its height (a column of
        markers beside a tree); None when it is no band."""
        for across in (1, 0):  # y: a band along the width, then x: down the height
            depth = _depth(r, root, across)
            if _depth(r, root, 1 - across) >= self.cfg.band_span and depth <= self.cfg.band_depth:
                return across, depth
        return None

    def _bands(self, regions: list[Region], root: Region) -> list[bool]:
        """Which of ``regions`` are bands that belong with a panel they run along: a band (see
        `_band`) beside a piece that is no band and ``band_ratio`` times as deep across it. A
        stack of strips of about one depth (a column of charts) is panels, and a panel of a
        compound figure spanning the figure is a sizeable share of the other side."""
        bands = [self._band(r, root) for r in regions]
        others = [r for r, band in zip(regions, bands) if band is None]
        out = []
        for band in bands:
            if band is None:
                out.append(False)
                continue
            across, depth = band
            deepest = max((_depth(r, root, across) for r in others), default=0.0)
            out.append(deepest >= self.cfg.band_ratio * depth)
        return out

    def _scheme(self, pieces: list[Region]) -> bool:
        """Whether the panel-like pieces are the molecules of one chemistry scheme or row of
        structures (`drawings.is_scheme`), measured only once they would make the figure compound."""
        cfg = self.cfg.drawings
        if cfg is None:
            return False
        crops = ((self.ink.mask[y0:y1, x0:x1], self.ink.planes[:, y0:y1, x0:x1]) for x0, y0, x1, y1 in pieces)
        return is_scheme(crops, self.glyph_height, cfg, self.scheme_caption)

    def _substantial(self, regions: list[Region]) -> list[Region]:
        """The single-panel decision: without letters, a figure is compound only when at least
        two of its pieces are panels of some size holding graphics, not text strips (a label
        column, a legend) nor tables (`is_panel`), nor, unless the caption names panels, bands
        along a deeper panel (`_bands`) or the molecules of one chemistry scheme (`_scheme`);
        else it is one panel. Of a compound figure, the
        fragments (pieces far smaller than the largest: a stray connector line, a small
        legend) join the panel they hardly grow, else are left out."""
        areas = [_area(r) for r in regions]
        big = max(areas)
        root = self.trim((0, 0, self.ink.width, self.ink.height))
        sizeable = [r for r, a in zip(regions, areas) if a >= self.cfg.min_area_share * big]
        bands = [False] * len(sizeable) if self.named_panels else self._bands(sizeable, root)
        candidates = [r for r, band in zip(sizeable, bands) if not band and self.is_panel(r)]
        if len(candidates) < 2 or (not self.named_panels and self._scheme(candidates)):
            return [root]
        small = [a < self.cfg.fragment_share * big for a in areas]
        panels = [r for r, s in zip(regions, small) if not s]
        for r in (r for r, s in zip(regions, small) if s):
            grown = [(_area(_union(p, r)) / _area(p), k) for k, p in enumerate(panels)]
            growth, k = min(grown)
            if growth <= 1 + self.cfg.max_growth:
                panels[k] = _union(panels[k], r)
        return panels
