"""Image-text retrieval evaluation (PMC-9K protocol): one caption per image, the full split as the
gallery, Recall@K, mean and median rank in both directions, with seeded bootstrap intervals.

Ranks: the rank of the true match for query i is ``1 + #{j != i : s(i, j) >= s(i, i)}``: a
candidate that ties the true match ranks ahead of it. Ties therefore count against the model,
never depend on the gallery order, and a model that embeds everything alike gets rank n
(recall 0), not a lucky rank 1. Recall@K for K >= n is 1 by definition (reported as such).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .embed import unit_rows
from .errors import DataError
from .output import shard_files

KS = (1, 5, 10, 50, 200)
PROTOCOL = "PMC-9K: one caption per image, full gallery, pessimistic ties"


class RetrievalError(DataError, ValueError):
    """Bad evaluation input: embeddings that do not pair up, a split that cannot be found..."""


@dataclass
class Interval:
    value: float
    low: float
    high: float


@dataclass
class DirectionResult:
    recall: dict[str, Interval]  # "R@1" -> value and 95% interval
    mean_rank: Interval
    median_rank: Interval


@dataclass
class RetrievalResult:
    n: int
    image_to_text: DirectionResult
    text_to_image: DirectionResult
    resamples: int
    seed: int
    confidence: float = 0.95
    protocol: str = PROTOCOL
    meta: dict = field(default_factory=dict)  # model, dataset, config, split...

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


# ---------------------------------------------------------------- ranks and metrics

def ranks_from_similarity(sim: np.ndarray) -> np.ndarray:
    """Rank (1 = best) of the diagonal entry in each row of a square similarity matrix."""
    sim = np.asarray(sim)
    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise RetrievalError(f"similarity matrix must be square, got shape {sim.shape}")
    return _block_ranks(sim, 0)


def _block_ranks(block: np.ndarray, offset: int) -> np.ndarray:
    rows = np.arange(block.shape[0])
    true = block[rows, offset + rows]
    return (block >= true[:, None]).sum(axis=1)  # the true match counts itself once: that is the 1


def ranks(queries: np.ndarray, gallery: np.ndarray, block: int = 1024) -> np.ndarray:
    """Rank of ``gallery[i]`` for ``queries[i]`` by dot product, in blocks of queries (memory:
    block x n similarities, never n x n)."""
    out = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), block):
        q = queries[start:start + block]
        out[start:start + len(q)] = _block_ranks(q @ gallery.T, start)
    return out


def _stats(r: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """Rows: resamples (or one); columns: recall@k..., mean rank, median rank."""
    r = np.atleast_2d(r)
    cols = [(r <= k).mean(axis=1) for k in ks] + [r.mean(axis=1), np.median(r, axis=1)]
    return np.stack(cols, axis=1)


def summarize_ranks(r: np.ndarray, ks: Sequence[int] = KS, resamples: int = 1000, seed: int = 0,
                    confidence: float = 0.95, chunk: int = 100) -> DirectionResult:
    """Point estimates and percentile bootstrap intervals (queries resampled with replacement)."""
    r = np.asarray(r)
    point = _stats(r, ks)[0]
    rng = np.random.default_rng(seed)
    boot = []
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, len(r), size=(min(chunk, resamples - start), len(r)))
        boot.append(_stats(r[idx], ks))
    tail = (1 - confidence) / 2 * 100
    low, high = (np.percentile(np.concatenate(boot), [tail, 100 - tail], axis=0)
                 if resamples else (point, point))
    iv = [Interval(float(p), float(lo), float(hi)) for p, lo, hi in zip(point, low, high)]
    return DirectionResult({f"R@{k}": v for k, v in zip(ks, iv)}, iv[len(ks)], iv[len(ks) + 1])


def evaluate_embeddings(images: np.ndarray, texts: np.ndarray, ks: Sequence[int] = KS, resamples: int = 1000,
                        seed: int = 0, meta: Optional[dict] = None) -> RetrievalResult:
    """Both directions from paired embeddings (row i of each is one pair); L2-normalised here."""
    images, texts = _check_pairs(images, texts)
    i2t = ranks(images, texts)
    t2i = ranks(texts, images)
    return RetrievalResult(len(images), summarize_ranks(i2t, ks, resamples, seed),
                           summarize_ranks(t2i, ks, resamples, seed), resamples, seed, meta=dict(meta or {}))


def _check_pairs(images: np.ndarray, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    images, texts = np.asarray(images, dtype=np.float32), np.asarray(texts, dtype=np.float32)
    if images.ndim != 2 or texts.ndim != 2:
        raise RetrievalError(f"embeddings must be 2-D (n, dim); got image {images.shape}, text {texts.shape}")
    if images.shape != texts.shape:
        raise RetrievalError(f"image and text embeddings must pair up row by row with the same dim; "
                             f"got image {images.shape}, text {texts.shape}")
    if len(images) == 0:
        raise RetrievalError("no pairs to evaluate")
    if not (np.isfinite(images).all() and np.isfinite(texts).all()):
        raise RetrievalError("embeddings contain NaN or infinite values")
    return unit_rows(images), unit_rows(texts)


def load_embeddings(image_path: Path, text_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Precomputed embeddings (.npy), row i of each file being pair i."""
    out = []
    for path in (image_path, text_path):
        try:
            out.append(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise RetrievalError(f"{path}: cannot read embeddings (.npy): {exc}") from exc
    return out[0], out[1]


# ---------------------------------------------------------------- data and model

def load_pairs(dataset: str, config: str, split: str, cache_dir: Optional[str] = None):
    """The (image, caption) columns of a split: a built folder (read from its Parquet shards,
    ``{config}/{split}-*.parquet``) or a Hub dataset repo id."""
    from datasets import load_dataset

    local = Path(dataset)
    if local.is_dir():
        files = shard_files(local, config, split)
        if not files:
            raise RetrievalError(f"{dataset}: no {config} {split} shards in its manifest; is it a finished pmc-hub build?")
        ds = load_dataset("parquet", data_files={split: [str(f) for f in files]}, split=split, cache_dir=cache_dir)
    else:
        ds = load_dataset(dataset, config, split=split, cache_dir=cache_dir)
    missing = {"image", "caption"} - set(ds.column_names)
    if missing:
        raise RetrievalError(f"{dataset} {config}/{split}: missing column(s) {', '.join(sorted(missing))}")
    return ds.select_columns(["image", "caption"])


def embed_pairs(ds, encoder, batch_size: int = 64, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Image and caption embeddings of every row of ``ds`` (a `datasets.Dataset`), in batches."""
    from tqdm.auto import tqdm

    from .embed import row_image

    images, texts = [], []
    with tqdm(total=len(ds), desc="embedding pairs", unit="pair", disable=not progress) as bar:
        for start in range(0, len(ds), batch_size):
            batch = ds[start:start + batch_size]
            images.append(encoder.encode_images([row_image({"image": im}) for im in batch["image"]]))
            texts.append(encoder.encode_texts(batch["caption"]))
            bar.update(len(batch["caption"]))
    return np.concatenate(images), np.concatenate(texts)


def evaluate_model(dataset: str, config: str, split: str, model: str, batch_size: int = 64, device: str = "auto",
                   ks: Sequence[int] = KS, resamples: int = 1000, seed: int = 0, progress: bool = True,
                   cache_dir: Optional[str] = None, save_embeddings: Optional[Path] = None) -> RetrievalResult:
    """Embed a split with ``model`` and evaluate it; ``save_embeddings`` keeps the embeddings
    (``images.npy``, ``texts.npy``) for later runs with `evaluate_embeddings`."""
    from .embed import ClipEncoder

    ds = load_pairs(dataset, config, split, cache_dir)
    encoder = ClipEncoder.load(model, device=device)
    images, texts = embed_pairs(ds, encoder, batch_size, progress)
    if save_embeddings is not None:
        Path(save_embeddings).mkdir(parents=True, exist_ok=True)
        np.save(Path(save_embeddings) / "images.npy", images)
        np.save(Path(save_embeddings) / "texts.npy", texts)
    meta = {"dataset": dataset, "config": config, "split": split, "model": model, "device": encoder.device}
    return evaluate_embeddings(images, texts, ks, resamples, seed, meta)


def format_table(result: RetrievalResult) -> str:
    """A plain-text table: one row per metric, both directions, value [low, high]."""
    def cell(iv: Interval, pct: bool) -> str:
        f = (lambda v: f"{100 * v:.2f}") if pct else (lambda v: f"{v:.1f}")
        return f"{f(iv.value)} [{f(iv.low)}, {f(iv.high)}]"

    rows = [(name, cell(result.image_to_text.recall[name], True), cell(result.text_to_image.recall[name], True))
            for name in result.image_to_text.recall]
    rows.append(("mean rank", cell(result.image_to_text.mean_rank, False), cell(result.text_to_image.mean_rank, False)))
    rows.append(("median rank", cell(result.image_to_text.median_rank, False),
                 cell(result.text_to_image.median_rank, False)))
    head = ("metric", "image->text", "text->image")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
    lines = [f"{result.n} pairs; {int(result.confidence * 100)}% bootstrap intervals "
             f"({result.resamples} resamples, seed {result.seed}); recall in %"]
    for r in [head, tuple("-" * w for w in widths), *rows]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)
