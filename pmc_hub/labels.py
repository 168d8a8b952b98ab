"""Image content labelers: fill the label fields of figure rows (taxonomy in schemas/taxonomy.json).

Every labeler has one interface, ``labeler.label(rows) -> rows``: it streams dict rows (the figure
schema), works in batches, and yields new dicts with the label fields set. Labelers compose:
``chain(rows, RuleLabeler(), SubfigurePanelLabeler(boxes))``.

- `RuleLabeler` (default, fast): caption + inline-reference text rules from the taxonomy's
  terms and abbreviations; panel type from panel letters in the caption.
- `ZeroShotLabeler`: CLIP-like image-text scores against the taxonomy's prompts.
- `ClusterLabeler`: nearest k-means centroid of image embeddings, then the maintainer's
  cluster-label file (cluster id -> primary / secondary), as BIOMEDICA did.
- `SubfigurePanelLabeler`: panel type and layout from detected subfigure boxes.

``image_label_id`` is the taxonomy id of ``image_primary_label`` (stable across labelers).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np

from .resources import schemas_dir

LABEL_FIELDS = (
    "image_label_id", "image_cluster_id", "image_panel_type", "image_panel_subtype",
    "image_primary_label", "image_secondary_label", "image_label_source", "image_label_score",
)


class TaxonomyError(ValueError):
    """The taxonomy file, or a name said to be in it, is not valid."""


class ClusterLabelError(ValueError):
    """The maintainer's cluster-label file is not valid (names the cluster and the reason)."""


# ---------------------------------------------------------------- taxonomy

@dataclass(frozen=True)
class SecondaryClass:
    name: str
    prompt: str
    terms: tuple[str, ...] = ()  # case-insensitive regexes, matched on word boundaries
    abbreviations: tuple[str, ...] = ()  # case-sensitive regexes, not inside a longer token
    exclude: tuple[str, ...] = ()  # case-sensitive phrases that cancel a match (e.g. "CT Green")


@dataclass(frozen=True)
class PrimaryClass:
    id: int
    name: str
    description: str
    prompt: str
    secondary: tuple[SecondaryClass, ...]


@dataclass(frozen=True)
class Taxonomy:
    version: str
    primary: tuple[PrimaryClass, ...]
    panel_subtypes: Mapping[str, tuple[str, ...]]  # panel type -> its subtypes

    def primary_named(self, name: str) -> PrimaryClass:
        for p in self.primary:
            if p.name == name:
                return p
        raise TaxonomyError(f"{name!r} is not a primary class of taxonomy {self.version}")

    def secondary_of(self, primary: str, name: str) -> SecondaryClass:
        for s in self.primary_named(primary).secondary:
            if s.name == name:
                return s
        raise TaxonomyError(f"{name!r} is not a secondary class under {primary!r}")


def load_taxonomy(path: Optional[Path] = None) -> Taxonomy:
    """Read a taxonomy JSON (default ``schemas/taxonomy.json``)."""
    path = Path(path or schemas_dir() / "taxonomy.json")
    try:
        st = path.stat()
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read taxonomy: {exc}") from exc
    return _load_taxonomy(str(path), (st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=8)
def _load_taxonomy(path: str, _stamp: tuple[int, int]) -> Taxonomy:  # the stamp makes an edited file reload
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        primary = tuple(
            PrimaryClass(p["id"], p["name"], p.get("description", ""), p["prompt"], tuple(
                SecondaryClass(s["name"], s["prompt"], tuple(s.get("terms", ())),
                               tuple(s.get("abbreviations", ())), tuple(s.get("exclude", ())))
                for s in p["secondary"]))
            for p in raw["primary"])
        panels = {t["name"]: tuple(s["name"] for s in t["subtypes"]) for t in raw["panel_types"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TaxonomyError(f"{path}: not a valid taxonomy: {exc}") from exc
    if [p.id for p in primary] != list(range(len(primary))):
        raise TaxonomyError(f"{path}: primary ids must be 0..n-1 in order")
    return Taxonomy(str(raw.get("version", "")), primary, panels)


# ---------------------------------------------------------------- interface

class Labeler:
    """Base class: ``label`` batches the stream and calls ``label_batch`` on each batch."""

    name = "labeler"
    batch_size = 256

    def label(self, rows: Iterable[dict]) -> Iterator[dict]:
        it = iter(rows)
        while batch := list(islice(it, self.batch_size)):
            yield from self.label_batch(batch)

    def label_batch(self, rows: list[dict]) -> list[dict]:
        raise NotImplementedError


def chain(rows: Iterable[dict], *labelers: Labeler) -> Iterator[dict]:
    """Run ``rows`` through each labeler in turn (later ones overwrite the fields they set)."""
    for labeler in labelers:
        rows = labeler.label(rows)
    yield from rows


def _with_label(row: dict, taxonomy: Taxonomy, primary: str, secondary: list[str],
                source: str, score: float) -> dict:
    out = dict(row)
    out.update(image_primary_label=primary, image_secondary_label=secondary,
               image_label_id=taxonomy.primary_named(primary).id,
               image_label_source=source, image_label_score=float(round(score, 4)))
    return out


# ---------------------------------------------------------------- (a) caption rules

_PAREN_PANELS = re.compile(r"\(\s*([A-Za-z])(?:\s*[,–—\-]\s*([A-Za-z]))*\s*\)")
_RANGE = re.compile(r"([A-Za-z])\s*[–—\-]\s*([A-Za-z])")
# Bare panel letters: "A. The ...", "A, Growth ..." (sentence start); "of A, THL and B, MmPPOX";
# lowercase at a sentence start ("a Major ...") or after a comma ("..., b FESEM image"), where
# English would not put a lone lowercase letter (except the article "a" after a comma).
_BARE_PANELS = (
    re.compile(r"(?:^|[.;:]\s*)([A-H])[.,:)]\s+"),
    re.compile(r"(?<![\w(\-])([A-H]),\s+(?=[A-Z])"),
    re.compile(r"(?:^|[.;:]\s+)([a-h])[.,:)]?\s+"),
    re.compile(r",\s+([b-h])[.,:)]?\s+"),
)


def panel_letters(caption: str) -> set[str]:
    """The panel letters a caption names: "(A)", "(A–C)", "(a, b)", "A, ...", "b FESEM ..."."""
    letters: set[str] = set()
    for m in _PAREN_PANELS.finditer(caption):
        group = m.group(0)
        letters.update(ch.lower() for ch in re.findall(r"[A-Za-z]", group))
        for lo, hi in _RANGE.findall(group):  # "(A–C, E–G)" names B, F too
            letters.update(chr(c) for c in range(ord(lo.lower()), ord(hi.lower()) + 1))
    for pattern in _BARE_PANELS:
        letters.update(m.group(1).lower() for m in pattern.finditer(caption))
    return letters


def caption_panel_type(caption: str) -> Optional[str]:
    """``multiple`` when the caption names panels a and b; else None (absence proves nothing)."""
    letters = panel_letters(caption)
    return "multiple" if {"a", "b"} <= letters else None


_UNSAFE_LOWER = re.compile(r"\\[SWDBAZ]|\[[^\]]*[A-Z]-[A-Z]")


@dataclass
class _TextRules:
    """All caption cues compiled into two regexes (one pass over a text, not one per class):
    terms on the lowercased text, abbreviations case-sensitively. Named group ``tN`` / ``aN``
    is class N of ``classes``. Exclusion phrases are blanked out first."""

    classes: list[tuple[str, str]]  # (primary, secondary)
    terms: Optional[re.Pattern]
    abbreviations: Optional[re.Pattern]
    exclude: Optional[re.Pattern]

    def first_positions(self, text: str) -> dict[int, int]:
        """Class index -> offset of its first mention in ``text``."""
        if self.exclude is not None:
            text = self.exclude.sub(lambda m: " " * len(m.group(0)), text)
        first: dict[int, int] = {}
        for pattern, subject in ((self.terms, text.lower()), (self.abbreviations, text)):
            if pattern is None:
                continue
            for m in pattern.finditer(subject):
                i = int(m.lastgroup[1:])
                first[i] = min(first.get(i, m.start()), m.start())
        return first


def _text_rules(taxonomy: Taxonomy) -> _TextRules:
    classes: list[tuple[str, str]] = []
    terms, abbrs, excludes = [], [], []
    for p in taxonomy.primary:
        for s in p.secondary:
            if not (s.terms or s.abbreviations):
                continue
            i = len(classes)
            classes.append((p.name, s.name))
            for t in s.terms:
                if _UNSAFE_LOWER.search(t):
                    raise TaxonomyError(f"{s.name}: term {t!r} is matched on lowercased text; "
                                        "use lowercase classes (\\w, [a-z]) only")
            if s.terms:
                terms.append(f"(?P<t{i}>" + "|".join(t.lower() for t in s.terms) + ")")
            if s.abbreviations:
                abbrs.append(f"(?P<a{i}>" + "|".join(s.abbreviations) + ")")
            excludes.extend(s.exclude)
    try:
        return _TextRules(
            classes,
            re.compile(r"(?<!\w)(?:" + "|".join(terms) + r")(?!\w)") if terms else None,
            re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(abbrs) + r")(?![A-Za-z0-9])") if abbrs else None,
            re.compile("|".join(re.escape(e) for e in excludes)) if excludes else None)
    except re.error as exc:
        raise TaxonomyError(f"taxonomy {taxonomy.version}: bad term or abbreviation regex: {exc}") from exc


@dataclass
class RuleLabeler(Labeler):
    """Caption and inline-reference text rules; the default labeler.

    Evidence per secondary class: 1.0 if the caption mentions it, +1.0 more if its title (first
    sentence) does, +0.5 if a citing paragraph does. The primary class with the most evidence
    wins (ties: earliest mention in the caption, then taxonomy order); the score is its share of
    all evidence. Secondary labels: every matched class, strongest first. When no class matches
    but the caption describes plotted statistics (means ± SD, confidence intervals, a
    distribution, a plot...), the figure is `Plots and Charts` with no secondary label and the
    low score `CHART_CUE_SCORE`. Otherwise: no label.
    """

    taxonomy: Taxonomy = field(default_factory=load_taxonomy)
    batch_size: int = 1024
    name = "rules"

    def __post_init__(self) -> None:
        self._rules = _text_rules(self.taxonomy)

    def label_batch(self, rows: list[dict]) -> list[dict]:
        return [self.label_row(r) for r in rows]

    def label_row(self, row: dict) -> dict:
        caption = row.get("caption") or ""
        context = " ".join(row.get("image_context") or [])
        title_end = _title_end(caption)
        evidence: dict[tuple[str, str], float] = {}
        first_at: dict[str, int] = {}
        in_context = self._rules.first_positions(context) if context else {}
        for i, at in self._rules.first_positions(caption).items():
            primary = self._rules.classes[i][0]
            evidence[self._rules.classes[i]] = 1.0 + (1.0 if at < title_end else 0.0)
            first_at[primary] = min(first_at.get(primary, at), at)
        for i in in_context:
            evidence[self._rules.classes[i]] = evidence.get(self._rules.classes[i], 0.0) + 0.5
        out = dict(row)
        if panel := caption_panel_type(caption):
            out["image_panel_type"] = panel
        if not evidence:
            if _CHART_CUES.search(caption):
                return _with_label(out, self.taxonomy, "Plots and Charts", [], self.name, CHART_CUE_SCORE)
            return out
        by_primary: dict[str, float] = {}
        for (p, _), w in evidence.items():
            by_primary[p] = by_primary.get(p, 0.0) + w
        order = {p.name: p.id for p in self.taxonomy.primary}
        best = min(by_primary, key=lambda p: (-by_primary[p], first_at.get(p, 1 << 30), order[p]))
        secondary = [s for (_, s), _w in sorted(evidence.items(), key=lambda kv: (-kv[1], order[kv[0][0]]))]
        return _with_label(out, self.taxonomy, best, secondary, self.name,
                           by_primary[best] / sum(by_primary.values()))


# Statistics that only a chart shows, for captions that name no chart type.
_CHART_CUES = re.compile(
    r"±|\bmeans?\b|\bstandard (?:deviation|error)\b|\bconfidence intervals?\b|\berror bars?\b"
    r"|\bdistributions?\b|\bplot(?:s|ted)?\b|\bcorrelation\b|\bregression\b|\bpercentiles?\b"
    r"|\bp\s*[<=>]\s*0?\.\d", re.I)
CHART_CUE_SCORE = 0.25


def _title_end(caption: str) -> int:
    """End of the caption's title: its first sentence (PMC captions start with a title)."""
    m = re.search(r"[.!?](?=\s|$|[A-Z(])", caption)
    return m.end() if m else len(caption)


# ---------------------------------------------------------------- (d) subfigure boxes

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def panel_layout(boxes: Sequence[Box]) -> tuple[str, str]:
    """(panel type, subtype) from subfigure boxes: one box is single; several give row,
    column, grid (every row has the same number of panels) or irregular."""
    if len(boxes) <= 1:
        return "single", "single"
    rows = _bands([(b[1], b[3]) for b in boxes])
    cols = _bands([(b[0], b[2]) for b in boxes])
    if rows == 1:
        return "multiple", "row"
    if cols == 1:
        return "multiple", "column"
    return "multiple", "grid" if rows * cols == len(boxes) else "irregular"


def _bands(spans: list[tuple[float, float]]) -> int:
    """How many bands of overlapping centres: spans whose centres fall inside an earlier band
    (sorted by centre) join it."""
    bands: list[tuple[float, float]] = []
    for lo, hi in sorted(spans, key=lambda s: (s[0] + s[1]) / 2):
        centre = (lo + hi) / 2
        if bands and bands[-1][0] <= centre <= bands[-1][1]:
            continue
        bands.append((lo, hi))
    return len(bands)


@dataclass
class SubfigurePanelLabeler(Labeler):
    """Panel type and subtype from detected subfigure boxes (keyed by ``image_key``, or a
    function of the row); a bare subfigure count gives the type without a layout subtype.

    Rows without an entry keep what they had (e.g. the caption rule's panel type).
    Only the panel fields change: the primary label and its source are left alone.
    """

    boxes: Callable[[dict], Optional[Sequence[Box] | int]] | Mapping[str, Sequence[Box] | int]
    batch_size: int = 1024
    name = "subfigures"

    def label_batch(self, rows: list[dict]) -> list[dict]:
        out = []
        for row in rows:
            found = self.boxes(row) if callable(self.boxes) else self.boxes.get(row.get("image_key"))
            row = dict(row)
            if isinstance(found, int):  # a bare subfigure count: the type, but no layout
                panel = ("multiple", None) if found > 1 else ("single", "single")
                row["image_panel_type"], row["image_panel_subtype"] = panel
            elif found is not None:
                row["image_panel_type"], row["image_panel_subtype"] = panel_layout(list(found))
            out.append(row)
        return out


# ---------------------------------------------------------------- (b) zero-shot

@dataclass
class ZeroShotLabeler(Labeler):
    """Zero-shot labels from a CLIP-like model: softmax over the primary prompts, then the best
    secondary prompt under the winning primary. ``model`` is a local path or Hub id."""

    model: str
    taxonomy: Taxonomy = field(default_factory=load_taxonomy)
    batch_size: int = 32
    device: str = "auto"
    template: str = "a biomedical figure showing {}"

    def __post_init__(self) -> None:
        from .embed import ClipEncoder

        self.encoder = ClipEncoder.load(self.model, device=self.device)
        self.name = f"zero-shot:{self.model}"
        self._primary_text = self.encoder.encode_texts(
            [self.template.format(p.prompt) for p in self.taxonomy.primary])
        self._secondary_text = {
            p.name: self.encoder.encode_texts([self.template.format(s.prompt) for s in p.secondary])
            for p in self.taxonomy.primary}

    def label_batch(self, rows: list[dict]) -> list[dict]:
        from .embed import row_image

        images = self.encoder.encode_images([row_image(r) for r in rows])
        scale = self.encoder.logit_scale
        probs = _softmax(scale * images @ self._primary_text.T)
        out = []
        for row, img, p in zip(rows, images, probs):
            best = self.taxonomy.primary[int(np.argmax(p))]
            sec_scores = self._secondary_text[best.name] @ img
            secondary = [best.secondary[int(np.argmax(sec_scores))].name]
            out.append(_with_label(row, self.taxonomy, best.name, secondary, self.name, float(p.max())))
        return out


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- (c) embedding clusters

@dataclass
class ClusterLabel:
    primary: str
    secondary: list[str] = field(default_factory=list)


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (k-means++ start) on L2-normalised rows: (centroids, assignment)."""
    if k < 1 or len(x) < k:
        raise ValueError(f"k-means needs 1 <= k <= number of embeddings (k={k}, n={len(x)})")
    x = _normalise(np.asarray(x, dtype=np.float64))
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
                c[j] = _normalise(x[assign == j].mean(axis=0, keepdims=True))[0]
    return c.astype(np.float32), assign


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


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
        from .embed import ImageEncoder

        self.encoder = ImageEncoder.load(self.model, device=self.device)
        self.centroids = _normalise(np.asarray(self.centroids, dtype=np.float32))

    def label_batch(self, rows: list[dict]) -> list[dict]:
        from .embed import row_image

        sims = self.encoder.encode_images([row_image(r) for r in rows]) @ self.centroids.T
        out = []
        for row, s in zip(rows, sims):
            cid = int(np.argmax(s))
            row = dict(row, image_cluster_id=cid)
            if (cl := self.cluster_labels.get(cid)) is not None:
                row = _with_label(row, self.taxonomy, cl.primary, list(cl.secondary),
                                  f"{self.name}:{self.model}", float(np.clip(s[cid], 0.0, 1.0)))
            out.append(row)
        return out


def fit_clusters(rows: Iterable[dict], model: str, k: int, seed: int = 0, batch_size: int = 32,
                 device: str = "auto", limit: Optional[int] = None) -> np.ndarray:
    """Embed the images of ``rows`` (the first ``limit``, a sample is enough) and return k
    centroids; save them with ``np.save`` for `ClusterLabeler`."""
    from .embed import ImageEncoder, row_image

    encoder = ImageEncoder.load(model, device=device)
    it = islice(iter(rows), limit)
    parts = []
    while batch := list(islice(it, batch_size)):
        parts.append(encoder.encode_images([row_image(r) for r in batch]))
    if not parts:
        raise ValueError("fit_clusters: no rows to embed")
    return kmeans(np.concatenate(parts), k, seed=seed)[0]
