"""Embedding clusters, as BIOMEDICA labelled its figures: embed every image, k-means, let experts
name the clusters in a cluster-label file, and propagate those names to every image."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Iterable, Mapping, Optional

import numpy as np

from ..embed import unit_rows
from ..errors import UsageError
from .labeler import Labeler, with_label
from .taxonomy import Taxonomy, TaxonomyError, load_taxonomy


class ClusterLabelError(UsageError, ValueError):
    """The maintainer's cluster-label file is not valid (names the cluster and the reason)."""


class ClusteringError(UsageError, ValueError):
    """k-means cannot run as asked (e.g. more clusters than images)."""


@dataclass
class ClusterLabel:
    primary: str
    secondary: list[str] = field(default_factory=list)


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (k-means++ start) on L2-normalised rows: (centroids, assignment)."""
    if k < 1 or len(x) < k:
        raise ClusteringError(f"k-means needs 1 <= k <= number of embeddings (k={k}, n={len(x)}); "
                              "ask for fewer clusters")
    x = unit_rows(np.asarray(x, dtype=np.float64))
    rng = np.random.default_rng(seed)
    centroids = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.min(1.0 - x @ np.stack(centroids).T, axis=1).clip(min=0)
        centroids.append(x[rng.choice(len(x), p=d / d.sum())] if d.sum() > 0 else x[rng.integers(len(x))])
    c = np.stack(centroids)
    assign = np.full(len(x), -1)
    for _ in range(iters):
        new = np.argmax(x @ c.T, axis=1)
        if np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            if np.any(assign == j):
                c[j] = unit_rows(x[assign == j].mean(axis=0, keepdims=True))[0]
    return c.astype(np.float32), assign


def load_cluster_labels(path: Path, taxonomy: Optional[Taxonomy] = None) -> dict[int, ClusterLabel]:
    """Read the maintainer's cluster-label file (YAML or JSON)::

        clusters:
          0: {primary: Microscopy, secondary: [fluorescence microscopy]}
          3: {primary: Plots and Charts}

    Every name is checked against the taxonomy; clusters not listed stay unlabelled.
    """
    import yaml

    taxonomy = taxonomy or load_taxonomy()
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ClusterLabelError(f"{path}: cannot read cluster labels: {exc}") from exc
    clusters = raw.get("clusters") if isinstance(raw, dict) else None
    if not isinstance(clusters, dict):
        raise ClusterLabelError(f"{path}: expected a mapping under 'clusters'")
    out: dict[int, ClusterLabel] = {}
    for cid, entry in clusters.items():
        where = f"{path}: cluster {cid}"
        try:
            cid_int = int(cid)
        except (TypeError, ValueError):
            raise ClusterLabelError(f"{where}: cluster id must be an integer") from None
        if not isinstance(entry, dict) or "primary" not in entry:
            raise ClusterLabelError(f"{where}: needs a 'primary' label")
        secondary = entry.get("secondary") or []
        if isinstance(secondary, str):
            secondary = [secondary]
        try:
            taxonomy.primary_named(entry["primary"])
            for s in secondary:
                taxonomy.secondary_of(entry["primary"], s)
        except TaxonomyError as exc:
            raise ClusterLabelError(f"{where}: {exc}") from None
        out[cid_int] = ClusterLabel(entry["primary"], list(secondary))
    return out


def cluster_label_template(rows: Iterable[dict], per_cluster: int = 5) -> dict:
    """A starting cluster-label file for the maintainer: per cluster id, a few example captions
    and an empty ``primary`` to fill in (rows must carry ``image_cluster_id``)."""
    examples: dict[int, list[str]] = {}
    for row in rows:
        cid = row.get("image_cluster_id")
        if cid is not None and len(examples.setdefault(cid, [])) < per_cluster:
            examples[cid].append((row.get("caption") or "")[:200])
    return {"clusters": {cid: {"primary": None, "secondary": [], "examples": ex}
                         for cid, ex in sorted(examples.items())}}


@dataclass
class ClusterLabeler(Labeler):
    """Nearest centroid of the image embedding -> ``image_cluster_id``; a cluster named in
    ``cluster_labels`` also sets the primary / secondary labels (score: cosine to the centroid).

    ``model`` is any transformers vision model (CLIP or a plain ViT) by path or Hub id;
    ``centroids`` come from `kmeans` over embeddings of the same model (`fit_clusters`).
    """

    model: str
    centroids: np.ndarray
    cluster_labels: Mapping[int, ClusterLabel] = field(default_factory=dict)
    taxonomy: Taxonomy = field(default_factory=load_taxonomy)
    batch_size: int = 32
    device: str = "auto"
    name = "clusters"

    def __post_init__(self) -> None:
        from ..embed import ImageEncoder

        self.encoder = ImageEncoder.load(self.model, device=self.device)
        self.centroids = unit_rows(np.asarray(self.centroids, dtype=np.float32))

    def label_batch(self, rows: list[dict]) -> list[dict]:
        from ..embed import row_image

        sims = self.encoder.encode_images([row_image(r) for r in rows]) @ self.centroids.T
        out = []
        for row, s in zip(rows, sims):
            cid = int(np.argmax(s))
            row = dict(row, image_cluster_id=cid)
            if (cl := self.cluster_labels.get(cid)) is not None:
                row = with_label(row, self.taxonomy, cl.primary, list(cl.secondary),
                                  f"{self.name}:{self.model}", float(np.clip(s[cid], 0.0, 1.0)))
            out.append(row)
        return out


def fit_clusters(rows: Iterable[dict], model: str, k: int, seed: int = 0, batch_size: int = 32,
                 device: str = "auto", limit: Optional[int] = None) -> np.ndarray:
    """Embed the images of ``rows`` (the first ``limit``, a sample is enough) and return k
    centroids; save them with ``np.save`` for `ClusterLabeler`."""
    from ..embed import ImageEncoder, row_image

    encoder = ImageEncoder.load(model, device=device)
    it = islice(iter(rows), limit)
    parts = []
    while batch := list(islice(it, batch_size)):
        parts.append(encoder.encode_images([row_image(r) for r in batch]))
    if not parts:
        raise ClusteringError("fit_clusters: no rows to embed (is the build empty?)")
    return kmeans(np.concatenate(parts), k, seed=seed)[0]
