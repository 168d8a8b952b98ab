#!/usr/bin/env python
"""Benchmark pmc-hub on a synthetic corpus; prints a table and writes JSON (docs/benchmark.md).

    python scripts/bench.py [--articles 150] [--workers N] [--corpus DIR] [--json bench.json]
                            [--skip-parse] [--skip-build] [--skip-read]

Measured in one run, on the same files:
- parse: pmc_hub.jats.parse against pubmed_parser (parse_pubmed_xml + parse_pubmed_caption +
  parse_pubmed_paragraph), one process, each reading the file itself;
- build: pmc_hub.build.build with 1 worker (per-core rates, peak RSS) and with --workers,
  against the I/O floor: merely reading (and decompressing) every input file through the same
  source reader;
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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def io_floor(corpus: Path) -> dict:
    """Read every article and every media file through the source reader, doing nothing else."""
    from pmc_hub.sources import open_sources

    start = time.perf_counter()
    articles = files = size = 0
    for package in open_sources([corpus]):
        articles += 1
        size += len(package.xml)
        for load in package.media.values():
            size += len(load())
            files += 1
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 3), "articles": articles, "media_files": files, "bytes": size}


def run_build_child(corpus: Path, out: Path, workers: int) -> dict:
    """One build in a fresh interpreter, so its memory is its own; the peak RSS of the whole
    process tree (main + workers) is sampled with psutil every 50 ms."""
    import psutil

    code = (
        "import json, resource, time\n"
        "from pathlib import Path\n"
        "from pmc_hub.build import BuildOptions, build\n"
        "t = time.perf_counter()\n"
        f"r = build(BuildOptions(sources=[Path({str(corpus)!r})], out_dir=Path({str(out)!r}), workers={workers}, progress=False, fresh=True))\n"
        "s = time.perf_counter() - t\n"
        "print(json.dumps({'seconds': s, 'configs': r.configs, 'maxrss_main_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    cpu: dict[int, float] = {}
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            rss = 0
            for p in tree:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system
            peak = max(peak, rss)
        except psutil.Error:
            pass  # a worker ended between listing and reading it
        time.sleep(0.05)
    stdout, stderr = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"build with {workers} worker(s) failed:\n{stderr[-3000:]}")
    raw = json.loads(stdout.strip().splitlines()[-1])
    raw["peak_rss_tree_bytes"] = peak
    raw["cpu_seconds_sampled"] = sum(cpu.values())
    return raw


def bench_build(corpus: Path, work: Path, workers: int, input_bytes: int, articles: int) -> dict:
    results = {}
    for n in sorted({1, workers}):
        out = work / f"build-{n}"
        raw = run_build_child(corpus, out, n)
        figures = sum(v.get("train", 0) for k, v in raw["configs"].items() if k != "articles")
        s = raw["seconds"]
        results[f"workers_{n}"] = {
            "workers": n, "seconds": round(s, 3),
            "cpu_seconds": round(raw["cpu_seconds_sampled"], 2), "articles": articles, "figures_written": figures,
            "articles_per_s": round(articles / s, 2), "figures_per_s": round(figures / s, 2),
            "articles_per_s_per_core": round(articles / s / n, 2), "figures_per_s_per_core": round(figures / s / n, 2),
            "input_mb_per_s": round(input_bytes / 1e6 / s, 2),
            "peak_rss_main_mb": _rss_mb(raw["maxrss_main_kb"]), "peak_rss_tree_mb": round(raw["peak_rss_tree_bytes"] / 2**20, 1),
            "out_dir": str(out),
        }
    return results


def bench_read(parquet_out: Path, work: Path) -> dict:
    """Streaming rows/s over the Parquet output and over the same rows as WebDataset shards."""
    os.environ["HF_DATASETS_CACHE"] = str(work / "hf-cache")
    from datasets import load_dataset

    from pmc_hub import webdataset
    from pmc_hub.cards import write_card

    wds_out = work / "wds"
    shutil.rmtree(wds_out, ignore_errors=True)
    written = webdataset.export_parquet(parquet_out, wds_out)
    write_card(wds_out, json.loads((parquet_out / "build_report.json").read_text()))
    result = {}
    for fmt, folder in (("parquet", parquet_out), ("webdataset", wds_out)):
        result[fmt] = {"bytes": sum(f.stat().st_size for c in written for f in (folder / c).iterdir())}
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
    one = build["workers_1"]
    per_core = one["articles_per_s_per_core"]
    out = {"pmc_oa_articles": PMC_OA_ARTICLES,
           "figures_per_article_in_corpus": round(one["figures_written"] / max(1, articles), 2),
           "cpu_hours_build": round(PMC_OA_ARTICLES / per_core / 3600, 1) if per_core else None}
    if floor and floor["seconds"]:
        out["cpu_hours_io_floor"] = round(PMC_OA_ARTICLES / (floor["articles"] / floor["seconds"]) / 3600, 1)
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
                  (f"build {key}: peak RSS main / all processes MB", f"{b['peak_rss_main_mb']} / {b['peak_rss_tree_mb']}")]
    if report.get("io_floor"):
        lines.append(("I/O floor: read+decompress s", report["io_floor"]["seconds"]))
    if report.get("build_vs_io_floor") is not None:
        lines.append(("build (1 worker) / I/O floor", report["build_vs_io_floor"]))
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
    ap.add_argument("--skip-io-floor", action="store_true")
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
    if not args.skip_io_floor:
        report["io_floor"] = io_floor(corpus)
    if not args.skip_build:
        report["build"] = bench_build(corpus, work, args.workers, input_bytes, len(xmls))
        if report.get("io_floor"):
            report["build_vs_io_floor"] = round(report["build"]["workers_1"]["seconds"] / report["io_floor"]["seconds"], 1)
        report["projection"] = projection(report["build"], report.get("io_floor"), len(xmls))
        if not args.skip_read:
            report["read"] = bench_read(Path(report["build"]["workers_1"]["out_dir"]), work)
    report["peak_rss_bench_mb"] = _rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    args.json.write_text(json.dumps(report, indent=1))
    print_table(report)
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
