"""Merge the output folders of several `--shard I/N` builds into one Hub-ready folder."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from .config import BuildConfig, ShardLayout
from .dedup import DuplicateIndex, keep_first
from .errors import DataError
from .finish import publish_folder, release_record
from .index import IndexedArticle, ReleaseIndex, summary_images
from .output import (ARTICLES, FIGURE_CONFIGS, SPLIT, SUBFIGURE_CONFIGS, Manifest, OwnedFile, check_release,
                     read_manifest, schema_of)
from .ownership import taken_over
from .report import BuildReport, REPORT_FILE, duplicate_image_skip
from .scratch import scratch_database
from .writers import ShardSet, read_tables, rows_without


class MergeError(DataError, ValueError):
    """Folders that cannot be merged (not finished builds, the same article twice...)."""


def _finished(folder: Path) -> tuple[Manifest, BuildReport]:
    manifest = read_manifest(folder)
    if manifest is None or not manifest.complete or not (folder / REPORT_FILE).is_file():
        raise MergeError(f"{folder}: not a finished pmc-hub build (no complete manifest); build it first")
    return manifest, BuildReport.read(folder)


def merge_builds(folders: list[Path], out_dir: Path, layout: ShardLayout = ShardLayout(), write_card: bool = True,
                 dedup_distance: Optional[int] = 6, release: Optional[str] = None) -> BuildReport:
    """Concatenate the builds' shards config by config (in the folders' order) and sum their reports.

    Each build removed its own duplicate images; with ``dedup_distance`` the merge also removes
    copies across builds, deciding in the order of the articles in their common source (so the
    copy a single build of that source would keep is kept). None: keep them."""
    folders = [Path(f) for f in folders]
    out_dir = Path(out_dir)
    if any(f.resolve() == out_dir.resolve() for f in folders):
        raise MergeError("the merged folder must not be one of the inputs")
    inputs = [_finished(f) for f in folders]
    release = check_release(release or inputs[0][0].releases[-1])
    merged = _sum_reports([r for _, r in inputs], folders)
    _check_unique_articles([f / p for f, (m, _) in zip(folders, inputs) for p in m.shards(ARTICLES)])
    indexes = [ReleaseIndex.read(f) for f in folders]
    entries = _SourceOrder(indexes)
    dropped, cross_skips = _cross_duplicates(entries, dedup_distance, merged) if dedup_distance is not None else (set(), {})
    with taken_over(out_dir, "merge"):
        files, placed = _write(folders, [m for m, _ in inputs], out_dir, release, layout, dropped)
        _merged_index(indexes[0].config, entries, placed, dropped, cross_skips, release).write(out_dir)
        publish_folder(out_dir, merged, files, [release], {release: release_record(release, files, merged.articles_written)},
                       write_card=write_card)
    return merged


def _sum_reports(reports: list[BuildReport], folders: list[Path]) -> BuildReport:
    merged = BuildReport(options={"merged_from": [str(f) for f in folders], "shards": [r.options.get("shard") for r in reports]},
                         license_table_version=reports[0].license_table_version, pmc_hub_version=reports[0].pmc_hub_version)
    for r in reports:
        for key in ("articles_in", "articles_written", "figures_in", "images_in", "images_written", "elapsed_seconds"):
            setattr(merged, key, getattr(merged, key) + getattr(r, key))
        merged.skipped.extend(r.skipped)
        for reason, n in r.skip_counts.items():
            merged.skip_counts[reason] = merged.skip_counts.get(reason, 0) + n
        for category, n in r.licenses.items():
            merged.licenses[category] = merged.licenses.get(category, 0) + n
        for category, codes in r.license_codes.items():
            for code, n in codes.items():
                merged.license_codes.setdefault(category, {})[code] = merged.license_codes.get(category, {}).get(code, 0) + n
    return merged


class _SourceOrder:
    """Every input's articles in the order of their source (their position in it), input order
    breaking ties (builds of different sources): sorted by SQLite in a private temporary file, so
    a corpus's articles need not fit in memory, and walked as often as needed."""

    def __init__(self, indexes: list[ReleaseIndex]):
        self.indexes = indexes
        self._db = scratch_database("CREATE TABLE o (position INTEGER, input INTEGER, n INTEGER, key TEXT)")
        for i, index in enumerate(indexes):
            self._db.executemany("INSERT INTO o VALUES (?, ?, ?, ?)", ((e.summary.get("position", 0), i, n, e.key)
                                                                       for n, e in enumerate(index.articles.values())))
        self._db.execute("CREATE INDEX o_order ON o (position, input, n)")

    def __iter__(self) -> Iterator[IndexedArticle]:
        for i, key in self._db.execute("SELECT input, key FROM o ORDER BY position, input, n"):
            yield self.indexes[i].articles[key]


def _cross_duplicates(entries: Iterable[IndexedArticle], max_distance: int,
                      report: BuildReport) -> tuple[set[str], dict[str, list[dict]]]:
    """The images that are duplicates across the builds, decided in source order (``entries``) as
    one build would decide them, and their skips by article id; each is counted and reported."""
    index, dropped, skips = DuplicateIndex(max_distance), set(), {}
    for entry in entries:
        kept = [(k, sha, ph) for k, sha, ph, was_kept in entry.images if was_kept]
        for dup in keep_first(index, kept)[1]:
            dropped.add(dup.key)
            skip = duplicate_image_skip(entry.article_id, dup).__dict__
            skips.setdefault(entry.article_id, []).append(skip)
            report.add_skips([skip])
            report.images_written -= 1
    return dropped, skips


class _Placements:
    """Which merged shard holds each article's rows, per config: a private temporary SQLite file,
    as the articles of a corpus would not fit in memory."""

    def __init__(self) -> None:
        self._db = scratch_database("CREATE TABLE placed (article TEXT, config TEXT, path TEXT, PRIMARY KEY (article, config))")

    def add(self, articles: Iterable[str], config: str, path: str) -> None:
        self._db.executemany("INSERT OR REPLACE INTO placed VALUES (?, ?, ?)", ((a, config, path) for a in articles))

    def of(self, article: str) -> dict[str, str]:
        """config -> shard path of one article."""
        return dict(self._db.execute("SELECT config, path FROM placed WHERE article = ?", (article,)))


def _write(folders: list[Path], manifests: list[Manifest], out: Path, release: str, layout: ShardLayout,
           dropped: set[str]) -> tuple[dict[str, OwnedFile], _Placements]:
    """Write the merged shards without the ``dropped`` images (and their subfigures); returns them
    and where each article's rows went (article id -> config -> shard)."""
    shards = ShardSet(out, release, layout, {}, schema_of)
    written: dict[str, OwnedFile] = {}
    placed = _Placements()
    pending: set[str] = set()

    def close(config: str) -> None:
        w = shards.close_config(config)
        if w is not None:
            written[w.path] = w.owned()
            placed.add(pending, config, w.path)
        pending.clear()

    configs = sorted({c for m in manifests for c in m.configs()},
                     key=lambda c: (c in SUBFIGURE_CONFIGS, c not in FIGURE_CONFIGS, c))  # parents first
    for config in configs:
        column = "image_key" if config in FIGURE_CONFIGS else "parent_image_key" if config in SUBFIGURE_CONFIGS else None
        full, last = False, None  # a full shard closes after its last article's rows, never inside them
        for table in _tables(folders, manifests, config, layout):
            if column and dropped:
                table = rows_without(table, column, dropped)
            ids = table.column("article_accession_id").to_pylist()
            if full and ids:
                same = next((n for n, a in enumerate(ids) if a != last), len(ids))
                if same:
                    shards.add(config, table.slice(0, same))
                    table, ids = table.slice(same), ids[same:]
                if ids:
                    close(config)
                    full = False
            if ids:
                shards.add(config, table)
                pending.update(ids)
                last = ids[-1]
                full = shards.files[config].bytes >= layout.shard_bytes
        close(config)
    return written, placed


def _tables(folders: list[Path], manifests: list[Manifest], config: str, layout: ShardLayout) -> Iterator[pa.Table]:
    for folder, manifest in zip(folders, manifests):
        for split in manifest.configs().get(config, []):
            if split != SPLIT:
                raise MergeError(f"{folder}: config {config!r} has a {split!r} split; merge builds before carving a benchmark")
            for path in manifest.shards(config, split):
                yield from read_tables(folder / path, layout.row_group_rows)


def _merged_index(config: BuildConfig, entries: Iterable[IndexedArticle], placed: _Placements, dropped: set[str],
                  cross_skips: dict[str, list[dict]], release: str) -> ReleaseIndex:
    """The inputs' release indexes as one, pointing at the merged shards, so the merged folder can
    take monthly updates; the images dropped as duplicates across the builds are no longer kept,
    and their skips (``cross_skips``, by article id) join their articles' summaries."""
    def placed_entry(entry: IndexedArticle) -> IndexedArticle:
        entry.files = placed.of(entry.article_id)
        entry.release = release
        summary = entry.summary  # (parsed once: the index keeps it as text)
        entry.summary = {**summary, "skips": [*summary.get("skips", []), *cross_skips.get(entry.article_id, [])],
                         "images": [[k, sha, ph, kept and k not in dropped] for k, sha, ph, kept in summary_images(summary)]}
        return entry

    merged = ReleaseIndex(config=replace(config, shard=None, release=release))
    merged.articles.put(map(placed_entry, entries))
    return merged


def _check_unique_articles(article_shards: list[Path]) -> None:
    seen: set[str] = set()
    for path in article_shards:
        for aid in pq.read_table(path, columns=["article_accession_id"]).column(0).to_pylist():
            if aid in seen:
                raise MergeError(f"{aid} is in more than one input build: were they built with the same --shard?")
            seen.add(aid)
