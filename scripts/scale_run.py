#!/usr/bin/env python
"""The monthly-release cycle at scale, on this machine (issue 11; numbers in docs/benchmark.md).

    python scripts/scale_run.py [--articles 5000] [--new 1000] [--updated 200] [--removed 100]
                                [--jobs 4] [--workers 2] [--work-dir DIR] [--json scale.json]

1. a synthetic corpus of N articles (month 1) and its next month (new, updated, removed articles;
   unchanged articles are hard links to month 1's files);
2. peak RSS of a build of the first 1,000 articles and of the full next month (flat in size?);
3. month 1 built as --jobs `--shard I/N` jobs and merged, then published to a loopback Hub
   (tests/hub_server.py, in its own process) and tagged;
4. month 2 applied with `pmc-hub update` and published: the files the Hub received, and the update's
   time against a full rebuild of month 2;
5. `load_dataset(repo, config, revision=tag)` at both tags: exactly month 1's rows and exactly a
   from-scratch build of month 2, per config.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import measured  # scripts/measure.py

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("commercial", "noncommercial", "other", "articles")
REPO = "pmc/scale"


def corpus(work: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    from pmc_hub.synthetic_corpus import CorpusOptions, write_cloud, write_corpus, make_article

    m1, m2 = work / "month1", work / "month2"
    base = dict(articles=args.articles, seed=args.seed, max_side=args.max_side, max_figures=args.max_figures)
    if not (m1 / "corpus.json").exists():
        write_corpus(CorpusOptions(out_dir=m1, workers=args.workers, **base))
    if not (m2 / "corpus.json").exists():
        later = CorpusOptions(out_dir=m2, new=args.new, updated=args.updated, removed=args.removed, **base)
        m2.mkdir(parents=True, exist_ok=True)
        for index in later.indices():
            article = make_article(index, later)
            if article.version == 1 and index < args.articles:  # unchanged: month 1's files, linked
                src = m1 / f"{article.pmcid}.1"
                (m2 / src.name).mkdir(exist_ok=True)
                for f in src.iterdir():
                    if not (m2 / src.name / f.name).exists():
                        os.link(f, m2 / src.name / f.name)
            else:
                write_cloud(article, m2)
        (m2 / "corpus.json").write_text(json.dumps({"articles": len(later.indices())}))
    return m1, m2


def cli(*argv: str) -> list[str]:
    return ["-m", "pmc_hub.cli", *argv]


def build_step(sources: list[str], out: Path, *extra: str) -> dict:
    return measured(cli("build", *sources, "--out", str(out), "--no-progress", *extra))


_LOAD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import pytest
from hub_server import point_clients_at
mp = pytest.MonkeyPatch()
point_clients_at(sys.argv[2], sys.argv[3], mp)
mp.setenv("HF_TOKEN", "hf_alice")  # the repo's owner: a gated repo serves her
from datasets import load_dataset
keys = {}
for config in ("commercial", "noncommercial", "other", "articles"):
    try:
        ds = load_dataset(sys.argv[4], config, split="train", revision=sys.argv[5])
    except ValueError:  # a config the release does not have
        keys[config] = []
        continue
    column = "article_accession_id" if config == "articles" else "image_key"
    keys[config] = sorted(ds[column])
print(json.dumps(keys))
"""


def hub_keys(url: str, home: Path, revision: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _LOAD, str(ROOT / "tests"), url, str(home), REPO, revision],
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"load_dataset at {revision} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def folder_keys(out: Path) -> dict:
    import pyarrow.parquet as pq

    from pmc_hub.output import shard_files

    keys = {}
    for config in CONFIGS:
        column = "article_accession_id" if config == "articles" else "image_key"
        keys[config] = sorted(k for f in shard_files(out, config) for k in pq.read_table(f, columns=[column]).column(0).to_pylist())
    return keys


def start_hub(home: Path) -> tuple[subprocess.Popen, str]:
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from hub_server import HubServer; "
            "s = HubServer().start(); print(s.url, flush=True); time.sleep(10**6)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(ROOT / "tests")], stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def hub_env(url: str, home: Path) -> dict:
    return {**os.environ, "HF_ENDPOINT": url, "HF_TOKEN": "hf_alice", "HF_HOME": str(home), "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=5000)
    ap.add_argument("--new", type=int, default=1000)
    ap.add_argument("--updated", type=int, default=200)
    ap.add_argument("--removed", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=4, help="--shard jobs for month 1 (run one after the other)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--max-side", type=int, default=800)
    ap.add_argument("--max-figures", type=int, default=8)
    ap.add_argument("--work-dir", type=Path)
    ap.add_argument("--json", type=Path, default=Path("scale.json"))
    args = ap.parse_args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="pmc-hub-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {"options": {k: str(v) for k, v in vars(args).items()}}
    t = time.perf_counter()
    m1, m2 = corpus(work, args)
    report["corpus_seconds"] = round(time.perf_counter() - t, 1)
    w = ("--workers", str(args.workers))

    first = work / "first1000.txt"
    first.write_text("\n".join(str(p) for p in sorted(m1.glob("PMC*.1"))[:1000]))
    report["build_1k"] = build_step([str(first)], work / "out-1k", *w, "--fresh")
    report["jobs"] = [build_step([str(m1)], work / f"job{i}", *w, "--shard", f"{i}/{args.jobs}", "--release", "2026-11", "--fresh")
                      for i in range(args.jobs)]
    merged = work / "merged"
    report["merge"] = measured(cli("merge", *(str(work / f"job{i}") for i in range(args.jobs)), "--out", str(merged)))
    month1 = folder_keys(merged)

    home = work / "hf-home"
    hub, url = start_hub(home)
    try:
        env = hub_env(url, home)
        report["publish_1"] = measured(cli("publish", str(merged), "--repo", REPO, "--gated", "auto"), env=env)
        report["update"] = measured(cli("update", str(merged), str(m2), "--release", "2026-12", "--no-progress", *w), env=env)
        report["release_2026_12"] = json.loads((merged / "releases" / "2026-12.json").read_text())
        dry = subprocess.run([sys.executable, *cli("publish", str(merged), "--repo", REPO, "--dry-run")],
                             capture_output=True, text=True, env=env, check=True).stdout
        report["publish_2_plan"] = next((line.strip() for line in dry.splitlines() if line.strip().startswith("added")), dry[-300:])
        report["publish_2"] = measured(cli("publish", str(merged), "--repo", REPO), env=env)
        report["rebuild_month2"] = build_step([str(m2)], work / "rebuild", *w, "--release", "2026-12", "--fresh")
        rebuilt = folder_keys(work / "rebuild")
        at_1, at_2 = hub_keys(url, home / "load", "2026-11"), hub_keys(url, home / "load", "2026-12")
        report["tags"] = {"2026-11 rows": {c: len(at_1[c]) for c in CONFIGS}, "2026-12 rows": {c: len(at_2[c]) for c in CONFIGS},
                          "2026-11 equals month 1": at_1 == month1, "2026-12 equals a from-scratch build": at_2 == rebuilt}
    finally:
        hub.kill()
    mb = lambda r: round(r["peak_rss_bytes"] / 2**20)  # noqa: E731
    report["summary"] = {
        "peak RSS, 1,000 articles (MB)": mb(report["build_1k"]),
        f"peak RSS, {args.articles - args.removed + args.new:,} articles (MB)": mb(report["rebuild_month2"]),
        "peak RSS, shard jobs (MB)": [mb(j) for j in report["jobs"]],
        "month 1: jobs + merge (s)": round(sum(j["wall_seconds"] for j in report["jobs"]) + report["merge"]["wall_seconds"], 1),
        "update (s)": report["update"]["wall_seconds"], "full rebuild of month 2 (s)": report["rebuild_month2"]["wall_seconds"],
        "release 2026-12": report["release_2026_12"]["articles"],
        "publish 2: files": report["publish_2_plan"],
        **report["tags"],
    }
    args.json.write_text(json.dumps(report, indent=1))
    for k, v in report["summary"].items():
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
