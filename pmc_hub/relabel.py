"""Label a finished build again: embedding clusters for the maintainer, then their labels.

BIOMEDICA's workflow: embed every image, cluster, let experts name the clusters, and
propagate those names to every image. `fit` writes the centroids and a cluster-label file to
fill in; `apply` rewrites the figure shards with cluster ids and the maintainer's labels.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import yaml

from .labels import ClusterLabeler, cluster_label_template, fit_clusters, load_cluster_labels
from .output import FIGURE_CONFIGS, shard_files
from .rewrite import rewrite_shards
from .schema import validate
from .writers import iter_rows


def _figure_shards(out_dir: Path) -> list[Path]:
    files = [f for config in FIGURE_CONFIGS for f in shard_files(out_dir, config)]
    if not files:
        raise FileNotFoundError(f"{out_dir}: no figure shards (commercial/, noncommercial/, other/)")
    return files


def fit(out_dir: Path, model: str, k: int, centroids_path: Path, template_path: Path,
        sample: Optional[int] = None, seed: int = 0) -> np.ndarray:
    """Cluster the build's image embeddings; save the centroids and a label file to fill in."""
    files = _figure_shards(Path(out_dir))
    centroids = fit_clusters(iter_rows(files), model, k, seed=seed, limit=sample)
    np.save(centroids_path, centroids)
    assigned = ClusterLabeler(model, centroids).label(iter_rows(files))
    template = cluster_label_template(assigned)
    template["model"], template["centroids"] = model, str(centroids_path)
    Path(template_path).write_text(yaml.safe_dump(template, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return centroids


def apply(out_dir: Path, model: str, centroids_path: Path, labels_path: Optional[Path] = None) -> int:
    """Rewrite every figure shard with cluster ids (and the maintainer's labels); rows validated."""
    out_dir = Path(out_dir)
    labeler = ClusterLabeler(model, np.load(centroids_path),
                             load_cluster_labels(labels_path) if labels_path else {})
    _figure_shards(out_dir)  # a clear error when there is nothing to label

    def change(rows: list[dict]) -> list[dict]:
        return [validate("figure", row, row["image_key"]) for row in labeler.label_batch(rows)]

    return rewrite_shards(out_dir, FIGURE_CONFIGS, change)
