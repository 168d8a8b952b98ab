"""Carve a held-out retrieval benchmark out of a built folder.

`carve_benchmark` picks N figure-caption pairs from the source config(s) (default: commercial),
stratified by ``image_primary_label``, and moves them to their own config (``benchmark``, split
``test``). The split is article-disjoint and deduplicated:

- the other figures of a test article leave ``train`` (they are dropped, not moved: the test
  split keeps exactly N pairs);
- no train image, in any figure config, is an exact or near duplicate of a test image
  (`pmc_hub.dedup`); test images are not duplicates of each other either.

Everything removed from train is listed with its reason in ``benchmark_report.json``;
``build_report.json`` row counts are updated and the card re-rendered, so the folder stays
loadable and publishable (gated like the rest of the repo).
"""
from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from .dedup import DEFAULT_MAX_DISTANCE, DuplicateIndex
from .writers import DEFAULT_ROW_GROUP_ROWS, shard_files

FIGURE_CONFIGS = ("commercial", "noncommercial", "other")
TRAIN = "train"
UNLABELLED = "(unlabelled)"
REPORT_FILE = "benchmark_report.json"
_INDEX_COLUMNS = ["image_key", "article_accession_id", "image_hash", "image_phash", "image_primary_label"]


class BenchmarkError(ValueError):
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


def _shards(out_dir: Path, config: str, split: str = TRAIN) -> list[Path]:
    return shard_files(out_dir, config, split)


def _candidates(files: Sequence[Path]) -> Iterator[_Candidate]:
    for f in files:
        for batch in pq.ParquetFile(f).iter_batches(columns=_INDEX_COLUMNS, batch_size=4096):
            cols = batch.to_pydict()
            for key, art, sha, ph, label in zip(*(cols[c] for c in _INDEX_COLUMNS)):
                yield _Candidate(key, art, sha, ph, label or UNLABELLED)


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


def carve_benchmark(out_dir: Path, n: int, seed: int = 0, config: str = "benchmark", split: str = "test",
                    source_configs: Sequence[str] = ("commercial",), max_distance: int = DEFAULT_MAX_DISTANCE,
                    write_card: bool = True) -> BenchmarkReport:
    """Move ``n`` stratified, article-disjoint, deduplicated pairs to ``out_dir/config/split``."""
    out_dir = Path(out_dir)
    if n < 1:
        raise BenchmarkError(f"benchmark size must be at least 1, got {n}")
    if config in FIGURE_CONFIGS or config == "articles":
        raise BenchmarkError(f"benchmark config {config!r} would overwrite a built config")
    if _shards(out_dir, config, split) or (out_dir / config).exists():
        raise BenchmarkError(f"{out_dir}: config {config!r} already exists; carve from a fresh build")
    missing = [c for c in source_configs if not _shards(out_dir, c)]
    if missing:
        raise BenchmarkError(f"{out_dir}: no {TRAIN} shards for source config(s) {', '.join(missing)}")

    report = BenchmarkReport(config, split, list(source_configs), seed, max_distance, n)
    candidates = [c for cfg in source_configs for c in _candidates(_shards(out_dir, cfg))]
    chosen, test_index = select_test(candidates, n, seed, max_distance)
    chosen_keys = {c.key for c in chosen}
    test_articles = {c.article for c in chosen}
    report.test_articles = len(test_articles)
    for c in chosen:
        report.strata[c.label] = report.strata.get(c.label, 0) + 1

    pending: list[tuple[Path, Path]] = []  # (tmp, final)
    test_tables: list[pa.Table] = []
    for cfg in FIGURE_CONFIGS:
        files = _shards(out_dir, cfg)
        if not files:
            continue
        before = after = 0
        for i, f in enumerate(files):
            pf = pq.ParquetFile(f)
            final = out_dir / cfg / f"{TRAIN}-{i:05d}-of-{len(files):05d}.parquet"
            tmp = final.with_name(final.name + ".carve.tmp")
            with pq.ParquetWriter(tmp, pf.schema_arrow, compression="zstd") as writer:
                for batch in pf.iter_batches(batch_size=DEFAULT_ROW_GROUP_ROWS):
                    keep, test = _route(batch, chosen_keys, test_articles, test_index, report)
                    before += batch.num_rows
                    after += sum(keep)
                    if any(keep):
                        writer.write_table(pa.Table.from_batches([batch.filter(pa.array(keep))]),
                                           row_group_size=DEFAULT_ROW_GROUP_ROWS)
                    if any(test):
                        test_tables.append(pa.Table.from_batches([batch.filter(pa.array(test))]))
            pending.append((tmp, final))
        report.train_rows_before[cfg], report.train_rows_after[cfg] = before, after

    test_path = out_dir / config / f"{split}-00000-of-00001.parquet"
    test_path.parent.mkdir(parents=True)
    test_table = _in_order(pa.concat_tables(test_tables), [c.key for c in chosen])
    pq.write_table(test_table, test_path.with_name(test_path.name + ".tmp"),
                   row_group_size=DEFAULT_ROW_GROUP_ROWS, compression="zstd")
    report.test_rows = test_table.num_rows
    for cfg in FIGURE_CONFIGS:
        for old in _shards(out_dir, cfg):
            if all(old != final for _, final in pending):
                old.unlink()
    for tmp, final in pending:
        os.replace(tmp, final)
    os.replace(test_path.with_name(test_path.name + ".tmp"), test_path)
    for cfg, rows in report.train_rows_after.items():
        if rows == 0:  # an empty config cannot be loaded: remove it
            for f in _shards(out_dir, cfg):
                f.unlink()

    (out_dir / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
    _update_build_report(out_dir, report, write_card)
    return report


def _route(batch: pa.RecordBatch, chosen: set[str], test_articles: set[str], test_index: DuplicateIndex,
           report: BenchmarkReport) -> tuple[list[bool], list[bool]]:
    cols = batch.select(["image_key", "article_accession_id", "image_hash", "image_phash"]).to_pydict()
    keep, test = [], []
    for key, art, sha, ph in zip(cols["image_key"], cols["article_accession_id"], cols["image_hash"], cols["image_phash"]):
        to_test = key in chosen
        drop = None
        if not to_test:
            if art in test_articles:
                drop = {"key": key, "reason": "article in benchmark"}
            elif (hit := test_index.find(sha, ph)) is not None:
                drop = {"key": key, "reason": f"{hit[2]} duplicate of benchmark image",
                        "duplicate_of": hit[0], "distance": hit[1]}
        if drop:
            report.dropped.append(drop)
        keep.append(not to_test and drop is None)
        test.append(to_test)
    return keep, test


def _in_order(table: pa.Table, keys: list[str]) -> pa.Table:
    """Test rows in selection order (seeded), not shard order."""
    position = {k: i for i, k in enumerate(table.column("image_key").to_pylist())}
    return table.take(pa.array([position[k] for k in keys]))


def _update_build_report(out_dir: Path, report: BenchmarkReport, write_card: bool) -> None:
    from .report import REPORT_FILE as BUILD_REPORT, BuildReport

    if not (out_dir / BUILD_REPORT).is_file():
        return
    build = BuildReport.read(out_dir)
    for cfg, rows in report.train_rows_after.items():
        files = [str(f.relative_to(out_dir)) for f in _shards(out_dir, cfg)]
        if rows:
            build.configs[cfg] = {TRAIN: rows}
            build.files[cfg] = files
        else:
            build.configs.pop(cfg, None)
            build.files.pop(cfg, None)
    build.configs[report.config] = {report.split: report.test_rows}
    build.files[report.config] = [str(f.relative_to(out_dir)) for f in _shards(out_dir, report.config, report.split)]
    build.write(out_dir)
    if write_card and (out_dir / "README.md").is_file():
        from .cards import write_card as render

        render(out_dir, json.loads(build.to_json()))
