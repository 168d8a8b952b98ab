"""The default labeler: the image decides the coarse class, the caption the fine one.

For each figure the thumbnail gives P(kind) over coarse visual kinds (`image.KINDS`: chart,
diagram, structure drawing, table, equation, microscopy, clinical, photo; gels are left to the caption) and the
caption rules give evidence per taxonomy class (`rules.CaptionEvidence`: its terms, where they
stand, and weaker cues such as "scale bar" or "mean ± SD"). Every candidate primary class (the
default class of each image kind, and every class the caption names or hints at) is scored by a
conditional logit over `COMBINATION`:

    w_image * log P(the kinds it can look like) + w_title * [the caption's title names it]
    + w_caption * (its classes named in the caption) + w_first * [it is named first]
    + w_cues * min(its cues, 2) + w_chart * [it is Plots and Charts]
    + w_unnamed * [the caption names other classes but not this one]

with weights fitted on the development set (`scripts/fit_content_model.py`). Where a caption
exists but names nothing of the winner and the image is unsure of it, the winner becomes the
fitted `image_fallback` class (out of source such decisions were right more often so). The
winner's softmax probability goes through a logistic calibration (one slope, an offset per
`image.CALIBRATION_KEYS`: caption and image agreeing, the caption alone, the image alone beside a
caption that names nothing, the image alone with no caption at all) fitted on decisions about
figures of sources the fit had not seen, so the score estimates how often such a label is right
on a new source; a label
that only the image suggests (the caption names and hints at nothing of it) is not written when
that estimate is below `min_image_score`. The caption alone counts: citing paragraphs cost more
text than the caption (2,000 characters against 630) and did not make labels more precise where
measured (docs/taxonomy.md). Panel type: ``multiple`` when the caption names panels a and b,
else ``single`` for a figure labelled *Chemical Structures* (written or not, or taken for a structure
drawing by the image alone before the fallback: schemes and rows of structures have blank space
between molecules, not between panels) or whose label's first secondary class the caption names is
a flow chart or a forest plot (`ONE_PANEL_SECONDARY`), else from the image's gutters
and seams (`panel.image_panel_type`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np

from .image import ImageModel, image_features, load_content_model, thumbnail_of
from .labeler import Labeler, with_label
from ..media import Thumbnail
from .panel import PANEL_SEAMS, Seams, image_panel_type, panel_blocks
from .rules import CaptionEvidence, RuleLabeler
from .taxonomy import Taxonomy, load_taxonomy

# What a figure of each kind is called when the caption names nothing that kind can show.
KIND_PRIMARY = {
    "chart": "Plots and Charts", "diagram": "Illustrative Diagrams", "structure": "Chemical Structures", "table": "Tables",
    "equation": "Scientific Formulae & Equations", "microscopy": "Microscopy", "clinical": "Clinical Imaging",
    "photo": "Photographs", "gel": "Immuno Assays",
}
# The kinds a figure of each primary class can look like (the caption may name any of them). A
# table of coloured symbols or cells (a risk-of-bias grid, a matrix) looks like a chart to the image.
PRIMARY_KINDS = {
    "Plots and Charts": ("chart",),
    "Microscopy": ("microscopy", "photo", "clinical"),
    "Clinical Imaging": ("clinical", "photo", "microscopy"),
    "Immuno Assays": ("gel", "chart", "photo", "clinical"),
    "Chemical Structures": ("structure", "diagram", "equation"),
    "Molecular Structures": ("diagram", "photo", "microscopy"),
    "Gene Sequence": ("diagram", "table", "chart"),
    "Spectra and Chromatograms": ("chart",),
    "Illustrative Diagrams": ("diagram",),
    "Tables": ("table", "chart"),
    "Scientific Formulae & Equations": ("equation",),
    "Maps": ("diagram", "photo"),
    "Hand-drawn and Screen-based Visualizations": ("diagram", "photo"),
    "Tools and Materials": ("photo", "diagram"),
    "Photographs": ("photo", "microscopy", "clinical"),
    "Other": ("diagram", "photo", "table"),
}
# Where the caption neither names nor hints at a class, the kinds that count for it, where they
# are fewer than `PRIMARY_KINDS`: the structure kind was learnt from drawn figures alone, so it may
# not veto a caption that names chemistry (a scheme it takes for a diagram), but an equation or a
# diagram the caption says nothing of is no chemistry; a chart the caption names no table in is
# no table; and each photograph-like class counts its own kind only (round 20: counting the
# likeliest of the three, they tied and *Microscopy*, first in the taxonomy, always won).
SILENT_KINDS = {"Chemical Structures": ("structure",), "Tables": ("table",), "Microscopy": ("microscopy",),
                "Clinical Imaging": ("clinical",), "Photographs": ("photo",)}
_FLOOR = 1e-3  # P(kind) floor: no kind is ruled out completely
# The inputs of the combination, in the order of its fitted weights (module docstring).
COMBINATION = ("image", "title", "caption", "first", "cues", "chart", "unnamed")


# Kinds drawn as one panel whatever blank space they hold: a drawing of chemical structures (a
# reaction scheme, a row or grid of numbered structures: the space between molecules is no gutter),
# a flow chart (boxes and arrows with space between them) and a forest plot (one chart of many rows,
# its table of studies beside it). By primary class, and by the secondary class the caption names
# first for the label.
ONE_PANEL_PRIMARY = frozenset({"Chemical Structures"})
ONE_PANEL_SECONDARY = frozenset({"flow chart", "forest plot"})


def panel_type_of(blocks: np.ndarray, primary: Optional[str], secondary: Optional[str] = None) -> str:
    """The panel type of a figure whose caption names no panels: ``single`` for a kind drawn as one
    panel (`ONE_PANEL_PRIMARY`, `ONE_PANEL_SECONDARY`), else what its content blocks say."""
    if primary in ONE_PANEL_PRIMARY or secondary in ONE_PANEL_SECONDARY:
        return "single"
    return image_panel_type(blocks)


def calibration_key(source: str, captioned: bool) -> str:
    """The calibration offset a decision of this source takes (`image.CALIBRATION_KEYS`)."""
    return "image, no caption" if source == "image" and not captioned else source


@dataclass
class ContentLabeler(Labeler):
    """Caption rules combined with the image classifier (module docstring).

    ``thumbnails`` maps ``image_key`` to the `media.Thumbnail` `pmc_hub.media.inspect` made; a row
    without one is decoded from its bytes (slower: relabelling a finished build). Rows whose image
    cannot be decoded are labelled from the caption alone.
    """

    taxonomy: Taxonomy = field(default_factory=load_taxonomy)
    thumbnails: Mapping[str, Thumbnail] = field(default_factory=dict)
    rules: Optional[RuleLabeler] = None
    model: Optional[dict] = None  # the fitted parameters (default: content_model.json)
    panel_seams: Optional[Seams] = PANEL_SEAMS  # where the panel search parts touching panels (None: gutters only)
    batch_size: int = 1024
    name = "content"

    def __post_init__(self) -> None:
        self.rules = self.rules or RuleLabeler(self.taxonomy)
        self.model = self.model or load_content_model()
        self.image: ImageModel = self.model["image"]
        self.weights = tuple(float(self.model["weights"][k]) for k in COMBINATION)
        # P(right) = sigmoid(slope * p + offset[source]): where the caption and the image agree a
        # label is right far more often than where either decides alone
        self.calibration = {k: float(v) for k, v in self.model["calibration"].items()}
        self.min_image_score = float(self.model["min_image_score"])
        # where a caption exists but names nothing of the image's class and the image is unsure
        # (its winner's probability below "below"), the class that was right more often there
        # out-of-source than the image's own choice (None: the image's choice always stands)
        fallback = self.model.get("image_fallback") or {}
        self.image_fallback: Optional[str] = fallback.get("class")
        self.image_fallback_below = float(fallback.get("below", 0.0))

    def for_thumbnails(self, thumbnails: Mapping[str, Thumbnail]) -> "ContentLabeler":
        """The same labeler (rules and model shared, nothing recompiled) for another set of thumbnails."""
        other = object.__new__(ContentLabeler)
        other.__dict__.update(self.__dict__, thumbnails=thumbnails)
        return other

    def label_batch(self, rows: list[dict]) -> list[dict]:
        return [self.label_row(r) for r in rows]

    def look(self, row: dict, thumb: Thumbnail) -> tuple[dict[str, float], np.ndarray]:
        """P(kind) of a row's image from its thumbnail, and the content blocks of its grey image
        (`panel.panel_blocks`)."""
        size = row.get("image_size") or {}
        rgb = thumb.rgb
        features = image_features(rgb, thumb.grey, size.get("width") or rgb.shape[1], size.get("height") or rgb.shape[0])
        return self.image.probabilities(features), panel_blocks(thumb.grey, self.panel_seams)

    def _thumbnail(self, row: dict) -> Optional[Thumbnail]:
        thumb = self.thumbnails.get(row.get("image_key"))
        if thumb is None:
            try:
                thumb = thumbnail_of(row)
            except Exception:  # noqa: BLE001 - an undecodable image still gets its caption's label
                return None
        return thumb

    def label_row(self, row: dict) -> dict:
        evidence = self.rules.evidence(row, context=False)
        thumb = self._thumbnail(row)
        kinds, blocks = self.look(row, thumb) if thumb is not None else (None, None)
        out = dict(row)
        decision = self.decide(evidence, kinds, captioned=bool((row.get("caption") or "").strip()))
        order = self.rules.order
        named = evidence.secondary(order, decision[0]) if decision is not None else []
        panel = evidence.panel_type or (panel_type_of(blocks, self.drawn_as(decision, kinds), next(iter(named), None))
                                        if blocks is not None else None)
        if panel is not None:
            out["image_panel_type"] = panel
            if panel == "single":
                out["image_panel_subtype"] = "single"
        if decision is None:
            return out
        primary, probability, source = decision
        score = self.calibrated(probability, calibration_key(source, bool((row.get("caption") or "").strip())))
        if source == "image" and score < self.min_image_score:
            return out
        secondary = named + [s for s in evidence.secondary(order) if self.taxonomy.primary_of(s).name != primary]
        return with_label(out, self.taxonomy, primary, secondary, source, score)

    @staticmethod
    def drawn_as(decision: Optional[tuple[str, float, str]], kinds: Optional[dict[str, float]]) -> Optional[str]:
        """The class the panel rule reads: the decision's, but where the image alone decided and
        itself took the figure for a structure drawing, *Chemical Structures* even when the image
        fallback replaced the label (a silent caption's scheme is still one panel)."""
        if decision is None:
            return None
        if decision[2] == "image" and kinds and KIND_PRIMARY[max(kinds, key=kinds.get)] == "Chemical Structures":
            return "Chemical Structures"
        return decision[0]

    def decide(self, evidence: CaptionEvidence, kinds: Optional[dict[str, float]],
               captioned: bool = True) -> Optional[tuple[str, float, str]]:
        """(primary class, its softmax probability, source) from caption evidence and P(kind). An
        image-only decision beside a caption whose probability is below ``image_fallback_below``
        becomes `image_fallback` where the fit set one: out of source, the image's unsure choices of
        other classes were right less often than it there."""
        named = evidence.by_primary()
        if kinds is None:  # no image: the caption alone
            best = self.rules.best(evidence)
            if best is not None:
                return best, named[best] / sum(named.values()), "caption"
            if evidence.cues:
                hinted = min(evidence.cues, key=lambda p: (-evidence.cues[p], self.rules.order[p]))
                return hinted, 0.5, "caption"
            return None
        candidates = self.candidates(evidence, kinds)
        scores = dict(zip(candidates, (sum(w * x for w, x in zip(self.weights, inputs)) for inputs in candidates.values())))
        top = max(scores.values())
        total = sum(math.exp(v - top) for v in scores.values())
        best = max(scores, key=lambda c: (scores[c], -self.rules.order[c]))
        from_text = best in named or best in evidence.cues
        image_default = KIND_PRIMARY[max(kinds, key=kinds.get)] == best
        source = "caption+image" if from_text and image_default else "caption" if from_text else "image"
        probability = 1.0 / total
        if source == "image" and captioned and probability < self.image_fallback_below and self.image_fallback in scores:
            best = self.image_fallback
            probability = math.exp(scores[best] - top) / total
        return best, probability, source

    def candidates(self, evidence: CaptionEvidence, kinds: dict[str, float]) -> dict[str, tuple[float, ...]]:
        """The `COMBINATION` inputs of every class that can win: each image kind's default class,
        and every class the caption names or hints at."""
        named = {p: 0 for p in evidence.first_at}
        for primary, _ in evidence.classes:
            if primary in named:
                named[primary] += 1
        first = evidence.first
        classes = {KIND_PRIMARY[k] for k in kinds} | set(named) | set(evidence.cues)
        def looks(c: str) -> tuple[str, ...]:
            return PRIMARY_KINDS[c] if c in named or c in evidence.cues else SILENT_KINDS.get(c, PRIMARY_KINDS[c])

        return {c: (math.log(max(max(kinds.get(k, 0.0) for k in looks(c)), _FLOOR)),
                    float(c in evidence.title), float(min(named.get(c, 0), 2)), float(c == first),
                    float(min(evidence.cues.get(c, 0), 2)), float(c == "Plots and Charts"),
                    float(bool(named) and c not in named))
                for c in classes}

    def calibrated(self, probability: float, key: str) -> float:
        """How often a label of this probability is right, by its `calibration_key` (the fitted
        calibration)."""
        return 1.0 / (1.0 + math.exp(-(self.calibration["slope"] * probability + self.calibration[key])))
