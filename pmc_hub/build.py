"""A build: sources -> the per-article stage (an engine) -> deduplicated rows in release shards ->
report, card and manifest.

Rows are written once: each article's rows go straight into the open shard of their config, and
when a shard is full every open shard is closed, renamed into place and recorded in the journal
(one checkpoint). A killed build resumes after its last checkpoint and ends with exactly the rows
of an uninterrupted one. One build at a time holds a folder's lock; a build owns exactly the files
its manifest lists, refuses a folder holding anything else, and removes only what it wrote.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import zlib
from collections import Counter, deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import pyarrow as pa

from .config import BuildConfig, RunOptions
from .dedup import DuplicateIndex, keep_first
from .engines import local_engine, make_engine
from .models import ArticlePackage, ArticleResult, Skip
from .output import (FIGURE_CONFIGS, SUBFIGURE_CONFIGS, OutputError, check_release, default_release, locked, read_manifest, schema_of)
from .ownership import check_folder, claim, discard
from .report import DUPLICATE_ARTICLE, BuildReport, duplicate_image_skip, summarize
from .spool import article_tables, without_rows
from .sources import check_sources, open_sources
from .state import BuildState
from .writers import ShardSet, rows_where, rows_without

log = logging.getLogger(__name__)

MESH_BATCH = 200  # articles whose PMIDs are looked up together


class BuildError(OutputError):
    """A build that cannot start or finish (e.g. an unfinished build with other options)."""


def in_shard(package: ArticlePackage, shard: Optional[tuple[int, int]]) -> bool:
    """Deterministic split of the articles over ``count`` independent jobs."""
    if shard is None:
        return True
    index, count = shard
    return zlib.crc32(package.package_id.encode()) % count == index


def build_state(out_dir: Path) -> Optional[str]:
    """``"complete"``, ``"unfinished"`` (killed or running: resume it), or None (no build here)."""
    state = BuildState(Path(out_dir)).read()
    if not state:
        return None
    return "complete" if state.get("complete") else "unfinished"


def build(config: BuildConfig, run: RunOptions) -> BuildReport:
    """Run (or resume) a build into ``run.out_dir`` and return its report."""
    out = Path(run.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with locked(out, "build"):
        return _Build(config, run).run()


class _Build:
    def __init__(self, config: BuildConfig, run: RunOptions):
        self.config, self.run_options, self.out = config, run, Path(run.out_dir)
        self.state = BuildState(self.out, tolerant=run.fresh)

    # --- start: resume, or claim the folder -----------------------------------------------------

    def run(self) -> BuildReport:
        started = time.time()
        self.config = self._start()
        if not self.state.read().get("rows_done"):
            RowWriter(self.config, self.run_options, self.state, self.state.checkpoints()).write()
            self.state.update(rows_done=True)
        from .finish import finish

        return finish(self.config, self.run_options, self.state, time.time() - started)

    def _start(self) -> BuildConfig:
        check_sources(self.config.sources)
        if self.run_options.webdataset_dir:
            check_folder(Path(self.run_options.webdataset_dir))
        state = self.state.read()
        if state and not state.get("complete") and not self.run_options.fresh:
            config = self.config.with_release(state.get("release") or default_release())
            if state.get("fingerprint") != config.fingerprint():
                raise BuildError(f"{self.out} holds an unfinished build with other sources or options; re-run with the "
                                 "same ones to resume it, or pass --fresh to start over")
            claim(self.out, read_manifest(self.out), self.state, resuming=True)
            log.info("resuming the unfinished build in %s", self.out)
            return config
        config = self.config.with_release(check_release(self.config.release or default_release()))
        previous = read_manifest(self.out)
        claim(self.out, previous, self.state, resuming=False)
        discard(self.out, previous, self.state)
        self.state.update(fingerprint=config.fingerprint(), release=config.release, complete=False,
                          started=time.time(), rows_done=False)
        return config


# --- the rows ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Published:
    """An article an update leaves as it is, unless the duplicate index now decides its images
    differently: its id and every figure image (key, SHA-256, pHash, kept) in the order built.
    ``rebuild``: False for an article that must stay as it is whatever (the benchmark's)."""

    article_id: str
    origin: str
    images: tuple[tuple[str, str, Optional[str], bool], ...]
    written: bool = True  # False: it was skipped as a duplicate article, and stays one while its original is seen
    rebuild: bool = True


LEAVE_OUT = "leave out"  # what ``published(package)`` answers for a package the update must not build

class RowWriter:
    """Article results in source order -> rows in the open shards; a checkpoint when a shard is full.

    Everything happens in source order, so a resumed build, and an update, decide exactly as an
    uninterrupted from-scratch build: an article finished before a restart adds its images to the
    duplicate index at its place; an update passes ``published(package)``, which names the
    articles it leaves as they are (`Published`), and each is replayed through the duplicate
    index at its place; one whose decisions would now differ (its duplicate's original left, or a
    new article came before it) is built again (in a worker, as every article) and its old rows
    leave (``replaces``)."""

    def __init__(self, config: BuildConfig, run: RunOptions, state: BuildState, checkpoints: list[dict],
                 published: Optional[Callable[[ArticlePackage], Optional[Published]]] = None):
        self.config, self.run, self.state = config, run, state
        self.out = Path(run.out_dir)
        self.next_checkpoint = len(checkpoints)  # (the checkpoints themselves are not kept: memory stays flat)
        self.next_index = Counter(c for cp in checkpoints for c in cp["files"])
        self.resumed = sum(len(cp["articles"]) for cp in checkpoints)
        self.published = published
        self.done = {}
        for cp in checkpoints:
            for summary in cp["articles"]:
                self.done.setdefault(summary["origin"], []).append(summary)
        self.seen_ids: dict[str, str] = {}
        self.dedup = DuplicateIndex(config.dedup_distance) if config.dedup else None
        self.mesh = _mesh_lookup(config)
        self.shards = self._shard_set()
        self.summaries: list[dict] = []
        self._order: deque = deque()  # what comes between two engine results, in source order
        self._rebuilder = None  # a one-worker engine for unchanged articles built again (`_replay`)

    def _shard_set(self) -> ShardSet:
        return ShardSet(self.out, self.config.release, self.config.layout, dict(self.next_index), schema_of)

    def _packages(self) -> Iterator[ArticlePackage]:
        for position, package in enumerate(open_sources(self.config.sources)):
            if not in_shard(package, self.config.shard):
                continue
            origin = package.origin or package.package_id
            if self.done.get(origin):  # finished before a restart (a source given twice stays twice)
                self._order.append(("done", self.done[origin].pop(0)))
                continue
            kept = self.published(package) if self.published else None
            if kept == LEAVE_OUT:
                continue
            if kept is not None:  # (only a way to read it again is kept: most replays never need it)
                self._order.append(("replay", (package.reopen or package, kept, position)))
                continue
            self._order.append(("result", position))
            yield package

    def write(self) -> None:
        """Write every article's rows; each checkpoint goes to the journal (`BuildState.iter_checkpoints`)."""
        from tqdm.auto import tqdm  # (here: the workers, which import this module, draw no bar)

        bar = tqdm(desc="articles", unit=" art", disable=not self.run.progress, initial=self.resumed)
        engine = make_engine(self.config, self.run)
        # What the build's end needs first (the card's validator and templates) is
        # made ready while the worker server starts, when this process would only wait: at the end
        # it would be the last thing left.
        preload = preload_end()
        batch: list[tuple[str, object]] = []
        results = 0
        # Each result is written as it comes, while the workers build the next articles; only a
        # MeSH look-up waits for a batch of articles (one request for all their PMIDs).
        batch_size = MESH_BATCH if self.mesh is not None else 1
        try:
            for result in engine.results(self._packages()):
                while (item := self._order.popleft())[0] != "result":
                    batch.append(item)
                batch.append(("result", (result, item[1])))
                results += 1
                bar.update(1)
                if results >= batch_size:
                    self._place_all(batch)
                    batch, results = [], 0
            batch.extend(self._order)
            self._order.clear()
            self._place_all(batch)
            if self.summaries:
                self._checkpoint()
        except BaseException:
            self.shards.abort()
            raise
        finally:
            engine.close()
            if self._rebuilder is not None:
                self._rebuilder.close()
            bar.close()
            preload.join()

    def _place_all(self, items: list[tuple[str, object]]) -> None:
        """Results, finished articles and replays, in source order."""
        converted = {id(r): article_tables(r) for kind, (r, *_) in items if kind == "result"}  # (workers did it already)
        if self.mesh is not None:
            _apply_mesh(self.mesh, list(converted.values()))
        for kind, item in items:
            if kind == "done":
                self._seed(item)
            elif kind == "replay":
                self._replay(*item)
            else:
                result, position = item
                self._add(self._place(converted[id(result)], position))

    def _add(self, summary: dict) -> None:
        self.summaries.append(summary)
        if self.shards.full or (self.run.checkpoint_articles and len(self.summaries) >= self.run.checkpoint_articles):
            self._checkpoint()

    def _seed(self, summary: dict) -> None:
        """An article finished before a restart: its images and id take their place again."""
        if summary["article_written"]:
            self.seen_ids.setdefault(summary["article_id"], summary["origin"])
        if self.dedup is not None:
            for key, sha, phash, kept in summary.get("images", ()):
                if kept:
                    self.dedup.add(key, sha, phash)

    def _replay(self, package: ArticlePackage | Callable[[], ArticlePackage], kept: Published, position: int) -> None:
        """An article left as it is, when the duplicate index and the ids seen decide as before."""
        same = (kept.article_id in self.seen_ids) != kept.written
        if same and self.dedup is not None:
            same = self.dedup.would_keep([(k, sha, ph) for k, sha, ph, _ in kept.images]) == [k for *_, k in kept.images]
        if not same and kept.rebuild:
            if self._rebuilder is None:  # in a worker, under the per-article budgets, like every other article
                self._rebuilder = local_engine(self.config, self.run)
            result = article_tables(self._rebuilder.run_one(package() if callable(package) else package))
            if self.mesh is not None:
                _apply_mesh(self.mesh, [result])
            self._add({**self._place(result, position), "replaces": True})
            return
        if kept.written:
            self.seen_ids[kept.article_id] = kept.origin
        for key, sha, phash, was_kept in kept.images if self.dedup is not None else ():
            if was_kept:
                self.dedup.add(key, sha, phash)

    def _place(self, result: ArticleResult, position: int) -> dict:
        """Write one article's rows (deduplicated); its summary, with its place in the source."""
        if result.written:
            if result.article_id in self.seen_ids:
                result = without_rows(result, Skip(result.article_id, DUPLICATE_ARTICLE, f"already built from "
                                                   f"{self.seen_ids[result.article_id]}; this copy, {result.origin}, is not written"))
            else:
                self.seen_ids[result.article_id] = result.origin
        tables = result.tables
        counts: dict[str, int] = {}
        dropped: set[str] = set()
        images: list[list] = []
        for config in sorted(tables, key=lambda c: c in SUBFIGURE_CONFIGS):  # parents first
            table = tables[config]
            if config in FIGURE_CONFIGS and self.dedup is not None:
                table = self._dedup(result, table, dropped, images)
            elif config in SUBFIGURE_CONFIGS and dropped:
                table = rows_without(table, "parent_image_key", dropped)
            if table.num_rows:
                self.shards.add(config, table)
                counts[config] = table.num_rows
        return {**summarize(result, counts), "images": images, "position": position}

    def _dedup(self, result: ArticleResult, table: pa.Table, dropped: set[str], images: list[list]) -> pa.Table:
        cols = [table.column(c).to_pylist() for c in ("image_key", "image_hash", "image_phash")]
        mask, found = keep_first(self.dedup, zip(*cols))
        images.extend([key, sha, phash, keep] for key, sha, phash, keep in zip(*cols, mask))
        for dup in found:
            dropped.add(dup.key)
            result.skips.append(duplicate_image_skip(result.article_id, dup))
        return rows_where(table, mask) if found else table

    def _checkpoint(self) -> None:
        written = self.shards.close()
        entry = {"checkpoint": self.next_checkpoint, "release": self.config.release,
                 "files": {c: asdict(w) for c, w in written.items()}, "articles": self.summaries}
        self.state.record(entry)
        self.next_checkpoint += 1
        self.next_index.update(entry["files"].keys())
        self.summaries = []
        self.shards = self._shard_set()


def preload_end() -> threading.Thread:
    """Start, in a background thread, what a build's end costs the first time in a process beyond
    its own work: the card's schema validator and templates. Join the thread before the end."""
    def work() -> None:
        from .cards import prepare

        prepare()

    thread = threading.Thread(target=work, name="pmc-hub-end-preload", daemon=True)
    thread.start()
    return thread


def _mesh_lookup(config: BuildConfig):
    """MeSH terms come from PubMed, looked up in the main process so E-utilities' rate limit holds."""
    if not (config.mesh_files or config.mesh_eutils):
        return None
    from .mesh import MeshLookup

    if config.mesh_files:
        return MeshLookup.from_files(config.mesh_files)
    return MeshLookup.from_eutils(api_key=os.environ.get("NCBI_API_KEY"), email=os.environ.get("NCBI_EMAIL"))


def _apply_mesh(mesh, results: list[ArticleResult]) -> None:
    """Fill ``article_mesh_terms`` in every table of these articles, with one batched look-up."""
    from .mesh import normalize_pmid
    from .schema import InvalidRecord, validate_fields

    def pmid(value) -> Optional[str]:
        try:
            return normalize_pmid(value) if value is not None else None
        except ValueError:
            return None

    wanted = {pmid(p) for r in results for t in r.tables.values() for p in t.column("article_pmid").to_pylist()}
    terms = mesh.terms(p for p in wanted if p)
    for result in results:
        for config, table in result.tables.items():
            values = []
            for p in table.column("article_pmid").to_pylist():
                found = terms.get(pmid(p)) if pmid(p) else None
                try:  # a field changed: it is checked against the schema again
                    values.append(validate_fields("article", {"article_mesh_terms": list(found) if found is not None else None},
                                                  result.article_id)["article_mesh_terms"])
                except InvalidRecord:
                    values.append(None)
            at = table.schema.get_field_index("article_mesh_terms")
            result.tables[config] = table.set_column(at, table.schema.field(at), pa.array(values, table.schema.field(at).type))
