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
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, PreTrainedTokenizerFast

    vocab = _vocab(list(extra_texts))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
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
