"""Engines run the per-article stage (`pmc_hub.stage.ArticleStage`) over a stream of packages.

Every engine has one contract: ``engine.results(packages)`` yields one `ArticleResult` per
package, in source order, whatever happens inside an article; `close()` frees its workers.
The build's main process keeps everything else (dedup, shards, journal, report), so every engine
writes the same output.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Protocol

from ..config import BuildConfig, RunOptions
from ..models import ArticlePackage, ArticleResult


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
    from .local import LocalEngine

    return LocalEngine(config, workers=run.workers, article_seconds=run.article_seconds,
                       article_memory_mb=run.article_memory_mb, subfigure_batch=run.subfigure_batch,
                       spool_dir=fresh_spool(run.out_dir))
