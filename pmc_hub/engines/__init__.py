"""Engines run the per-article stage (`pmc_hub.stage.ArticleStage`) over a stream of packages.

Every engine has one contract: ``engine.results(packages)`` yields one `ArticleResult` per
package, in source order, whatever happens inside an article; `close()` frees its workers.
The build's main process keeps everything else (dedup, shards, journal, report), so every engine
writes the same output.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Optional, Protocol

from ..config import BuildConfig, RunOptions
from ..models import ArticlePackage, ArticleResult

if TYPE_CHECKING:
    from .local import LocalEngine


class Engine(Protocol):
    def results(self, packages: Iterable[ArticlePackage]) -> Iterator[ArticleResult]: ...

    def close(self) -> None: ...


def make_engine(config: BuildConfig, run: RunOptions) -> Engine:
    """The engine ``run.engine`` names, set up for ``config``. The local engine's workers hand their
    rows back through the build's spool folder (`pmc_hub.spool`)."""
    if run.engine == "ray":
        from .ray_engine import RayEngine

        return RayEngine(config, window=run.ray_window, shared_fs=run.ray_shared_fs, address=run.ray_address,
                         subfigure_batch=run.subfigure_batch)
    from ..spool import fresh_spool

    return local_engine(config, run, workers=run.workers, spool_dir=fresh_spool(run.out_dir))


def local_engine(config: BuildConfig, run: RunOptions, workers: int = 1, spool_dir: Optional[Path] = None) -> LocalEngine:
    """Worker processes under ``run``'s per-article time and memory budgets; rows come back through
    ``spool_dir`` when given, else pickled."""
    from .local import LocalEngine

    return LocalEngine(config, workers=workers, article_seconds=run.article_seconds, article_memory_mb=run.article_memory_mb,
                       subfigure_batch=run.subfigure_batch, spool_dir=spool_dir)
