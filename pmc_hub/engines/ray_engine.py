"""Ray Data engine: the per-article stage (`pmc_hub.stage.ArticleStage`) as a map over a Ray cluster.

`RayEngine.results(packages)` has the same contract as the local engine: `ArticleResult`s in
source order. The build's main process keeps everything else (batches, journal, resume, the
Parquet writers, report, card), so a Ray build writes exactly what a process build writes.

Packages are taken from the source iterator a window at a time, so the driver's memory stays flat;
each window runs as one Ray Data dataset with ``preserve_order``. Packages and results travel
pickled (as bytes columns), so rows come back bit for bit, whatever Arrow would make of them.

Install with ``pip install 'pmc-hub[ray]'``; see docs/cluster.md for a real cluster.
"""
from __future__ import annotations

import pickle
from itertools import islice
from typing import Iterable, Iterator, Optional

from ..errors import DataError
from ..models import ArticlePackage, InMemory

DEFAULT_WINDOW = 128  # packages in flight per dataset: bounds driver memory, amortises planning


class RayEngineError(DataError, RuntimeError):
    """Ray is missing or the cluster cannot be reached."""


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401  (Ray core alone has no Data library)
    except ImportError as exc:
        raise RayEngineError("the Ray engine needs Ray Data: pip install 'pmc-hub[ray]'") from exc
    return ray


def connect(address: Optional[str] = None, **init_kwargs) -> None:
    """Join the cluster at ``address`` (``auto``, ``ray://host:10001``), or start a local Ray
    instance when ``address`` is None; does nothing if Ray is already initialised."""
    ray = _ray()
    if ray.is_initialized():
        return
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, **init_kwargs)
    except ConnectionError as exc:
        raise RayEngineError(f"cannot reach the Ray cluster at {address!r}: {exc}") from exc


def portable(package: ArticlePackage) -> ArticlePackage:
    """The package with every media file read into memory, for workers that do not share the
    driver's file system (a real cluster). Reading is the driver's I/O; the CPU work (parse,
    image header, hashes, validation) stays on the workers."""
    media = {name: load if isinstance(load, InMemory) else InMemory(load()) for name, load in package.media.items()}
    return ArticlePackage(package.package_id, package.xml, media, package.origin, package.metadata,
                          list(getattr(package, "skips", [])))


class _StageUDF:
    """A Ray Data actor: one `ArticleStage` (and its models) per Ray worker, reused across batches."""

    def __init__(self, config, subfigure_batch: int):
        from ..stage import ArticleStage  # imported on the worker

        self.stage = ArticleStage(config, subfigure_batch)

    def __call__(self, batch: dict) -> dict:
        out = [pickle.dumps(self.stage(pickle.loads(blob)), protocol=pickle.HIGHEST_PROTOCOL) for blob in batch["package"]]
        return {"result": out}


class RayEngine:
    """The per-article stage as Ray Data map tasks. Packages are taken from the source a window
    at a time (flat driver memory); ``shared_fs``: workers can open the driver's media paths (one
    machine, or a shared mount), otherwise media bytes are shipped with each package.

    Per-article budgets: Ray's own memory monitor kills a worker that exhausts its node, and that
    window fails the build with a one-line error (resume it); the local engine's per-article time
    and memory budgets do not apply here."""

    def __init__(self, config, window: int = DEFAULT_WINDOW, shared_fs: bool = False, address: Optional[str] = None,
                 subfigure_batch: int = 16):
        self.config, self.window, self.shared_fs, self.address = config, window, shared_fs, address
        self.subfigure_batch = subfigure_batch

    def results(self, packages: Iterable[ArticlePackage]) -> Iterator:
        ray = _ray()
        connect(self.address)
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # results in source order, like the local engine
        ctx.enable_progress_bars = False
        it = iter(packages)
        while chunk := list(islice(it, self.window)):
            items = [{"package": pickle.dumps(p if self.shared_fs else portable(p), protocol=pickle.HIGHEST_PROTOCOL)}
                     for p in chunk]
            del chunk
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), cpus * 2)))
            ds = ds.map_batches(_StageUDF, fn_constructor_kwargs={"config": self.config, "subfigure_batch": self.subfigure_batch},
                                batch_size=4, num_cpus=1, concurrency=(1, cpus), batch_format="numpy")
            try:
                for row in ds.iter_rows():
                    yield pickle.loads(row["result"])
            except Exception as exc:  # a task that died (Ray's OOM killer...) fails this window
                raise RayEngineError(f"a Ray task failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}; "
                                     "run the same command again to resume") from None

    def close(self) -> None:
        pass
