"""The default labeler: the image decides the coarse class, the caption the fine one.

For each figure the thumbnail gives P(kind) over coarse visual kinds (`image.KINDS`: chart,
diagram, table, equation, microscopy, clinical, photo; gels are left to the caption) and the
caption rules give evidence per taxonomy class (`rules.CaptionEvidence`: its terms, and weaker
cues such as "scale bar" or "mean ± SD"). Each primary class is scored

    image_weight * log P(the kinds it can look like) + caption_weight * its term evidence
                                                     + cue_weight * min(its cues, 2)

and a class the caption neither names nor hints at can only win as the default class of the
image's kind. So an explicit caption wins where the image agrees or is unsure, and an image that
clearly shows, say, a chart is not called an equation because its caption mentions one. The score is the
winner's softmax probability mapped through a calibration fitted on the development set, so it
estimates how often such a label is right; a label the image alone suggests (the caption names and
hints at nothing) is not written when that estimate is below `min_image_score` (0.5: more likely
wrong than right). Panel type: ``multiple`` when the caption names
panels a and b, else from the image's gutters (`panel.image_panel_type`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np

from .image import ImageModel, image_features, load_content_model, thumbnail_of
from .labeler import Labeler, with_label
from .panel import blank_of, blocks_of, image_panel_type
from .rules import CaptionEvidence, RuleLabeler
from .taxonomy import Taxonomy, load_taxonomy

# What a figure of each kind is called when the caption names nothing that kind can show.
KIND_PRIMARY = {
    "chart": "Plots and Charts", "diagram": "Illustrative Diagrams", "table": "Tables",
    "equation": "Scientific Formulae & Equations", "microscopy": "Microscopy", "clinical": "Clinical Imaging",
    "photo": "Photographs", "gel": "Immuno Assays",
}
# The kinds a figure of each primary class can look like (the caption may name any of them).
PRIMARY_KINDS = {
    "Plots and Charts": ("chart",),
    "Microscopy": ("microscopy", "photo", "clinical"),
    "Clinical Imaging": ("clinical", "photo", "microscopy"),
    "Immuno Assays": ("gel", "chart", "photo", "clinical"),
    "Chemical Structures": ("diagram", "equation"),
    "Molecular Structures": ("diagram", "photo", "microscopy"),
    "Gene Sequence": ("diagram", "table", "chart"),
    "Spectra and Chromatograms": ("chart",),
    "Illustrative Diagrams": ("diagram",),
    "Tables": ("table",),
    "Scientific Formulae & Equations": ("equation",),
    "Maps": ("diagram", "photo"),
    "Hand-drawn and Screen-based Visualizations": ("diagram", "photo"),
    "Tools and Materials": ("photo", "diagram"),
    "Photographs": ("photo", "microscopy", "clinical"),
    "Other": ("diagram", "photo", "table"),
}
_FLOOR = 1e-4  # P(kind) floor: no kind is ruled out completely


@dataclass
class ContentLabeler(Labeler):
    """Caption rules combined with the image classifier (module docstring).

    ``thumbnails`` maps ``image_key`` to the RGB thumbnail `pmc_hub.media.inspect` made; a row
    without one is decoded from its bytes (slower: relabelling a finished build). Rows whose image
    cannot be decoded are labelled from the caption alone.
    """

    taxonomy: Taxonomy = field(default_factory=load_taxonomy)
    thumbnails: Mapping[str, np.ndarray] = field(default_factory=dict)
    rules: Optional[RuleLabeler] = None
    model: Optional[dict] = None  # the fitted parameters (default: content_model.json)
    batch_size: int = 1024
    name = "content"

    def __post_init__(self) -> None:
        self.rules = self.rules or RuleLabeler(self.taxonomy)
        self.model = self.model or load_content_model()
        self.image: ImageModel = self.model["image"]
        self.image_weight = float(self.model["image_weight"])
        self.caption_weight = float(self.model["caption_weight"])
        self.cue_weight = float(self.model["cue_weight"])
        self.calibration = tuple(self.model["calibration"])  # (a, b): P(right) = sigmoid(a * p + b)
        self.min_image_score = float(self.model["min_image_score"])

    def for_thumbnails(self, thumbnails: Mapping[str, np.ndarray]) -> "ContentLabeler":
        """The same labeler (rules and model shared, nothing recompiled) for another set of thumbnails."""
        other = object.__new__(ContentLabeler)
        other.__dict__.update(self.__dict__, thumbnails=thumbnails)
        return other

    def label_batch(self, rows: list[dict]) -> list[dict]:
        return [self.label_row(r) for r in rows]

    def kind_probabilities(self, row: dict, thumb: np.ndarray, blocks: Optional[list] = None) -> dict[str, float]:
        """P(kind) of a row's image, from its thumbnail (and its content blocks, when known)."""
        size = row.get("image_size") or {}
        return self.image.probabilities(image_features(thumb, size.get("width") or thumb.shape[1],
                                                       size.get("height") or thumb.shape[0], blocks))

    def _thumbnail(self, row: dict) -> Optional[np.ndarray]:
        thumb = self.thumbnails.get(row.get("image_key"))
        if thumb is None:
            try:
                thumb = thumbnail_of(row)
            except Exception:  # noqa: BLE001 - an undecodable image still gets its caption's label
                return None
        return thumb

    def label_row(self, row: dict) -> dict:
        evidence = self.rules.evidence(row)
        thumb = self._thumbnail(row)
        blocks = blocks_of(blank_of(thumb)) if thumb is not None else None
        kinds = self.kind_probabilities(row, thumb, blocks) if thumb is not None else None
        out = dict(row)
        panel = evidence.panel_type or (image_panel_type(blocks) if blocks is not None else None)
        if panel is not None:
            out["image_panel_type"] = panel
            if panel == "single":
                out["image_panel_subtype"] = "single"
        decision = self.decide(evidence, kinds)
        if decision is None:
            return out
        primary, probability, source = decision
        score = self.calibrated(probability)
        if source == "image" and score < self.min_image_score:
            return out
        order = self.rules.order
        secondary = evidence.secondary(order, primary) + [s for s in evidence.secondary(order)
                                                          if self.taxonomy.primary_of(s).name != primary]
        return with_label(out, self.taxonomy, primary, secondary, source, score)

    def decide(self, evidence: CaptionEvidence, kinds: Optional[dict[str, float]]) -> Optional[tuple[str, float, str]]:
        """(primary class, its softmax probability, source) from caption evidence and P(kind)."""
        named = evidence.by_primary()
        if kinds is None:  # no image: the caption alone
            best = self.rules.best(evidence)
            if best is not None:
                return best, named[best] / sum(named.values()), "caption"
            if evidence.cues:
                hinted = min(evidence.cues, key=lambda p: (-evidence.cues[p], self.rules.order[p]))
                return hinted, 0.5, "caption"
            return None
        scores: dict[str, float] = {}
        for kind, p in kinds.items():  # every kind's default class
            primary = KIND_PRIMARY[kind]
            scores[primary] = max(scores.get(primary, -math.inf), self.image_weight * math.log(max(p, _FLOOR)))
        for primary in set(named) | set(evidence.cues):  # classes the caption names or hints at
            look = self.image_weight * math.log(max(max(kinds.get(k, 0.0) for k in PRIMARY_KINDS.get(primary, ())), _FLOOR))
            text = self.caption_weight * named.get(primary, 0.0) + self.cue_weight * min(evidence.cues.get(primary, 0), 2)
            scores[primary] = max(scores.get(primary, -math.inf), look + text)
        best = max(scores, key=lambda p: (scores[p], -self.rules.order[p]))
        top = scores[best]
        probability = 1.0 / sum(math.exp(s - top) for s in scores.values())
        from_text = best in named or best in evidence.cues
        image_default = KIND_PRIMARY[max(kinds, key=kinds.get)] == best
        source = "caption+image" if from_text and image_default else "caption" if from_text else "image"
        return best, probability, source

    def calibrated(self, probability: float) -> float:
        a, b = self.calibration
        return 1.0 / (1.0 + math.exp(-(a * probability + b)))
