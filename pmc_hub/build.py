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
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from . import licenses
from .version import __version__
from .config import BuildConfig, RunOptions
from .dedup import DuplicateIndex, keep_first
from .engines import make_engine
from .models import ArticlePackage, ArticleResult, Skip
from .output import (ARTICLES, FIGURE_CONFIGS, STATE_DIR, SUBFIGURE_CONFIGS, Manifest, OutputError, OwnedFile,
                     check_release, default_release, figure_config, locked, read_manifest, schema_of)
from .ownership import check_folder, claim, discard
from .report import DUPLICATE_ARTICLE, DUPLICATE_IMAGE, BuildReport, summarize
from .spool import article_tables, without_rows
from .sources import check_sources, open_sources
from .state import BuildState
from .writers import ShardSet

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
        checkpoints = self.state.checkpoints()
        if not self.state.read().get("rows_done"):
            checkpoints = RowWriter(self.config, self.run_options, self.state, checkpoints).write()
            self.state.update(rows_done=True)
        from .finish import finish

        return finish(self.config, self.run_options, self.state, checkpoints, time.time() - started)

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

class RowWriter:
    """Article results in source order -> rows in the open shards; a checkpoint when a shard is full.

    An update passes what its earlier releases hold: ``published_ids`` (article id -> where it was
    built from) and ``published_images`` (key, SHA-256, pHash in the order they were kept), and
    ``wanted`` to build only some packages."""

    def __init__(self, config: BuildConfig, run: RunOptions, state: BuildState, checkpoints: list[dict],
                 published_ids: Optional[dict[str, str]] = None, published_images: Iterable[tuple] = (),
                 wanted: Optional[Callable[[ArticlePackage], bool]] = None):
        self.config, self.run, self.state = config, run, state
        self.out = Path(run.out_dir)
        self.checkpoints = checkpoints
        self.wanted = wanted
        self.done = Counter(s["origin"] for c in checkpoints for s in c["articles"])
        self.seen_ids = dict(published_ids or {})
        self.seen_ids.update({s["article_id"]: s["origin"] for c in checkpoints for s in c["articles"] if s["article_written"]})
        self.dedup = None
        if config.dedup:
            self.dedup = DuplicateIndex(config.dedup_distance)
            for key, sha, phash, *_ in published_images:
                self.dedup.add(key, sha, phash)
            _seed(self.dedup, self.out, checkpoints)
        self.mesh = _mesh_lookup(config)
        self.shards = self._shard_set()
        self.summaries: list[dict] = []

    def _shard_set(self) -> ShardSet:
        next_index = Counter(c for cp in self.checkpoints for c in cp["files"])
        return ShardSet(self.out, self.config.release, self.config.layout, dict(next_index), schema_of)

    def _packages(self) -> Iterator[ArticlePackage]:
        for package in open_sources(self.config.sources):
            if not in_shard(package, self.config.shard) or (self.wanted and not self.wanted(package)):
                continue
            origin = package.origin or package.package_id
            if self.done[origin]:  # finished before a restart (counted: a source given twice stays twice)
                self.done[origin] -= 1
                continue
            yield package

    def write(self) -> list[dict]:
        bar = tqdm(desc="articles", unit=" art", disable=not self.run.progress,
                   initial=sum(len(c["articles"]) for c in self.checkpoints))
        engine = make_engine(self.config, self.run)
        pending: list[ArticleResult] = []
        try:
            for result in engine.results(self._packages()):
                pending.append(result)
                bar.update(1)
                if len(pending) >= MESH_BATCH:
                    self._place_all(pending)
                    pending = []
            self._place_all(pending)
            if self.summaries:
                self._checkpoint()
        except BaseException:
            self.shards.abort()
            raise
        finally:
            engine.close()
            bar.close()
        return self.checkpoints

    def _place_all(self, results: list[ArticleResult]) -> None:
        results = [article_tables(r) for r in results]  # (a local worker converted them already)
        if self.mesh is not None:
            _apply_mesh(self.mesh, results)
        for result in results:
            self.summaries.append(self._place(result))
            if self.shards.full or (self.run.checkpoint_articles and len(self.summaries) >= self.run.checkpoint_articles):
                self._checkpoint()

    def _place(self, result: ArticleResult) -> dict:
        if result.written:
            if result.article_id in self.seen_ids:
                result = without_rows(result, Skip(result.article_id, DUPLICATE_ARTICLE, f"already built from "
                                                   f"{self.seen_ids[result.article_id]}; this copy, {result.origin}, is not written"))
            else:
                self.seen_ids[result.article_id] = result.origin
        tables = result.tables
        counts: dict[str, int] = {}
        dropped: set[str] = set()
        for config in sorted(tables, key=lambda c: c in SUBFIGURE_CONFIGS):  # parents first
            table = tables[config]
            if config in FIGURE_CONFIGS and self.dedup is not None:
                table = self._dedup(result, table, dropped)
            elif config in SUBFIGURE_CONFIGS and dropped:
                keep = [k not in dropped for k in table.column("parent_image_key").to_pylist()]
                table = table.filter(pa.array(keep, pa.bool_()))
            if table.num_rows:
                self.shards.add(config, table)
                counts[config] = table.num_rows
        return summarize(result, counts)

    def _dedup(self, result: ArticleResult, table: pa.Table, dropped: set[str]) -> pa.Table:
        cols = [table.column(c).to_pylist() for c in ("image_key", "image_hash", "image_phash")]
        mask, found = keep_first(self.dedup, zip(*cols))
        for dup in found:
            dropped.add(dup.key)
            result.skips.append(Skip(result.article_id, DUPLICATE_IMAGE,
                                     f"{dup.kind} duplicate of {dup.duplicate_of} ({dup.distance} bits)",
                                     dup.key.split("/")[1]))
        return table.filter(pa.array(mask, pa.bool_())) if found else table

    def _checkpoint(self) -> None:
        written = self.shards.close()
        entry = {"checkpoint": len(self.checkpoints), "release": self.config.release,
                 "files": {c: asdict(w) for c, w in written.items()}, "articles": self.summaries}
        self.state.record(entry)
        self.checkpoints.append(entry)
        self.summaries = []
        self.shards = self._shard_set()


def _seed(index: DuplicateIndex, out: Path, checkpoints: list[dict]) -> None:
    """Add the journal's kept images to the duplicate index as they were first added (article by
    article), so a resumed build decides exactly as an uninterrupted one."""
    for cp in checkpoints:
        by_article: dict[str, list[tuple]] = defaultdict(list)
        for config_name, written in cp["files"].items():
            if config_name not in FIGURE_CONFIGS:
                continue
            table = pq.read_table(out / written["path"], columns=["article_accession_id", "image_key", "image_hash", "image_phash"])
            for aid, key, sha, phash in zip(*(table.column(i).to_pylist() for i in range(4))):
                by_article[aid].append((key, sha, phash))
        for summary in cp["articles"]:
            for key, sha, phash in by_article.get(summary["article_id"], ()):
                index.add(key, sha, phash)


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
