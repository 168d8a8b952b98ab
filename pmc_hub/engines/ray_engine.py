"""Ray Data backend: the per-article stage (`pmc_hub.build.process_package`) as a map over a Ray cluster.

`results(packages, options)` has the same contract as the process backend: `ArticleResult`s in
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

from ..models import ArticlePackage, InMemory

DEFAULT_WINDOW = 128  # packages in flight per dataset: bounds driver memory, amortises planning


class RayEngineError(RuntimeError):
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


def _process_batch(batch: dict, options) -> dict:
    from ..build import process_package  # imported on the worker

    out = [pickle.dumps(process_package(pickle.loads(blob), options), protocol=pickle.HIGHEST_PROTOCOL)
           for blob in batch["package"]]
    return {"result": out}


def results(packages: Iterable[ArticlePackage], options, *, window: int = DEFAULT_WINDOW,
            shared_fs: bool = False, address: Optional[str] = None) -> Iterator:
    """`ArticleResult`s for ``packages``, in order, computed by Ray Data map tasks.

    ``shared_fs``: workers can open the driver's media paths (one machine, or a shared mount);
    otherwise media bytes are shipped with each package."""
    ray = _ray()
    connect(address)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # results in source order, like the process pool
    ctx.enable_progress_bars = False
    it = iter(packages)
    while True:
        chunk = list(islice(it, window))
        if not chunk:
            return
        items = [{"package": pickle.dumps(p if shared_fs else portable(p), protocol=pickle.HIGHEST_PROTOCOL)} for p in chunk]
        del chunk
        blocks = max(1, min(len(items), int(ray.cluster_resources().get("CPU", 1)) * 2))
        ds = ray.data.from_items(items, override_num_blocks=blocks)
        ds = ds.map_batches(_process_batch, fn_kwargs={"options": options}, batch_size=4, num_cpus=1,
                            batch_format="numpy")
        for row in ds.iter_rows():
            yield pickle.loads(row["result"])


def results_for_build(packages: Iterable[ArticlePackage], options) -> Iterator:
    """Adapter for `pmc_hub.build`: reads ``options.ray_address`` / ``options.ray_window`` when present."""
    return results(packages, options, window=getattr(options, "ray_window", DEFAULT_WINDOW),
                   shared_fs=getattr(options, "ray_shared_fs", False), address=getattr(options, "ray_address", None))
