"""Read glyphs: how much a patch of a figure looks like each letter a-z, and like a digit.

The patch is compared with letter shapes drawn in five fonts (`glyph_templates`): both are
reduced to a small grey grid, centred and scaled to unit length, and compared by correlation; a
glyph much wider or narrower than the letter is marked down. Case is ignored (panel letters are
matched to caption letters, which may use the other case).
"""
from __future__ import annotations

import base64
import zlib
from functools import lru_cache

import numpy as np
from PIL import Image

from . import glyph_templates as _t

ALPHABET = "abcdefghijklmnopqrstuvwxyz"
DIGIT = len(ALPHABET)  # column of the scores that holds the best digit's score
_ASPECT_WEIGHT = 0.35  # score lost per unit of |log(aspect ratio)| between glyph and letter


@lru_cache(maxsize=1)
def _templates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(normalised patches (n, GRID*GRID), log aspect ratios (n,), letter index 0-25 (n,))."""
    raw = np.frombuffer(zlib.decompress(base64.b64decode("".join(_t.PATCHES))), dtype=np.uint8)
    patches = _normalise(raw.reshape(-1, _t.GRID * _t.GRID).astype(np.float32))
    letters = np.array([DIGIT if c.isdigit() else ALPHABET.index(c.lower()) for c in _t.LETTERS])
    return patches, np.log(np.array(_t.ASPECTS, dtype=np.float32)), letters


def _normalise(rows: np.ndarray) -> np.ndarray:
    rows = rows - rows.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norm, 1e-6)


def _grid(patch: np.ndarray) -> np.ndarray:
    """``patch`` (as uint8) resized to GRID x GRID (raw bytes in and out: cheaper than fromarray
    and asarray, called for every glyph candidate)."""
    h, w = patch.shape
    small = Image.frombytes("L", (w, h), patch.astype(np.uint8).tobytes()).resize((_t.GRID, _t.GRID), Image.BILINEAR)
    return np.frombuffer(small.tobytes(), dtype=np.uint8).astype(np.float32)


def letter_scores(patches: list[np.ndarray | None]) -> np.ndarray:
    """Scores (n, 27) of glyph patches (2-D, ink bright, cropped to the glyph) for a-z, then for
    the best digit: the best correlation with any font's drawing of it, less the aspect-ratio
    penalty. A patch given as None is not read (a glyph no rule can use): its row is -inf. Each
    row's scores depend on its patch alone."""
    if not patches:
        return np.zeros((0, len(ALPHABET) + 1), dtype=np.float32)
    read = [k for k, p in enumerate(patches) if p is not None]
    vecs = np.zeros((len(patches), _t.GRID * _t.GRID), dtype=np.float32)
    if read:
        vecs[read] = np.stack([_grid(patches[k]) for k in read])
    vecs = _normalise(vecs)
    aspects = np.log(np.array([max(p.shape[1], 1) / max(p.shape[0], 1) if p is not None else 1.0 for p in patches],
                              dtype=np.float32))
    templates, log_aspects, letters = _templates()
    # one product for all the rows, read or not: the same shapes give every row the same sums
    scores = vecs @ templates.T - _ASPECT_WEIGHT * np.abs(aspects[:, None] - log_aspects[None, :])
    order, starts = _by_letter()
    best = np.maximum.reduceat(scores[:, order], starts, axis=1)
    best[[k for k, p in enumerate(patches) if p is None]] = -np.inf
    return best


@lru_cache(maxsize=1)
def _by_letter() -> tuple[np.ndarray, np.ndarray]:
    """The templates' columns grouped by letter (0-26), and where each letter's group starts."""
    letters = _templates()[2]
    order = np.argsort(letters, kind="stable")
    return order, np.searchsorted(letters[order], np.arange(len(ALPHABET) + 1))
