#!/usr/bin/env python
"""Speed and memory of pmc-hub on a synthetic corpus; prints a table and writes JSON (docs/benchmark.md).

    python scripts/bench.py [--articles 150] [--workers N] [--repeat 3] [--corpus DIR] [--json bench.json]
                            [--skip-parse] [--skip-build] [--skip-read]

Measured in one run, on the same files (every timing the minimum of --repeat runs, each in a fresh
interpreter, after one untimed pass that warms the page cache):
- parse: pmc_hub.jats.parse against pubmed_parser (parse_pubmed_xml + parse_pubmed_caption +
  parse_pubmed_paragraph), one process, each reading the file itself;
- the work floor: the work any figure-dataset build must do on these files, in one process: read
  every file, bare-parse each XML with lxml, SHA-256 each image, decode it as small as its format
  allows (JPEG draft mode; PNG/TIFF full decode, then box-reduce) to a 32x32 grey thumbnail, and
  write the image bytes once to Parquet (stored uncompressed, as the build stores them);
- build: pmc_hub.build.build with 1 worker and with --workers: wall seconds, CPU seconds of all
  its processes, per-core rates, peak RSS; its ratio to the work floor (wall and CPU) and the
  scaling from 1 to --workers workers;
- read: rows/s of load_dataset(..., streaming=True) over the Parquet output and over the same
  rows exported as WebDataset shards;
- a projection of CPU-hours for the whole PMC OA subset from the measured per-core rate.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from measure import measured  # scripts/measure.py

PMC_OA_ARTICLES = 6_400_000


def _rss_mb(kb: int) -> float:
    return round(kb / 1024, 1)  # ru_maxrss is in KiB on Linux


def corpus_files(corpus: Path) -> tuple[list[Path], int]:
    """The article XML files of a corpus (cloud layout) and the total input bytes."""
    xmls = sorted(corpus.glob("PMC*.*/PMC*.xml"))
    total = sum(f.stat().st_size for f in corpus.rglob("*") if f.is_file() and f.name != "corpus.json")
    return xmls, total


def bench_parse(xmls: list[Path], limit: int) -> dict:
    from pmc_hub import jats

    files = xmls[:limit]
    if files:
        jats.parse(files[0].read_bytes())  # warm-up: first-call costs are not per-article costs
    ours = _timed(lambda: [jats.parse(f.read_bytes()) for f in files])
    result = {"files": len(files), "pmc_hub_ms_per_article": round(1000 * ours / max(1, len(files)), 3)}
    try:
        import pubmed_parser as pp
    except ImportError:
        result["pubmed_parser"] = "not installed (pip install 'pmc-hub[bench]')"
        return result

    def theirs() -> None:
        for f in files:
            pp.parse_pubmed_xml(str(f))
            pp.parse_pubmed_caption(str(f))
            pp.parse_pubmed_paragraph(str(f))

    if files:
        pp.parse_pubmed_xml(str(files[0]))
    other = _timed(theirs)
    result["pubmed_parser_ms_per_article"] = round(1000 * other / max(1, len(files)), 3)
    result["speedup_vs_pubmed_parser"] = round(other / ours, 2) if ours else None
    return result


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# The floor's work on one image, shared by the floor and the stage breakdown.
_FLOOR_IMAGE = r"""
import hashlib, io
from PIL import Image
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif")
def floor_image(data):
    hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(data)) as im:
        if im.format == "JPEG":
            im.draft("L", (128, 128))
        factor = min(im.size) // 128
        (im.reduce(factor) if factor > 1 else im).convert("L").resize((32, 32))
"""

_FLOOR = _FLOOR_IMAGE + r"""
import json, sys, time
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq
from lxml import etree
corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
t0 = time.perf_counter()
parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
schema = pa.schema([("key", pa.string()), ("image", pa.binary())])
rows, images = [], 0
with pq.ParquetWriter(out, schema, compression={"key": "ZSTD", "image": "NONE"}) as writer:
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
        for f in sorted(folder.iterdir()):
            data = f.read_bytes()
            if f.suffix == ".xml":
                etree.fromstring(data, parser)
            elif f.name.lower().endswith(IMAGE_SUFFIXES):
                floor_image(data)
                rows.append({"key": f"{folder.name}/{f.name}", "image": data})
                images += 1
                if len(rows) == 100:
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                    rows = []
    if rows:
        writer.write_table(pa.Table.from_pylist(rows, schema=schema))
print(json.dumps({"seconds": time.perf_counter() - t0, "images": images}))
"""


def _measured(args: list[str]) -> dict:
    raw = measured(args)
    return {**raw, "wall_with_start": raw["wall_seconds"]}


def timed_runs(corpus: Path, work: Path, workers: int, repeat: int) -> dict:
    """The floor and the 1- and N-worker builds, ``repeat`` rounds of one run each: interleaved, so
    a drift in the machine's speed (other load on shared cores) reaches all three alike and their
    ratios stay fair."""
    script = work / "build_once.py"
    script.write_text(_BUILD)
    runs: dict = {"floor": [], **{n: [] for n in sorted({1, workers})}}
    for _ in range(repeat):
        runs["floor"].append(_measured(["-c", _FLOOR, str(corpus), str(work / "floor.parquet")]))
        for n in sorted({1, workers}):
            runs[n].append(_measured([str(script), str(corpus), str(work / f"build-{n}"), str(n)]))
    return runs


def work_floor(runs: list[dict]) -> dict:
    best = min(runs, key=lambda r: r["seconds"])
    return {"seconds": round(best["seconds"], 3), "cpu_seconds": round(min(r["cpu_seconds"] for r in runs), 3),
            "images": best["images"], "runs": [round(r["seconds"], 3) for r in runs]}


_BUILD = r"""
import json, resource, sys, time
from pathlib import Path
from pmc_hub.build import build
from pmc_hub.config import BuildConfig, RunOptions
if __name__ == "__main__":
    t = time.perf_counter()
    r = build(BuildConfig(sources=(sys.argv[1],)), RunOptions(out_dir=Path(sys.argv[2]), workers=int(sys.argv[3]),
                                                            progress=False, fresh=True))
    s = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": s, "configs": r.configs, "maxrss_main_kb": usage.ru_maxrss,
                      "cpu_main_seconds": usage.ru_utime + usage.ru_stime}))
"""


def bench_build(all_runs: dict, work: Path, input_bytes: int, articles: int) -> dict:
    results = {}
    for n, runs in all_runs.items():
        if n == "floor":
            continue
        out = work / f"build-{n}"
        raw = min(runs, key=lambda r: r["seconds"])
        figures = sum(v.get("train", 0) for k, v in raw["configs"].items() if k != "articles")
        s = raw["seconds"]
        results[f"workers_{n}"] = {
            "workers": n, "seconds": round(s, 3), "runs": [round(r["seconds"], 3) for r in runs],
            "cpu_seconds": round(min(r["cpu_seconds"] for r in runs), 2),
            # the main process's share (imports, reading packages, deduplication, Parquet, hashing, the end)
            "cpu_seconds_main": round(min(r["cpu_main_seconds"] for r in runs), 2),
            "articles": articles, "figures_written": figures,
            "articles_per_s": round(articles / s, 2), "figures_per_s": round(figures / s, 2),
            "articles_per_s_per_core": round(articles / s / n, 2), "figures_per_s_per_core": round(figures / s / n, 2),
            "input_mb_per_s": round(input_bytes / 1e6 / s, 2),
            "peak_rss_main_mb": _rss_mb(raw["maxrss_main_kb"]), "peak_rss_tree_mb": round(raw["peak_rss_bytes"] / 2**20, 1),
            "out_dir": str(out),
        }
    return results


_BREAKDOWN = _FLOOR_IMAGE + r"""
import collections, functools, json, sys, tempfile, time
from pathlib import Path
from lxml import etree
from pmc_hub import jats, media, spool, stage
from pmc_hub.config import BuildConfig
from pmc_hub.labels.content import ContentLabeler
from pmc_hub.models import OnDisk
from pmc_hub.sources import open_sources
spent = collections.Counter()
def timed(owner, name, step):
    inner = getattr(owner, name)
    @functools.wraps(inner)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[step] += time.perf_counter() - start
    setattr(owner, name, wrapper)
timed(jats, "parse", "jats_extraction")
timed(media, "inspect", "image_inspection")
timed(OnDisk, "__call__", "image_inspection")  # reading the image file: in the floor's share too
timed(ContentLabeler, "label_batch", "labels")
timed(stage, "validate", "validation")
timed(stage, "validate_fields", "validation")
timed(spool, "spool", "arrow_handover")
packages = list(open_sources((sys.argv[1],)))
art = stage.ArticleStage(BuildConfig(sources=(sys.argv[1],)))
folder = Path(tempfile.mkdtemp())
parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
best = {}
for attempt in range(int(sys.argv[2]) + 1):  # the first pass warms caches and loads models: not counted
    spent.clear()
    start = time.perf_counter()
    for seq, package in enumerate(packages):
        spool.spool(art(package), folder, seq)
    spent["stage_total"] = time.perf_counter() - start
    start = time.perf_counter()
    for package in packages:
        etree.fromstring(package.xml, parser)
    spent["floor_bare_parse"] = time.perf_counter() - start
    start = time.perf_counter()
    for package in packages:
        for name, read in package.media.items():
            if name.lower().endswith(IMAGE_SUFFIXES):
                floor_image(read())
    spent["floor_image_work"] = time.perf_counter() - start
    for path in folder.iterdir():
        path.unlink()
    if attempt:
        best = {k: min(v, best.get(k, v)) for k, v in spent.items()}
print(json.dumps({k: round(v, 3) for k, v in best.items()}))
"""


def stage_breakdown(corpus: Path, repeat: int) -> dict:
    """Where the worker's time goes: the per-article stage's steps timed in one process over the
    corpus (minimum of ``repeat`` passes after a warm-up), beside the floor's share of the same
    work (bare parse; SHA-256 + smallest decode + 32x32 grey) on the same packages."""
    steps = measured(["-c", _BREAKDOWN, str(corpus), str(repeat)])
    steps = {k: v for k, v in steps.items() if k not in ("wall_seconds", "cpu_seconds", "peak_rss_bytes")}
    named = sum(v for k, v in steps.items() if not k.startswith(("floor_", "stage_total")))
    steps["other"] = round(steps["stage_total"] - named, 3)
    return steps


def bench_read(parquet_out: Path, work: Path) -> dict:
    """Streaming rows/s over the Parquet output and over the same rows as WebDataset shards."""
    os.environ["HF_DATASETS_CACHE"] = str(work / "hf-cache")
    from datasets import load_dataset

    from pmc_hub.config import ShardLayout
    from pmc_hub.output import FIGURE_CONFIGS, read_manifest
    from pmc_hub.report import BuildReport
    from pmc_hub.wds import export_build

    wds_out = work / "wds"
    files = read_manifest(parquet_out).files
    report = BuildReport.read(parquet_out)
    export_build(parquet_out, wds_out, report, files, ShardLayout())
    written = [c for c in FIGURE_CONFIGS if c in report.configs]
    result = {}
    for fmt, folder in (("parquet", parquet_out), ("webdataset", wds_out)):
        result[fmt] = {"bytes": sum(f.stat().st_size for c in written for f in (folder / c).rglob("*") if f.is_file())}
        for mode, decode in (("decoded", True), ("raw", False)):
            rows, setup, iterating = 0, 0.0, 0.0
            for config in written:
                start = time.perf_counter()
                ds = load_dataset(str(folder), config, split="train", streaming=True)
                stream = iter(ds if decode else ds.decode(False))
                first = next(stream, None)  # resolving files and the card: a fixed cost, kept apart
                began = time.perf_counter()
                setup += began - start
                if first is None:
                    continue
                rows += sum(1 for _ in stream)  # rows after the first
                iterating += time.perf_counter() - began
            result[fmt][mode] = {"rows": rows + len(written), "setup_seconds": round(setup, 3),
                                 "seconds": round(iterating, 3), "rows_per_s": round(rows / iterating, 1) if iterating else None}
    for mode in ("decoded", "raw"):
        pq_rate, wds_rate = result["parquet"][mode]["rows_per_s"], result["webdataset"][mode]["rows_per_s"]
        if pq_rate and wds_rate:
            result[f"webdataset_vs_parquet_{mode}"] = round(wds_rate / pq_rate, 2)
    return result


def projection(build: dict, floor: dict | None, articles: int) -> dict:
    """CPU-hours for the whole PMC OA subset, from the CPU seconds per article measured here."""
    one = build["workers_1"]
    out = {"pmc_oa_articles": PMC_OA_ARTICLES,
           "figures_per_article_in_corpus": round(one["figures_written"] / max(1, articles), 2),
           "cpu_hours_build": round(PMC_OA_ARTICLES * one["cpu_seconds"] / articles / 3600, 1)}
    if floor and floor["cpu_seconds"]:
        out["cpu_hours_work_floor"] = round(PMC_OA_ARTICLES * floor["cpu_seconds"] / articles / 3600, 1)
    return out


def comparison(build: dict, floor: dict, workers: int) -> dict:
    one, many = build["workers_1"], build.get(f"workers_{workers}")
    out = {"build_vs_floor_wall": round(one["seconds"] / floor["seconds"], 2),
           "build_vs_floor_cpu": round(one["cpu_seconds"] / floor["cpu_seconds"], 2),
           # each round's build over the same round's floor: how much the ratio moves with the machine
           "build_vs_floor_wall_by_round": [round(b / f, 2) for b, f in zip(one["runs"], floor["runs"])]}
    if many and workers > 1:
        out[f"speedup_{workers}_workers"] = round(one["seconds"] / many["seconds"], 2)
    return out


def print_table(report: dict) -> None:
    lines = [("metric", "value")]
    p = report.get("parse") or {}
    if p:
        lines += [("parse: pmc-hub ms/article", p.get("pmc_hub_ms_per_article")),
                  ("parse: pubmed_parser ms/article", p.get("pubmed_parser_ms_per_article", p.get("pubmed_parser"))),
                  ("parse: speed-up vs pubmed_parser", p.get("speedup_vs_pubmed_parser"))]
    for key, b in (report.get("build") or {}).items():
        lines += [(f"build {key}: articles/s (per core)", f"{b['articles_per_s']} ({b['articles_per_s_per_core']})"),
                  (f"build {key}: figures/s (per core)", f"{b['figures_per_s']} ({b['figures_per_s_per_core']})"),
                  (f"build {key}: input MB/s", b["input_mb_per_s"]),
                  (f"build {key}: CPU seconds, all processes / main", f"{b['cpu_seconds']} / {b['cpu_seconds_main']}"),
                  (f"build {key}: peak RSS main / all processes MB", f"{b['peak_rss_main_mb']} / {b['peak_rss_tree_mb']}")]
    if report.get("work_floor"):
        lines.append(("work floor: seconds (CPU seconds)", f"{report['work_floor']['seconds']} ({report['work_floor']['cpu_seconds']})"))
    for key, value in (report.get("build_vs_floor") or {}).items():
        lines.append((key.replace("_", " "), value))
    for key, value in (report.get("stage_breakdown") or {}).items():
        lines.append((f"stage seconds: {key.replace('_', ' ')}", value))
    r = report.get("read") or {}
    for fmt in ("parquet", "webdataset"):
        if fmt in r:
            lines.append((f"read streaming {fmt}: rows/s decoded / raw",
                          f"{r[fmt]['decoded']['rows_per_s']} / {r[fmt]['raw']['rows_per_s']}"))
    for key, value in (report.get("projection") or {}).items():
        lines.append((f"projection: {key}", value))
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k:<{width}}  {v}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=150, help="corpus size to generate (default 150)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="build workers for the scaling run")
    ap.add_argument("--corpus", type=Path, help="reuse (or create here) a corpus folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-side", type=int, default=2000, help="largest generated image side")
    ap.add_argument("--parse-files", type=int, default=200, help="articles in the parser comparison")
    ap.add_argument("--work-dir", type=Path, help="where build outputs go (default: a temporary folder)")
    ap.add_argument("--json", type=Path, default=Path("bench.json"), help="where to write the results")
    ap.add_argument("--skip-parse", action="store_true")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of the floor and each build; the minimum counts")
    ap.add_argument("--skip-read", action="store_true")
    args = ap.parse_args(argv)

    from pmc_hub.synthetic_corpus import CorpusOptions, write_corpus

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="pmc-hub-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = args.corpus or work / "corpus"
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "platform": platform.platform()}}
    if not any(corpus.glob("PMC*.*/PMC*.xml")):
        start = time.perf_counter()
        write_corpus(CorpusOptions(out_dir=corpus, articles=args.articles, seed=args.seed,
                                             max_side=args.max_side, workers=args.workers))
        report["corpus_generation_seconds"] = round(time.perf_counter() - start, 2)
    xmls, input_bytes = corpus_files(corpus)
    meta = json.loads((corpus / "corpus.json").read_text()) if (corpus / "corpus.json").exists() else {}
    report["corpus"] = {"dir": str(corpus), "articles": len(xmls), "figures": meta.get("figures"),
                        "input_mb": round(input_bytes / 1e6, 2), "licenses": meta.get("licenses")}
    if not args.skip_parse:
        report["parse"] = bench_parse(xmls, args.parse_files)
    if not args.skip_build:
        _measured(["-c", _FLOOR, str(corpus), str(work / "floor.parquet")])  # untimed: warms the page cache
        runs = timed_runs(corpus, work, args.workers, args.repeat)
        report["work_floor"] = work_floor(runs["floor"])
        report["build"] = bench_build(runs, work, input_bytes, len(xmls))
        report["build_vs_floor"] = comparison(report["build"], report["work_floor"], args.workers)
        report["projection"] = projection(report["build"], report["work_floor"], len(xmls))
        report["stage_breakdown"] = stage_breakdown(corpus, args.repeat)
        if not args.skip_read:
            report["read"] = bench_read(Path(report["build"]["workers_1"]["out_dir"]), work)
    report["peak_rss_bench_mb"] = _rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    args.json.write_text(json.dumps(report, indent=1))
    print_table(report)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
