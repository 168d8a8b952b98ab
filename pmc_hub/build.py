"""A build: sources -> per-article rows -> validated Parquet shards, report and card.

Resumable: rows are written in batches of whole articles; each batch's part files are
renamed into place before the batch is recorded in the journal (``.pmc-hub/journal.jsonl``),
so after a crash at any moment the journal names exactly the articles whose rows are safely
on disk. A re-run skips those, drops unrecorded parts, and ends with the same rows as an
uninterrupted build.
"""
from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional

import pyarrow as pa
from tqdm.auto import tqdm

from . import __version__, jats, licenses, media, records
from .models import ArticlePackage
from .labels import chain
from .report import (BAD_XML, DUPLICATE_ARTICLE, DUPLICATE_IMAGE, INVALID_RECORD, MISSING_IMAGE, NO_CAPTION, NO_GRAPHIC,
                     NO_XML, SUBFIGURE_FAILED, ArticleResult, BuildReport, Skip, summarize)
from .schema import InvalidRecord, validate, validate_fields
from .sources import open_sources
from .writers import ShardLayout, merge_parts, remove_shards, write_part

log = logging.getLogger(__name__)

ARTICLES = "articles"
FIGURE_CONFIGS = licenses.CATEGORIES
SUBFIGURE_CONFIGS = tuple(f"subfigures_{c}" for c in licenses.CATEGORIES)
STATE_DIR = ".pmc-hub"
SPLIT = "train"


@dataclass
class BuildOptions:
    sources: list = field(default_factory=list)  # paths / URLs; empty = the bundled sample
    out_dir: Path = Path("pmc-hub-out")
    workers: int = 1
    shard: Optional[tuple[int, int]] = None  # (index, count): this job's share of the articles
    layout: ShardLayout = field(default_factory=ShardLayout)
    checkpoint_articles: int = 200  # articles per journal batch
    checkpoint_bytes: int = 128 * 1024 * 1024  # or fewer, when their rows are this large (bounds memory)
    max_pixels: int = media.MAX_PIXELS
    mesh_files: list = field(default_factory=list)  # PubMed baseline/update XML for MeSH terms
    mesh_eutils: bool = False  # or look MeSH up with E-utilities (NCBI_API_KEY / NCBI_EMAIL from the environment)
    engine: str = "process"  # or "ray": the per-article stage as Ray Data map tasks
    ray_address: Optional[str] = None  # None: start a local Ray; "auto": join the running cluster
    ray_window: int = 128  # packages in flight per Ray dataset
    ray_shared_fs: bool = False  # Ray workers can read the driver's files (else media bytes are shipped)
    labels: str = "auto"  # "auto": image + caption (ContentLabeler); "rules": caption rules only; "none"
    label_model: Optional[str] = None  # CLIP-like model (transformers or OpenCLIP) for zero-shot labels after those
    dedup: bool = True  # drop exact and near-duplicate images across the whole build (keep the first)
    dedup_distance: int = 6  # pHash bits for a near duplicate
    benchmark: int = 0  # carve a held-out retrieval test split of this many pairs (config `benchmark`)
    benchmark_seed: int = 0
    subfigures: bool = False  # also split compound figures into subfigure configs
    subfigure_model: Optional[str] = None  # transformers detector (path or Hub id); None: the CPU splitter
    subfigure_batch: int = 16
    webdataset_dir: Optional[Path] = None  # also write the figure configs as WebDataset shards here
    fresh: bool = False  # ignore an unfinished build in out_dir instead of resuming it
    progress: bool = True
    write_card: bool = True

    def fingerprint(self) -> str:
        """What must match for a resume to be valid (not workers, progress...)."""
        key = {"sources": [str(s) for s in self.sources], "shard": self.shard, "layout": asdict(self.layout),
               "max_pixels": self.max_pixels, "version": __version__, "mesh": [str(m) for m in self.mesh_files],
               "mesh_eutils": self.mesh_eutils, "subfigures": self.subfigures, "subfigure_model": self.subfigure_model,
               "labels": self.labels, "label_model": self.label_model}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


class BuildError(RuntimeError):
    """A build that cannot start or finish (e.g. an unfinished build with other options)."""


# --- one article ------------------------------------------------------------------------------

def process_package(package: ArticlePackage, options: BuildOptions) -> ArticleResult:
    """Parse one package and make its validated rows; every problem becomes a `Skip`."""
    result = ArticleResult(package.origin or package.package_id, package.package_id)
    result.skips.extend(Skip(package.package_id, reason, detail) for reason, detail in package.skips)
    if not package.xml:
        if not package.skips:
            result.skips.append(Skip(package.package_id, NO_XML, "package holds no article XML"))
        return result
    try:
        article = jats.parse(package.xml)
    except jats.JATSError as exc:
        result.skips.append(Skip(package.package_id, BAD_XML, str(exc)))
        return result
    lic = records.license_of(article, package)
    shared = records.article_fields(article, package, lic)
    result.article_id = shared["article_accession_id"]
    result.license_category, result.license_code = lic.category, lic.code
    result.figures_in = len(article.figures)
    try:  # the article fields every figure row shares: checked once here, not once per row
        validate_fields("figure", shared, result.article_id)
    except InvalidRecord as exc:
        result.skips.append(Skip(result.article_id, INVALID_RECORD, "; ".join(exc.errors)))
        result.images_in = sum(len(f.graphics) for f in article.figures)
        return result
    thumbnails: dict = {}  # image_key -> the thumbnail media.inspect made, for the content labeler
    rows = [row for figure in article.figures
            for row in _figure_rows(result, shared, article, figure, package, options, thumbnails)]
    for row in chain(rows, *_labelers(options, thumbnails)):
        try:
            result.figure_rows.append(validate("figure", row, result.article_id, shared))
        except InvalidRecord as exc:
            result.skips.append(Skip(result.article_id, INVALID_RECORD, "; ".join(exc.errors), row.get("figure_id")))
    if options.subfigures:
        _add_subfigures(result, options)
    row = records.article_row(shared, article)
    try:
        result.article_row = validate("article", row, result.article_id)
    except InvalidRecord as exc:
        result.skips.append(Skip(result.article_id, INVALID_RECORD, "; ".join(exc.errors)))
    return result


def _figure_rows(result: ArticleResult, shared: dict, article, figure, package: ArticlePackage, options: BuildOptions,
                 thumbnails: dict) -> Iterator[dict]:
    aid = result.article_id
    if not figure.graphics:
        result.skips.append(Skip(aid, NO_GRAPHIC, "the <fig> has no <graphic>", figure.figure_id))
        return
    result.images_in += len(figure.graphics)
    if not figure.caption:
        result.skips.append(Skip(aid, NO_CAPTION, f"{len(figure.graphics)} image(s) not written", figure.figure_id))
        return
    for graphic in figure.graphics:
        name = media.resolve(graphic, package.media)
        if name is None:
            result.skips.append(Skip(aid, MISSING_IMAGE, f"no file for href {graphic.href!r}", figure.figure_id))
            continue
        try:
            image = media.inspect(name, package.media[name](), options.max_pixels)
        except media.MediaError as exc:
            result.skips.append(Skip(aid, exc.reason, str(exc), figure.figure_id))
            continue
        row = records.figure_row(shared, article, figure, image)
        thumbnails[row["image_key"]] = image.thumbnail
        yield row


# Models are loaded once per worker process, on first use.
_DETECTORS: dict = {}
_LABELERS: dict = {}


def _labelers(options: BuildOptions, thumbnails: dict) -> list:
    key = (options.labels, options.label_model)
    if key not in _LABELERS:
        from .labels import ContentLabeler, RuleLabeler, ZeroShotLabeler

        chosen = {"auto": [ContentLabeler()], "rules": [RuleLabeler()]}.get(options.labels, [])
        if options.label_model:
            chosen.append(ZeroShotLabeler(options.label_model))
        _LABELERS[key] = chosen
    return [labeler.for_thumbnails(thumbnails) for labeler in _LABELERS[key]]


def _add_subfigures(result: ArticleResult, options: BuildOptions) -> None:
    from .labels import SubfigurePanelLabeler
    from .subfigures.detector import load_detector
    from .subfigures.records import iter_subfigure_rows

    if options.subfigure_model not in _DETECTORS:
        _DETECTORS[options.subfigure_model] = load_detector(options.subfigure_model)

    def failed(row: dict, exc: Exception) -> None:
        result.skips.append(Skip(result.article_id, SUBFIGURE_FAILED, str(exc), row["figure_id"]))

    result.subfigure_rows = list(iter_subfigure_rows(result.figure_rows, _DETECTORS[options.subfigure_model],
                                                     options.subfigure_batch, on_error=failed))
    # The detector's panel count decides single / multiple for the parent figure.
    counts = {r["parent_image_key"]: r["subfigure_count"] for r in result.subfigure_rows}
    result.figure_rows = list(SubfigurePanelLabeler(counts).label(result.figure_rows))
    for row in result.figure_rows:
        validate_fields("figure", {k: row[k] for k in ("image_panel_type", "image_panel_subtype")}, row["image_key"])


def schema_of(config: str) -> str:
    """The record schema of a config."""
    if config == ARTICLES:
        return "article"
    return "subfigure" if config.startswith("subfigures_") else "figure"


# --- the build --------------------------------------------------------------------------------

def in_shard(package: ArticlePackage, shard: Optional[tuple[int, int]]) -> bool:
    """Deterministic split of the articles over ``count`` independent jobs."""
    if shard is None:
        return True
    index, count = shard
    return zlib.crc32(package.package_id.encode()) % count == index


class _Journal:
    """The build state under ``OUT/.pmc-hub``: options fingerprint, finished batches, part files."""

    def __init__(self, out_dir: Path):
        self.dir = out_dir / STATE_DIR
        self.path = self.dir / "journal.jsonl"
        self.state_path = self.dir / "state.json"

    def state(self) -> dict:
        return json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def set_state(self, **values) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**self.state(), **values}))
        os.replace(tmp, self.state_path)

    def batches(self) -> list[dict]:
        """The finished batches; a last line cut off by a crash is removed from the file, so
        the next batch is appended after the last complete one."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(len(complete))
        return [json.loads(line) for line in complete.decode("utf-8").splitlines()]

    def record(self, batch: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(batch) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def reset(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def build_state(out_dir: Path) -> Optional[str]:
    """``"complete"``, ``"unfinished"`` (killed or running: resume it), or None (no build here)."""
    state = _Journal(Path(out_dir)).state()
    if not state:
        return None
    return "complete" if state.get("complete") else "unfinished"


def build(options: BuildOptions) -> BuildReport:
    """Run (or resume) a build into ``options.out_dir`` and return its report."""
    out = Path(options.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    journal = _start(out, options)
    batches = journal.batches()
    _drop_unrecorded_parts(journal, batches)
    done = {s["origin"] for b in batches for s in b["articles"]}
    seen_ids = {s["article_id"] for b in batches for s in b["articles"] if s["article_written"]}
    started = time.time()
    packages = (p for p in open_sources(options.sources) if in_shard(p, options.shard) and (p.origin or p.package_id) not in done)
    mesh = _mesh_lookup(options)
    batch = _Batch(len(batches), mesh)
    bar = tqdm(desc="articles", unit=" art", disable=not options.progress, initial=len(done))
    images = sum(n for b in batches for s in b["articles"] for c, n in s["rows"].items() if c in FIGURE_CONFIGS)
    for result in _results(packages, options):
        if result.article_row is not None and result.article_id in seen_ids:
            result = ArticleResult(result.origin, result.article_id, figures_in=result.figures_in, images_in=result.images_in,
                                   skips=[Skip(result.article_id, DUPLICATE_ARTICLE, f"already built from another source ({result.origin})")])
        if result.article_row is not None:
            seen_ids.add(result.article_id)
        batch.add(result)
        images += len(result.figure_rows)
        bar.update(1)
        bar.set_postfix(images=images, skips=len(result.skips), refresh=False)
        if batch.articles >= options.checkpoint_articles or batch.bytes >= options.checkpoint_bytes:
            batches.append(batch.flush(journal, options.layout))
            batch = _Batch(len(batches), mesh)
    bar.close()
    if batch.articles:
        batches.append(batch.flush(journal, options.layout))
    return _finish(out, journal, batches, options, time.time() - started)


def _start(out: Path, options: BuildOptions) -> _Journal:
    journal = _Journal(out)
    state = journal.state()
    fingerprint = options.fingerprint()
    if state and not state.get("complete") and not options.fresh:
        if state.get("fingerprint") != fingerprint:
            raise BuildError(f"{out} holds an unfinished build with other sources or options; "
                             "re-run with the same ones to resume it, or pass --fresh to start over")
        log.info("resuming the unfinished build in %s", out)
        return journal
    journal.reset()
    journal.set_state(fingerprint=fingerprint, complete=False, started=time.time())
    return journal


def _mesh_lookup(options: BuildOptions):
    """MeSH terms come from PubMed, looked up in the main process so E-utilities' rate limit holds."""
    if not (options.mesh_files or options.mesh_eutils):
        return None
    from .mesh import MeshLookup

    if options.mesh_files:
        return MeshLookup.from_files(options.mesh_files)
    return MeshLookup.from_eutils(api_key=os.environ.get("NCBI_API_KEY"), email=os.environ.get("NCBI_EMAIL"))


def _drop_unrecorded_parts(journal: _Journal, batches: list[dict]) -> None:
    recorded = {p for b in batches for p in b["parts"].values()}
    parts_dir = journal.dir / "parts"
    if parts_dir.exists():
        for part in parts_dir.rglob("*"):
            if part.is_file() and str(part.relative_to(journal.dir)) not in recorded:
                part.unlink()


def _results(packages: Iterable[ArticlePackage], options: BuildOptions) -> Iterator[ArticleResult]:
    if options.engine == "ray":
        from .engines.ray_engine import results_for_build

        yield from results_for_build(packages, options)
        return
    if options.engine != "process":
        raise BuildError(f"unknown engine {options.engine!r} (process or ray)")
    if options.workers <= 1:
        for package in packages:
            yield process_package(package, options)
        return
    ctx = multiprocessing.get_context("spawn" if os.name != "posix" else "forkserver")
    with ctx.Pool(options.workers) as pool:
        # imap keeps the source order, so the output does not depend on the worker count.
        yield from pool.imap(_process_star, ((p, options) for p in packages), chunksize=4)


def _process_star(args: tuple[ArticlePackage, BuildOptions]) -> ArticleResult:
    return process_package(*args)


class _Batch:
    """Rows of whole articles waiting to be written as one journal batch."""

    def __init__(self, index: int, mesh=None):
        self.index = index
        self.mesh = mesh
        self.rows: dict[str, list[dict]] = {}
        self.summaries: list[dict] = []
        self.articles = 0
        self.bytes = 0

    def add(self, result: ArticleResult) -> None:
        counts: dict[str, int] = {}
        for prefix, rows in (("", result.figure_rows), ("subfigures_", result.subfigure_rows)):
            for row in rows:
                # The license category decides the config: nothing else can put a row in `commercial`.
                category = row["license_category"] if row["license_category"] in FIGURE_CONFIGS else licenses.OTHER
                config = prefix + category
                self.rows.setdefault(config, []).append(row)
                counts[config] = counts.get(config, 0) + 1
                self.bytes += len(row["image"]["bytes"])
        if result.article_row is not None:
            self.rows.setdefault(ARTICLES, []).append(result.article_row)
            counts[ARTICLES] = 1
            self.bytes += len(result.article_row["article_text"])
        self.summaries.append(summarize(result, counts))
        self.articles += 1

    def flush(self, journal: _Journal, layout: ShardLayout) -> dict:
        parts = {}
        for config, rows in sorted(self.rows.items()):
            schema = schema_of(config)
            if self.mesh is not None:
                rows = list(self.mesh.apply(rows))
                for row in rows:  # a field changed: it is checked against the schema again
                    validate_fields(schema, {"article_mesh_terms": row["article_mesh_terms"]}, row["article_accession_id"])
            rel = f"parts/{config}/{SPLIT}/part-{self.index:06d}.parquet"
            write_part(rows, schema, journal.dir / rel, layout)
            parts[f"{config}/{SPLIT}"] = rel
        entry = {"batch": self.index, "parts": parts, "articles": self.summaries}
        journal.record(entry)
        return entry


class DuplicateFilter:
    """Keep-first exact and near-duplicate removal over every figure config, applied while the
    parts are merged (so a resumed build decides exactly as an uninterrupted one)."""

    def __init__(self, max_distance: int):
        from .dedup import DuplicateIndex

        self.index = DuplicateIndex(max_distance)
        self.found: list = []  # (config, Duplicate)
        self.dropped_keys: set[str] = set()

    def filter_for(self, config: str):
        """The row filter for a config's parts: figures are deduplicated, subfigures follow their parents."""
        if config in FIGURE_CONFIGS:
            return self.figures
        return self.subfigures if config in SUBFIGURE_CONFIGS else None

    def figures(self, table, config: str):
        mask = []
        for key, sha, phash in zip(*(table.column(c).to_pylist() for c in ("image_key", "image_hash", "image_phash"))):
            dup = self.index.add(key, sha, phash)
            mask.append(dup is None)
            if dup is not None:
                self.found.append((config, dup))
                self.dropped_keys.add(key)
        return table.filter(pa.array(mask, pa.bool_()))

    def subfigures(self, table, config: str):
        mask = [key not in self.dropped_keys for key in table.column("parent_image_key").to_pylist()]
        self.found.extend((config, None) for m in mask if not m)
        return table.filter(pa.array(mask, pa.bool_()))

    def dropped_from(self, config: str) -> int:
        return sum(1 for c, _ in self.found if c == config)

    def report(self, report: BuildReport) -> None:
        for config, dup in self.found:
            if dup is None:
                continue
            article, figure = dup.key.split("/")[0], dup.key.split("/")[1]
            report.skipped.append({"article": article, "reason": DUPLICATE_IMAGE, "figure": figure,
                                   "detail": f"{dup.kind} duplicate of {dup.duplicate_of} ({dup.distance} bits, {config})"})
            report.skip_counts[DUPLICATE_IMAGE] = report.skip_counts.get(DUPLICATE_IMAGE, 0) + 1
            report.images_written -= 1


def write_shards(out: Path, parts: dict[str, list[Path]], rows: dict[str, int], layout: ShardLayout,
                 dedup_distance: Optional[int], report: BuildReport) -> None:
    """Replace each config's shards in ``out`` by its ``parts`` merged in order (duplicate images
    removed when ``dedup_distance`` is set) and record files, row counts and drops in ``report``.
    ``rows`` are the rows the parts hold."""
    dedup = DuplicateFilter(dedup_distance) if dedup_distance is not None else None
    # figure configs first: the duplicates they drop decide which subfigure rows follow
    for config in sorted(parts, key=lambda c: (c.startswith("subfigures_"), c not in FIGURE_CONFIGS, c)):
        remove_shards(out, config)
        if not parts[config]:
            continue
        files = merge_parts(parts[config], schema_of(config), out, config, SPLIT, layout,
                            dedup.filter_for(config) if dedup else None)
        kept = rows[config] - (dedup.dropped_from(config) if dedup else 0)
        if kept:
            report.files[config] = [str(f.relative_to(out)) for f in files]
            report.configs[config] = {SPLIT: kept}
        else:
            for f in files:
                f.unlink()
    if dedup is not None:
        dedup.report(report)


def _write_webdataset(out: Path, wds: Path, report: BuildReport, options: BuildOptions) -> None:
    """The figure configs again as WebDataset tar shards, in their own folder: `datasets` picks one
    loader per repository, so Parquet and tar shards cannot share one."""
    from . import webdataset

    if wds.resolve() == out.resolve():
        raise BuildError("the WebDataset folder must differ from the Parquet output folder")
    for config in FIGURE_CONFIGS:
        shutil.rmtree(wds / config, ignore_errors=True)
    configs = [c for c in FIGURE_CONFIGS if c in report.configs]
    webdataset.export_parquet(out, wds, configs, SPLIT, max_shard_bytes=options.layout.shard_bytes)
    wds_report = json.loads(report.to_json())
    wds_report["configs"] = {c: report.configs[c] for c in configs}
    (wds / "build_report.json").write_text(json.dumps(wds_report, indent=1), encoding="utf-8")
    if options.write_card:
        from .cards import write_card

        write_card(wds, wds_report)


def _finish(out: Path, journal: _Journal, batches: list[dict], options: BuildOptions, elapsed: float) -> BuildReport:
    report = BuildReport(options={"sources": [str(s) for s in options.sources] or ["<bundled sample>"], "shard": options.shard,
                                  "workers": options.workers, **asdict(options.layout)},
                         license_table_version=licenses.TABLE_VERSION, pmc_hub_version=__version__)
    for b in batches:
        for summary in b["articles"]:
            report.add(summary)
    parts = {config: [journal.dir / b["parts"][f"{config}/{SPLIT}"] for b in batches if f"{config}/{SPLIT}" in b["parts"]]
             for config in (*FIGURE_CONFIGS, ARTICLES, *SUBFIGURE_CONFIGS)}
    rows = {config: sum(s["rows"].get(config, 0) for b in batches for s in b["articles"]) for config in parts}
    write_shards(out, parts, rows, options.layout, options.dedup_distance if options.dedup else None, report)
    report.elapsed_seconds = round(elapsed, 3)
    report.write(out)
    if options.benchmark and report.configs:
        from .benchmark import carve_benchmark

        carved = carve_benchmark(out, options.benchmark, options.benchmark_seed, write_card=False)
        updated = BuildReport.read(out)
        report.configs, report.files = updated.configs, updated.files
        report.benchmark = carved.to_dict()
        report.write(out)
    if not report.configs:
        log.warning("no rows were written: see %s for the reason of every skip", out / "build_report.json")
    elif options.write_card:
        from .cards import write_card

        write_card(out, json.loads(report.to_json()))
    if options.webdataset_dir and any(c in report.configs for c in FIGURE_CONFIGS):
        _write_webdataset(out, Path(options.webdataset_dir), report, options)
    journal.set_state(complete=True, finished=time.time())
    shutil.rmtree(journal.dir / "parts", ignore_errors=True)
    return report
