"""Tiny random transformers models built offline from configs, saved to a folder, so tests load
them back through the real ``from_pretrained(path)`` code path (no weights are downloaded)."""
from __future__ import annotations

import re
from pathlib import Path

from pmc_hub.labels import load_taxonomy

IMAGE_SIZE = 32


def _vocab(extra_texts: list[str]) -> dict[str, int]:
    vocab = {"[PAD]": 0, "[UNK]": 1, "[BOS]": 2, "[EOS]": 3}
    tax = load_taxonomy()
    words = " ".join([p.prompt for p in tax.primary] + [s.prompt for p in tax.primary for s in p.secondary]
                     + ["a biomedical figure showing"] + extra_texts)
    for w in re.findall(r"\w+|[^\w\s]", words.lower()):
        vocab.setdefault(w, len(vocab))
    return vocab


def tiny_clip(path: Path, extra_texts: list[str] = (), seed: int = 0) -> str:
    """Save a random CLIPModel + CLIPProcessor (WordLevel tokenizer) under ``path``."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, PreTrainedTokenizerFast

    vocab = _vocab(list(extra_texts))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    # CLIP pools the text at its end-of-text token: without one every prompt pools the same first token
    tok.post_processor = processors.TemplateProcessing(single="[BOS] $A [EOS]", special_tokens=[("[BOS]", 2), ("[EOS]", 3)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                        bos_token="[BOS]", eos_token="[EOS]", model_max_length=32)
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=32, bos_token_id=2, eos_token_id=3,
                         pad_token_id=0),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=IMAGE_SIZE, patch_size=8),
        projection_dim=8)
    torch.manual_seed(seed)
    CLIPModel(config).save_pretrained(path)
    image_processor = CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE},
                                         crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(path)
    return str(path)


def tiny_vit(path: Path, seed: int = 0) -> str:
    """Save a random ViTModel + ViTImageProcessor under ``path``."""
    import torch
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(seed)
    ViTModel(ViTConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                       image_size=IMAGE_SIZE, patch_size=8)).save_pretrained(path)
    ViTImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(path)
    return str(path)


def tiny_open_clip(path: Path, seed: int = 0) -> str:
    """Save a random OpenCLIP model (open_clip_config.json + open_clip_model.safetensors, the layout
    of OpenCLIP models on the Hub) under ``path``; the tokenizer is OpenCLIP's bundled BPE."""
    import json

    import torch
    from open_clip.model import CLIP
    from safetensors.torch import save_file

    cfg = {"embed_dim": 8,
           "vision_cfg": {"image_size": IMAGE_SIZE, "layers": 1, "width": 16, "patch_size": 8, "head_width": 8},
           "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1}}
    torch.manual_seed(seed)
    model = CLIP(**cfg)
    path.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / "open_clip_model.safetensors"))
    preprocess = {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711],
                  "interpolation": "bicubic", "resize_mode": "shortest"}
    (path / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": preprocess}))
    return str(path)
