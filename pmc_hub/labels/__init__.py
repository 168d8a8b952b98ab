"""Content labels for figure rows: the label fields of the figure schema, from the taxonomy in
``schemas/taxonomy.json`` (docs/taxonomy.md).

Every labeler has one interface, ``labeler.label(rows) -> rows``: it streams dict rows, works in
batches and yields new dicts with the label fields set. Labelers compose:
``chain(rows, ContentLabeler(thumbnails=...), SubfigurePanelLabeler(boxes))``.

- `ContentLabeler` (the default): cheap statistics of the image thumbnail decide the coarse class,
  the caption rules the fine one; every figure gets a primary label and a panel type.
- `RuleLabeler`: the caption and citing-paragraph rules alone.
- `ZeroShotLabeler`: a CLIP-like model (transformers or OpenCLIP) scores the taxonomy's prompts.
- `ClusterLabeler`: nearest k-means centroid of image embeddings, then the maintainer's
  cluster-label file (cluster id -> primary / secondary), as BIOMEDICA did (`relabel`).
- `SubfigurePanelLabeler`: panel type and layout from detected subfigure boxes.

``image_label_id`` is the taxonomy id of ``image_primary_label`` (stable across labelers).
"""
from .clusters import (ClusterLabel, ClusterLabeler, ClusterLabelError, ClusteringError, cluster_label_template,
                       fit_clusters, kmeans, load_cluster_labels)
from .content import ContentLabeler
from .image import ContentModelError
from .labeler import LABEL_FIELDS, Labeler, chain
from .panel import SubfigurePanelLabeler, image_panel_type, panel_layout
from .rules import CHART_CUE_SCORE, CaptionEvidence, RuleLabeler, caption_panel_type, panel_letters
from .taxonomy import PrimaryClass, SecondaryClass, Taxonomy, TaxonomyError, load_taxonomy
from .zero_shot import ZeroShotLabeler

__all__ = [
    "CHART_CUE_SCORE", "LABEL_FIELDS", "CaptionEvidence", "ClusterLabel", "ClusterLabelError", "ClusterLabeler",
    "ClusteringError", "ContentLabeler", "ContentModelError", "Labeler", "PrimaryClass", "RuleLabeler",
    "SecondaryClass", "SubfigurePanelLabeler", "Taxonomy", "TaxonomyError", "ZeroShotLabeler", "caption_panel_type",
    "chain", "cluster_label_template", "fit_clusters", "image_panel_type", "kmeans", "load_cluster_labels",
    "load_taxonomy", "panel_layout", "panel_letters",
]
