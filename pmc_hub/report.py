"""The build report: what went in, what was written where, and every skip with its reason."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from .models import ArticleResult, Skip  # noqa: F401  (Skip: re-exported for report readers)
from .output import FIGURE_CONFIGS, REPORT_FILE, write_text_atomic

# Skip reasons, one name per cause, so reports can be compared and counted.
BAD_XML = "bad XML"
NO_XML = "no XML"
DUPLICATE_ARTICLE = "duplicate article"
NO_GRAPHIC = "no graphic"
NO_CAPTION = "no caption"
MISSING_IMAGE = "missing image"
INVALID_RECORD = "invalid record"
DUPLICATE_IMAGE = "duplicate image"
SUBFIGURE_FAILED = "subfigure extraction failed"
ARTICLE_FAILED = "article failed"  # an unexpected error inside the per-article stage
ARTICLE_TIMEOUT = "article timed out"  # over the per-article time budget
ARTICLE_MEMORY = "article over memory budget"
WORKER_DIED = "worker died"  # the worker process crashed while on this article
UNWRITABLE = "unwritable record"  # rows that cannot be stored (e.g. text Parquet cannot encode)


def duplicate_image_skip(article_id: str, dup) -> Skip:
    """The skip of an image left out as a copy of one kept before it (``dup``: a `pmc_hub.dedup.Duplicate`)."""
    return Skip(article_id, DUPLICATE_IMAGE, f"{dup.kind} duplicate of {dup.duplicate_of} ({dup.distance} bits)",
                dup.key.split("/")[1])


def summarize(result: ArticleResult, rows: dict[str, int]) -> dict:
    """The row-free record of one article: what the report and the resume journal need."""
    return {
        "origin": result.origin,
        "version": result.version,  # package@xml-hash: what an update compares
        "article_id": result.article_id,
        "figures_in": result.figures_in,
        "images_in": result.images_in,
        "article_written": result.written,
        "license_category": result.license_category,
        "license_code": result.license_code,
        "rows": rows,
        "skips": [asdict(s) for s in result.skips],
    }


@dataclass
class BuildReport:
    articles_in: int = 0
    articles_written: int = 0
    figures_in: int = 0
    images_in: int = 0
    images_written: int = 0
    configs: dict[str, dict[str, int]] = field(default_factory=dict)  # config -> split -> rows
    files: dict[str, list[str]] = field(default_factory=dict)  # config -> shard paths
    licenses: dict[str, int] = field(default_factory=dict)  # category -> articles
    license_codes: dict[str, dict[str, int]] = field(default_factory=dict)  # category -> code -> articles
    skip_counts: dict[str, int] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    license_table_version: str = ""
    pmc_hub_version: str = ""
    elapsed_seconds: float = 0.0
    benchmark: dict = field(default_factory=dict)  # the held-out split, when one was carved

    def add(self, summary: dict) -> None:
        """Count one article from its `summarize` dict (the journal keeps these across resumes)."""
        self.articles_in += 1
        self.figures_in += summary["figures_in"]
        self.images_in += summary["images_in"]
        if summary["article_written"]:
            self.articles_written += 1
            category, code = summary["license_category"], summary["license_code"] or "unknown"
            self.licenses[category] = self.licenses.get(category, 0) + 1
            codes = self.license_codes.setdefault(category, {})
            codes[code] = codes.get(code, 0) + 1
        self.images_written += sum(n for config, n in summary["rows"].items() if config in FIGURE_CONFIGS)
        self.add_skips(summary["skips"])

    def add_skips(self, skips: Iterable[dict]) -> None:
        """List skips (`Skip` as dicts) and count them by reason."""
        for skip in skips:
            self.skipped.append(skip)
            self.skip_counts[skip["reason"]] = self.skip_counts.get(skip["reason"], 0) + 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=False)

    def write(self, out_dir: Path) -> Path:
        path = out_dir / REPORT_FILE
        write_text_atomic(path, self.to_json())
        return path

    @classmethod
    def read(cls, out_dir: Path) -> "BuildReport":
        return cls(**json.loads((out_dir / REPORT_FILE).read_text(encoding="utf-8")))
