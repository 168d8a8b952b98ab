"""Image and text embeddings from CLIP-like models (transformers or OpenCLIP) and any transformers
vision model.

One place for model loading, batching and device choice; used by labels (zero-shot,
clusters) and retrieval. Embeddings come back as L2-normalised float32 numpy arrays.
`load_clip` picks the library from the name: OpenCLIP for ``hf-hub:org/name`` (BiomedCLIP,
PMC-CLIP, the Open-PMC models are published so) or a local folder with ``open_clip_config.json``,
transformers otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from . import torchvision_fix
from .errors import DataError

torchvision_fix.install()  # this module's models import torchvision (see pmc_hub.torchvision_fix)

OPEN_CLIP_CONFIG = "open_clip_config.json"


class EmbeddingError(DataError, RuntimeError):
    """A model could not be loaded or used to embed (names the model and the reason)."""


def pick_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when available, else ``mps``, else ``cpu``."""
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def row_image(row: dict):
    """The RGB PIL image of a figure row (``image`` as {"bytes", "path"} or a PIL image)."""
    from .media import open_image

    img = row.get("image")
    if isinstance(img, dict):
        data = img.get("bytes")
        if not data:
            raise EmbeddingError(f"{row.get('image_key', '?')}: row has no image bytes")
        img = open_image(data)
    if not hasattr(img, "convert"):
        raise EmbeddingError(f"{row.get('image_key', '?')}: unsupported image value {type(img).__name__}")
    return img.convert("RGB")


def _features(out: Any):
    """transformers 5 ``get_*_features`` return an output object (projected pooler_output)."""
    if hasattr(out, "pooler_output") and out.pooler_output is not None:
        return out.pooler_output
    if hasattr(out, "last_hidden_state"):
        return out.last_hidden_state[:, 0]
    return out


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (all-zero rows stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _normalise(x) -> np.ndarray:
    return unit_rows(x.detach().float().cpu().numpy()).astype(np.float32)


def _load(name_or_path: str, processor_class: str, what: str):
    """Model and processor from a local path or Hub id; `EmbeddingError` names it when that fails."""
    import transformers

    try:
        model = transformers.AutoModel.from_pretrained(name_or_path)
        processor = getattr(transformers, processor_class).from_pretrained(name_or_path)
    except (OSError, ValueError) as exc:
        raise EmbeddingError(f"{name_or_path}: cannot load {what}: {exc}") from exc
    return model, processor


@dataclass
class ClipEncoder:
    """A CLIP-like dual encoder (``get_image_features`` / ``get_text_features``)."""

    model: Any
    processor: Any
    device: str
    name: str
    max_length: Optional[int] = None

    @classmethod
    def load(cls, name_or_path: str, device: str = "auto") -> "ClipEncoder":
        model, processor = _load(name_or_path, "AutoProcessor", "model/processor")
        if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
            raise EmbeddingError(f"{name_or_path}: not an image-text model (no get_image_features/get_text_features)")
        device = pick_device(device)
        cfg = getattr(model.config, "text_config", None)
        return cls(model.to(device).eval(), processor, device, name_or_path,
                   getattr(cfg, "max_position_embeddings", None))

    @property
    def logit_scale(self) -> float:
        scale = getattr(self.model, "logit_scale", None)
        return float(scale.detach().exp()) if scale is not None else 100.0

    def encode_images(self, images: Sequence) -> np.ndarray:
        import torch

        inputs = self.processor(images=list(images), return_tensors="pt").to(self.device)
        with torch.inference_mode():
            return _normalise(_features(self.model.get_image_features(pixel_values=inputs["pixel_values"])))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        kw = {"max_length": self.max_length} if self.max_length else {}
        # SigLIP models were trained on max-length padded text; CLIP on padding to the longest.
        padding = "max_length" if self.model.config.model_type.startswith("siglip") else True
        inputs = self.processor(text=list(texts), return_tensors="pt", padding=padding, truncation=True, **kw)
        inputs = {k: v.to(self.device) for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
        with torch.inference_mode():
            return _normalise(_features(self.model.get_text_features(**inputs)))


@dataclass
class ImageEncoder:
    """Any transformers vision model: CLIP image features when it has them, else the pooled
    output (or the first token) of the vision backbone."""

    model: Any
    processor: Any
    device: str
    name: str

    @classmethod
    def load(cls, name_or_path: str, device: str = "auto") -> "ImageEncoder":
        model, processor = _load(name_or_path, "AutoImageProcessor", "vision model/image processor")
        device = pick_device(device)
        return cls(model.to(device).eval(), processor, device, name_or_path)

    def encode_images(self, images: Sequence) -> np.ndarray:
        import torch

        pixels = self.processor(images=list(images), return_tensors="pt")["pixel_values"].to(self.device)
        with torch.inference_mode():
            if hasattr(self.model, "get_image_features"):
                return _normalise(_features(self.model.get_image_features(pixel_values=pixels)))
            return _normalise(_features(self.model(pixel_values=pixels)))


def is_open_clip(name_or_path: str) -> bool:
    """An OpenCLIP model: ``hf-hub:org/name`` or a local folder holding ``open_clip_config.json``."""
    return name_or_path.startswith("hf-hub:") or (Path(name_or_path) / OPEN_CLIP_CONFIG).is_file()


def load_clip(name_or_path: str, device: str = "auto") -> "ClipEncoder | OpenClipEncoder":
    """A CLIP-like image-text encoder: OpenCLIP when `is_open_clip`, else transformers."""
    if is_open_clip(name_or_path):
        return OpenClipEncoder.load(name_or_path, device=device)
    return ClipEncoder.load(name_or_path, device=device)


@dataclass
class OpenClipEncoder:
    """An OpenCLIP model with its preprocessing and tokenizer (``pip install open_clip_torch``)."""

    model: Any
    preprocess: Any
    tokenizer: Any
    device: str
    name: str

    @classmethod
    def load(cls, name_or_path: str, device: str = "auto") -> "OpenClipEncoder":
        try:
            import open_clip
        except ImportError as exc:
            raise EmbeddingError(f"{name_or_path}: an OpenCLIP model needs open_clip_torch "
                                 f"(pip install 'pmc-hub[ml]'): {exc}") from exc
        spec = name_or_path if name_or_path.startswith("hf-hub:") else f"local-dir:{Path(name_or_path).resolve()}"
        device = pick_device(device)
        try:
            model, preprocess = open_clip.create_model_from_pretrained(spec, device=device)
            tokenizer = open_clip.get_tokenizer(spec)
        except Exception as exc:  # noqa: BLE001 - open_clip raises many types (hub, config, state dict)
            raise EmbeddingError(f"{name_or_path}: cannot load OpenCLIP model: {type(exc).__name__}: {exc}") from exc
        return cls(model.eval(), preprocess, tokenizer, device, name_or_path)

    @property
    def logit_scale(self) -> float:
        scale = getattr(self.model, "logit_scale", None)
        return float(scale.detach().exp()) if scale is not None else 100.0

    def encode_images(self, images: Sequence) -> np.ndarray:
        import torch

        pixels = torch.stack([self.preprocess(im) for im in images]).to(self.device)
        with torch.inference_mode():
            return _normalise(self.model.encode_image(pixels))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        tokens = self.tokenizer(list(texts)).to(self.device)
        with torch.inference_mode():
            return _normalise(self.model.encode_text(tokens))
