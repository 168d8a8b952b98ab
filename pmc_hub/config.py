"""What to build (`BuildConfig`) apart from how to run it (`RunOptions`), the `datasets` way.

Everything that decides the rows and files of a build is in `BuildConfig`; its hash is the resume
fingerprint, so an unfinished build resumes only with exactly the same "what". `RunOptions` never
changes the rows: workers, engine, progress, checkpoints, budgets.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal, Optional

from .version import __version__
from .errors import UsageError
from .media import MAX_PIXELS

LabelMode = Literal["rules", "none"]
EngineName = Literal["process", "ray"]

DEFAULT_SHARD_BYTES = 500 * 1024 * 1024  # the Hub's own push_to_hub default
DEFAULT_ROW_GROUP_ROWS = 100  # image rows: small row groups keep the dataset viewer fast
DEFAULT_FOLDER_FILES = 9_000  # the Hub asks for fewer than 10,000 entries per folder
DEFAULT_REPO_FILES = 90_000  # and fewer than 100,000 files per repository


@dataclass(frozen=True)
class ShardLayout:
    """How rows are laid out in files: shard and row-group sizes, and the Hub's file limits."""

    shard_bytes: int = DEFAULT_SHARD_BYTES
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS
    max_folder_files: int = DEFAULT_FOLDER_FILES
    max_repo_files: int = DEFAULT_REPO_FILES

    def __post_init__(self) -> None:
        for name in ("shard_bytes", "row_group_rows", "max_folder_files", "max_repo_files"):
            if getattr(self, name) < 1:
                raise UsageError(f"shard layout: {name} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class BuildConfig:
    """What a build makes: sources, enrichment and layout. Hashable, picklable, and its hash is
    the resume fingerprint."""

    sources: tuple[str, ...] = ()  # paths / URLs; empty = the bundled sample
    shard: Optional[tuple[int, int]] = None  # (index, count): this job's share of the articles
    release: Optional[str] = None  # release name (folder and Hub tag); None: the build month, YYYY-MM
    layout: ShardLayout = field(default_factory=ShardLayout)
    max_pixels: int = MAX_PIXELS
    labels: LabelMode = "rules"
    label_model: Optional[str] = None  # CLIP-like model (path or Hub id) for zero-shot labels after the rules
    mesh_files: tuple[str, ...] = ()  # PubMed baseline/update XML for MeSH terms
    mesh_eutils: bool = False  # or E-utilities (NCBI_API_KEY / NCBI_EMAIL from the environment)
    subfigures: bool = False
    subfigure_model: Optional[str] = None  # transformers detector; None: the CPU splitter
    dedup: bool = True  # keep one copy of exact and near-duplicate images across the build
    dedup_distance: int = 6  # pHash bits for a near duplicate
    benchmark: int = 0  # carve a held-out retrieval test split of this many pairs
    benchmark_seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple(str(s) for s in self.sources))
        object.__setattr__(self, "mesh_files", tuple(str(m) for m in self.mesh_files))
        if self.labels not in ("rules", "none"):
            raise UsageError(f"labels must be 'rules' or 'none', not {self.labels!r}")
        if self.shard is not None:
            index, count = self.shard
            if not 0 <= index < count:
                raise UsageError(f"shard {index}/{count}: I must be in 0..N-1")
        if not 0 <= self.dedup_distance < 32:
            raise UsageError(f"dedup distance must be 0..31 bits, got {self.dedup_distance}")
        if self.benchmark < 0:
            raise UsageError(f"benchmark size must be 0 (none) or more, got {self.benchmark}")

    def fingerprint(self) -> str:
        """What must match for a resume to be valid: everything that decides the rows (the whole
        config but the benchmark carve, which runs on the finished rows) and the pmc-hub version."""
        key = {**asdict(self), "version": __version__}
        del key["benchmark"], key["benchmark_seed"]
        return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def with_release(self, release: str) -> "BuildConfig":
        return replace(self, release=release)


@dataclass(frozen=True)
class RunOptions:
    """How to run a build: none of these changes the rows written."""

    out_dir: Path = Path("pmc-hub-out")
    workers: int = 1
    engine: EngineName = "process"
    ray_address: Optional[str] = None  # None: start a local Ray; "auto": join the running cluster
    ray_window: int = 128  # packages in flight per Ray dataset
    ray_shared_fs: bool = False  # Ray workers can read the driver's files (else media bytes are shipped)
    article_seconds: float = 300.0  # one article's time budget in a worker
    article_memory_mb: int = 4096  # one worker's memory budget while it works on an article
    checkpoint_articles: Optional[int] = None  # also checkpoint every N articles (default: when a shard is full)
    subfigure_batch: int = 16
    webdataset_dir: Optional[Path] = None  # also write the figure configs as WebDataset shards here
    fresh: bool = False  # discard an unfinished build in out_dir instead of resuming it
    progress: bool = True
    write_card: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_dir", Path(self.out_dir))
        if self.workers < 1:
            raise UsageError(f"workers must be at least 1, got {self.workers}")
        if self.engine not in ("process", "ray"):
            raise UsageError(f"unknown engine {self.engine!r} (process or ray)")
        if self.article_seconds <= 0 or self.article_memory_mb <= 0:
            raise UsageError("the per-article time and memory budgets must be positive")
        if self.checkpoint_articles is not None and self.checkpoint_articles < 1:
            raise UsageError(f"checkpoint every N articles: N must be at least 1, got {self.checkpoint_articles}")
