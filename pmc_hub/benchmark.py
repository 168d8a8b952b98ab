"""Carve a held-out retrieval benchmark out of a build.

`carve` picks N figure-caption pairs from the source config(s) (default: commercial), stratified
by ``image_primary_label``, and moves them to their own config (``benchmark``, split ``test``). The
split is article-disjoint and deduplicated, and nothing of it stays in any train split:

- the other figures of a test article leave every figure config, and its subfigures and its
  ``articles`` row leave theirs (dropped, not moved: the test split keeps exactly N pairs);
- no train image, in any figure config, is an exact or near duplicate of a test image
  (`pmc_hub.dedup`), and the subfigures of a dropped image go with it.

It is resumable: the selection is saved first, every shard it changes is rewritten beside the
original (``.carve.tmp``), and only then are they all renamed into place; a killed carve, run again,
finishes the renames or redoes the rewrites, never both halves of a mix. Only shards that lose rows
are rewritten (same path, new content).
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from .config import ShardLayout
from .dedup import DEFAULT_MAX_DISTANCE, DuplicateIndex
from .errors import DataError
from .output import (ARTICLES, BENCHMARK, FIGURE_CONFIGS, SPLIT, SUBFIGURE_CONFIGS, TEST_SPLIT, OwnedFile,
                     schema_of, shard_config, shard_path)
from .ownership import CARVE_SUFFIX, apply_edit
from .state import BuildState
from .writers import read_tables, rows_where, write_file

UNLABELLED = "(unlabelled)"
_INDEX_COLUMNS = ["image_key", "article_accession_id", "image_hash", "image_phash", "image_primary_label"]
_TMP = CARVE_SUFFIX


class BenchmarkError(DataError, ValueError):
    """The benchmark cannot be carved (names the folder / config and the reason)."""


@dataclass
class BenchmarkReport:
    config: str
    split: str
    source_configs: list[str]
    seed: int
    max_distance: int
    requested: int
    test_rows: int = 0
    test_articles: int = 0
    strata: dict[str, int] = field(default_factory=dict)  # primary label -> test rows
    train_rows_before: dict[str, int] = field(default_factory=dict)
    train_rows_after: dict[str, int] = field(default_factory=dict)
    dropped: list[dict] = field(default_factory=list)  # {key, reason, duplicate_of?, distance?}

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for d in self.dropped:
            out[d["reason"]] += 1
        return dict(out)

    def to_dict(self) -> dict:
        return {**asdict(self), "dropped_counts": self.counts()}


@dataclass
class _Candidate:
    key: str
    article: str
    sha256: str
    phash: Optional[str]
    label: str


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Split ``n`` across strata in proportion to their sizes (largest remainder, ties by name),
    never more than a stratum holds."""
    total = sum(sizes.values())
    if n > total:
        raise BenchmarkError(f"asked for {n} test pairs but only {total} candidates exist")
    quota = {k: min(v, n * v // total) for k, v in sizes.items()}
    order = sorted(sizes, key=lambda k: (-((n * sizes[k]) % total), k))
    while (left := n - sum(quota.values())) > 0:
        progressed = False
        for k in order:
            if left and quota[k] < sizes[k]:
                quota[k] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    return quota


def select_test(candidates: list[_Candidate], n: int, seed: int, max_distance: int) -> tuple[list[_Candidate], DuplicateIndex]:
    """Stratified, seeded pick of ``n`` pairwise-distinct images; returns them and their index."""
    strata: dict[str, list[_Candidate]] = defaultdict(list)
    for c in candidates:
        strata[c.label].append(c)
    rng = random.Random(seed)
    for label in sorted(strata):
        strata[label].sort(key=lambda c: c.key)  # independent of shard order
        rng.shuffle(strata[label])
    quota = allocate({k: len(v) for k, v in strata.items()}, n)
    index = DuplicateIndex(max_distance)
    chosen: list[_Candidate] = []
    cursor = {k: 0 for k in strata}

    def take(label: str, want: int) -> int:
        got = 0
        pool = strata[label]
        while got < want and cursor[label] < len(pool):
            c = pool[cursor[label]]
            cursor[label] += 1
            if index.add(c.key, c.sha256, c.phash) is None:
                chosen.append(c)
                got += 1
        return got

    short = sum(quota[k] - take(k, quota[k]) for k in sorted(strata))
    for label in sorted(strata, key=lambda k: (-len(strata[k]), k)):  # refill from the biggest strata
        if short:
            short -= take(label, short)
    if short:
        raise BenchmarkError(f"only {len(chosen)} distinct (non-duplicate) images for {n} test pairs")
    return chosen, index


def _shards(files: dict[str, OwnedFile], config: str, split: str = SPLIT) -> list[str]:
    return sorted(p for p in files if shard_config(p) == (config, split))


def _candidates(out_dir: Path, paths: Sequence[str]) -> Iterator[_Candidate]:
    for rel in paths:
        for batch in pq.ParquetFile(out_dir / rel).iter_batches(columns=_INDEX_COLUMNS, batch_size=4096):
            cols = batch.to_pydict()
            for key, art, sha, ph, label in zip(*(cols[c] for c in _INDEX_COLUMNS)):
                yield _Candidate(key, art, sha, ph, label or UNLABELLED)


def carve(out_dir: Path, files: dict[str, OwnedFile], n: int, release: str, layout: ShardLayout, seed: int = 0,
          source_configs: Sequence[str] = ("commercial",), max_distance: int = DEFAULT_MAX_DISTANCE) -> tuple[dict[str, OwnedFile], BenchmarkReport]:
    """Carve the benchmark from the shards listed in ``files`` (a build's manifest entries); return
    the new entries (rewritten shards, the benchmark's) and the report. Resumable (see the module)."""
    out_dir = Path(out_dir)
    state = BuildState(out_dir)
    done = state.edit_record(BENCHMARK, "done")
    if done is not None:
        asked = (done["report"]["requested"], done["report"]["seed"])
        if asked != (n, seed):
            raise BenchmarkError(f"{out_dir}: a benchmark of {asked[0]} pairs (seed {asked[1]}) is already carved; "
                                 "rebuild with --fresh to carve another")
        return _entries(done["files"]), _report_from(done["report"])
    if n < 1:
        raise BenchmarkError(f"benchmark size must be at least 1, got {n}")
    if any(shard_config(p) and shard_config(p)[0] == BENCHMARK for p in files):
        raise BenchmarkError(f"{out_dir}: config {BENCHMARK!r} already exists; carve from a fresh build")
    missing = [c for c in source_configs if not _shards(files, c)]
    if missing:
        raise BenchmarkError(f"{out_dir}: no {SPLIT} shards for source config(s) {', '.join(missing)}")
    prepared = state.edit_record(BENCHMARK, "prepared")
    if prepared is None:
        prepared = _prepare(out_dir, files, n, release, layout, seed, source_configs, max_distance)
        state.save_edit_record(BENCHMARK, "prepared", prepared)
    apply_edit(out_dir, prepared)
    new = dict(files)
    for rel in prepared["removed"]:
        new.pop(rel, None)
    new.update(_entries(prepared["files"]))
    state.save_edit_record(BENCHMARK, "done", {"files": {p: asdict(f) for p, f in new.items()}, "report": prepared["report"]})
    return new, _report_from(prepared["report"])


def _prepare(out_dir: Path, files: dict[str, OwnedFile], n: int, release: str, layout: ShardLayout, seed: int,
             source_configs: Sequence[str], max_distance: int) -> dict:
    """Select the test pairs and write every changed shard beside its original; returns what to
    rename, what to remove and the new manifest entries."""
    report = BenchmarkReport(BENCHMARK, TEST_SPLIT, list(source_configs), seed, max_distance, n)
    candidates = [c for cfg in source_configs for c in _candidates(out_dir, _shards(files, cfg))]
    chosen, test_index = select_test(candidates, n, seed, max_distance)
    router = _Router({c.key for c in chosen}, {c.article for c in chosen}, test_index, report)
    for c in chosen:
        report.strata[c.label] = report.strata.get(c.label, 0) + 1
    report.test_articles = len(router.test_articles)
    renames, removed, written, test_tables = [], [], {}, []
    order = [*FIGURE_CONFIGS, *SUBFIGURE_CONFIGS, ARTICLES]  # parents before their subfigures
    for cfg in order:
        before = after = 0
        for rel in _shards(files, cfg):
            # first the routing, on the few columns it reads; then, only for a shard that changes,
            # its rows a row group at a time: memory stays one row group, whatever the shard size
            masks = [router.route(cfg, t) for t in read_tables(out_dir / rel, layout.row_group_rows, _ROUTE_COLUMNS[cfg])]
            rows_in, kept = sum(len(k) for k, _ in masks), sum(sum(k) for k, _ in masks)
            before, after = before + rows_in, after + kept
            if kept == rows_in:
                continue
            groups = zip(read_tables(out_dir / rel, layout.row_group_rows), masks)
            tables = (_split(table, keep, test, test_tables) for table, (keep, test) in groups)
            w = write_file(out_dir, rel + _TMP, schema_of(cfg), tables, layout)
            if w is not None:
                renames.append((rel + _TMP, rel))
                written[rel] = w.owned()
            else:  # an emptied shard is removed: an empty config cannot be loaded
                removed.append(rel)
        if cfg in FIGURE_CONFIGS and before:
            report.train_rows_before[cfg], report.train_rows_after[cfg] = before, after
    test_rel = shard_path(BENCHMARK, release, TEST_SPLIT, 0, layout.max_folder_files)
    test_table = _in_order(pa.concat_tables(test_tables), [c.key for c in chosen])
    w = write_file(out_dir, test_rel + _TMP, "figure", [test_table], layout)
    renames.append((test_rel + _TMP, test_rel))
    written[test_rel] = w.owned()
    report.test_rows = test_table.num_rows
    return {"renames": renames, "removed": removed, "files": {p: asdict(f) for p, f in written.items()},
            "report": report.to_dict()}


_FIGURE_ROUTE = ["image_key", "article_accession_id", "image_hash", "image_phash"]
_ROUTE_COLUMNS = {**{c: _FIGURE_ROUTE for c in FIGURE_CONFIGS}, **{c: ["parent_image_key"] for c in SUBFIGURE_CONFIGS},
                  ARTICLES: ["article_accession_id"]}


def _split(table: pa.Table, keep: list[bool], test: list[bool], test_tables: list[pa.Table]) -> pa.Table:
    """A row group's rows that stay in train; its test rows are set aside in ``test_tables``."""
    if any(test):
        test_tables.append(rows_where(table, test))
    return rows_where(table, keep)


class _Router:
    """Which rows of a shard stay in train and which go to the test split."""

    def __init__(self, chosen: set[str], test_articles: set[str], test_index: DuplicateIndex, report: BenchmarkReport):
        self.chosen, self.test_articles, self.test_index, self.report = chosen, test_articles, test_index, report
        self.dropped_images: set[str] = set()

    def route(self, config: str, table: pa.Table) -> tuple[list[bool], list[bool]]:
        if config in FIGURE_CONFIGS:
            return self._figures(table)
        if config in SUBFIGURE_CONFIGS:
            parents = table.column("parent_image_key").to_pylist()
            keep = [p not in self.dropped_images for p in parents]
        else:
            keep = [a not in self.test_articles for a in table.column("article_accession_id").to_pylist()]
        return keep, [False] * table.num_rows

    def _figures(self, table: pa.Table) -> tuple[list[bool], list[bool]]:
        cols = table.select(["image_key", "article_accession_id", "image_hash", "image_phash"]).to_pydict()
        keep, test = [], []
        for key, art, sha, ph in zip(cols["image_key"], cols["article_accession_id"], cols["image_hash"], cols["image_phash"]):
            to_test = key in self.chosen
            drop = None
            if not to_test:
                if art in self.test_articles:
                    drop = {"key": key, "reason": "article in benchmark"}
                elif (hit := self.test_index.find(sha, ph)) is not None:
                    drop = {"key": key, "reason": f"{hit[2]} duplicate of benchmark image", "duplicate_of": hit[0],
                            "distance": hit[1]}
            if drop:
                self.report.dropped.append(drop)
            if to_test or drop:
                self.dropped_images.add(key)
            keep.append(not to_test and drop is None)
            test.append(to_test)
        return keep, test


def _in_order(table: pa.Table, keys: list[str]) -> pa.Table:
    """Test rows in selection order (seeded), not shard order."""
    position = {k: i for i, k in enumerate(table.column("image_key").to_pylist())}
    return table.take(pa.array([position[k] for k in keys]))


def _entries(data: dict) -> dict[str, OwnedFile]:
    return {p: OwnedFile(**f) for p, f in data.items()}


def _report_from(data: dict) -> BenchmarkReport:
    return BenchmarkReport(**{k: v for k, v in data.items() if k != "dropped_counts"})


def carve_benchmark(out_dir: Path, n: int, seed: int = 0, source_configs: Sequence[str] = ("commercial",),
                    max_distance: int = DEFAULT_MAX_DISTANCE, write_card: bool = True) -> BenchmarkReport:
    """Carve the benchmark from a finished folder built without one (locked, resumable); the
    report, card and manifest follow."""
    from .finish import publish_folder
    from .output import locked, read_manifest
    from .report import BuildReport

    out_dir = Path(out_dir)
    with locked(out_dir, "benchmark carve"):
        manifest = read_manifest(out_dir)
        if manifest is None or not manifest.complete:
            raise BenchmarkError(f"{out_dir}: not a finished pmc-hub build (no complete manifest)")
        if BENCHMARK in manifest.configs():
            raise BenchmarkError(f"{out_dir}: config {BENCHMARK!r} already exists; carve from a fresh build")
        report = BuildReport.read(out_dir)
        layout = ShardLayout(**{k: report.options[k] for k in ("shard_bytes", "row_group_rows", "max_folder_files",
                                                                "max_repo_files") if k in report.options})
        files, carved = carve(out_dir, manifest.files, n, manifest.releases[-1], layout, seed, source_configs, max_distance)
        report.benchmark = carved.to_dict()
        publish_folder(out_dir, report, files, manifest.releases, {}, write_card=write_card)
    return carved
