"""Zero-shot labels from a CLIP-like image-text model (transformers or OpenCLIP format)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .labeler import Labeler, with_label
from .taxonomy import Taxonomy, load_taxonomy


@dataclass
class ZeroShotLabeler(Labeler):
    """Zero-shot labels: softmax over the primary classes' prompts, then the best secondary
    prompt under the winning primary. ``model`` is a transformers model (local folder or Hub id)
    or an OpenCLIP one (``hf-hub:org/name``, or a local folder with ``open_clip_config.json``);
    see `pmc_hub.embed.load_clip`. The score is the winner's softmax probability."""

    model: str
    taxonomy: Taxonomy = field(default_factory=load_taxonomy)
    batch_size: int = 32
    device: str = "auto"
    template: str = "a biomedical figure showing {}"

    def __post_init__(self) -> None:
        from ..embed import load_clip

        self.encoder = load_clip(self.model, device=self.device)
        self.name = f"zero-shot:{self.model}"
        self._primary_text = self.encoder.encode_texts(
            [self.template.format(p.prompt) for p in self.taxonomy.primary])
        self._secondary_text = {
            p.name: self.encoder.encode_texts([self.template.format(s.prompt) for s in p.secondary])
            for p in self.taxonomy.primary}

    def label_batch(self, rows: list[dict]) -> list[dict]:
        from ..embed import row_image

        images = self.encoder.encode_images([row_image(r) for r in rows])
        probs = _softmax(self.encoder.logit_scale * images @ self._primary_text.T)
        out = []
        for row, img, p in zip(rows, images, probs):
            best = self.taxonomy.primary[int(np.argmax(p))]
            sec_scores = self._secondary_text[best.name] @ img
            secondary = [best.secondary[int(np.argmax(sec_scores))].name]
            out.append(with_label(row, self.taxonomy, best.name, secondary, self.name, float(p.max())))
        return out


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
