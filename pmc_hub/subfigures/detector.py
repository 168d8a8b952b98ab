"""Subfigure detection with a transformers object detector (DAB-DETR, Conditional DETR...),
and `load_detector`, which picks the detector a build uses.

Open-PMC-18M's recipe: keep boxes scoring above 0.2, suppress overlaps at IoU 0.2, and keep
the whole figure when nothing is found.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Sequence

from PIL import Image

from ..errors import UsageError
from .boxes import Box, Detector, whole
from .classical import ClassicalSplitter


class DetectorError(UsageError, RuntimeError):
    """A detector model named by the user that cannot be loaded (names the model and the reason)."""


@dataclass
class DetectorSettings:
    threshold: float = 0.2
    nms_iou: float = 0.2
    batch_size: int = 8
    device: str | None = None  # None: CUDA when available, else CPU
    top_k: int = 100


def nms(boxes, scores, iou_threshold: float):
    """Greedy non-maximum suppression in torch: indices of the kept boxes, best score first.

    ``boxes`` is a float tensor (N, 4) of x0, y0, x1, y1; ``scores`` (N,).
    """
    import torch

    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    x0, y0, x1, y1 = boxes.unbind(1)
    areas = (x1 - x0).clamp(min=0) * (y1 - y0).clamp(min=0)
    order = scores.argsort(descending=True)
    keep = []
    while order.numel():
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = (torch.minimum(x1[i], x1[rest]) - torch.maximum(x0[i], x0[rest])).clamp(min=0)
        h = (torch.minimum(y1[i], y1[rest]) - torch.maximum(y0[i], y0[rest])).clamp(min=0)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter).clamp(min=1e-9)
        order = rest[iou <= iou_threshold]
    return torch.stack(keep)


class TransformerDetector:
    """A transformers object-detection model from a local folder or a Hub id (one class: panel)."""

    def __init__(self, model: str, settings: DetectorSettings | None = None, local_files_only: bool = False):
        from .. import torchvision_fix

        torchvision_fix.install()  # transformers' image processors import torchvision
        try:
            import torch
            from transformers import AutoImageProcessor, AutoModelForObjectDetection
        except ImportError as e:
            raise DetectorError(f"{model}: a transformers detector needs torch and transformers: "
                                f"pip install 'pmc-hub[ml]' ({e})") from e

        self.settings = settings or DetectorSettings()
        self.name = f"transformers:{model}"
        self.device = torch.device(self.settings.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        try:
            self.processor = AutoImageProcessor.from_pretrained(model, local_files_only=local_files_only)
            self.model = AutoModelForObjectDetection.from_pretrained(model, local_files_only=local_files_only)
        except (OSError, ValueError) as e:
            raise DetectorError(f"{model}: cannot load an object-detection model and image processor: {e}") from e
        self.model.to(self.device).eval()

    def detect(self, images: Sequence[Image.Image], captions: Sequence[str | None] | None = None) -> list[list[Box]]:
        """Boxes per image; ``captions`` are accepted for the `Detector` protocol and not used (the
        model sees pixels only)."""
        out: list[list[Box]] = []
        size = max(1, self.settings.batch_size)
        for start in range(0, len(images), size):
            out.extend(self._detect_batch([im.convert("RGB") for im in images[start:start + size]]))
        return out

    def _detect_batch(self, images: list[Image.Image]) -> list[list[Box]]:
        import torch

        inputs = self.processor(images=images, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            outputs = self.model(**inputs)
        post = self.processor.post_process_object_detection
        extra = {"top_k": self.settings.top_k} if "top_k" in inspect.signature(post).parameters else {}
        results = post(outputs, threshold=self.settings.threshold, target_sizes=[(im.height, im.width) for im in images], **extra)
        batch = []
        for im, res in zip(images, results):
            boxes, scores = res["boxes"].float().cpu(), res["scores"].float().cpu()
            kept = nms(boxes, scores, self.settings.nms_iou)
            found = [Box(*map(float, boxes[k].tolist()), score=float(scores[k])).clipped(im.width, im.height) for k in kept.tolist()]
            found = [b for b in found if b.area > 0]
            batch.append(sorted(found, key=lambda b: (b.y0, b.x0)) or [whole(im, 0.0)])
        return batch


def load_detector(model: str | None = None, settings: DetectorSettings | None = None) -> Detector:
    """The detector for ``model``: None or ``"classical"`` -> the CPU splitter; anything else
    is a transformers model folder or Hub id."""
    if model in (None, "", "classical"):
        return ClassicalSplitter()
    return TransformerDetector(model, settings)
