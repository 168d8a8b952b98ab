"""What the release index and the duplicate index cost at a corpus's size (docs/benchmark.md).

    python scripts/bench_indexes.py release --articles 200000
    python scripts/bench_indexes.py dedup --images 1000000

``release``: writes a release index of N synthetic articles (4 figures each) into a temporary
folder, then reads it and walks it the way `update` does (a lookup for every 7th article, every
entry's images); each in a fresh interpreter started by a parent that holds nothing (a child
inherits its parent's peak RSS on Linux); prints seconds and the peak RSS of each.
``dedup``: adds N random pHashes (random SHA-256s, image keys like a build's) to a
`DuplicateIndex` and prints seconds and the peak RSS over the interpreter's imports.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def write_release_index(folder: Path, articles: int) -> None:
    from pmc_hub.config import BuildConfig
    from pmc_hub.index import ReleaseIndex, add_checkpoints

    index = ReleaseIndex(config=BuildConfig())
    files = {"commercial": {"path": "commercial/2026-11/train-000000.parquet"},
             "articles": {"path": "articles/2026-11/train-000000.parquet"}}
    for start in range(0, articles, 5000):
        summaries = [{"version": f"PMC{i}.1@{i:040x}", "article_id": f"PMC{i}", "article_written": True,
                      "position": i, "origin": "s3://pmc-oa-opendata/oa_comm/xml/all/", "skips": [],
                      "rows": {"commercial": 4, "articles": 1}, "license": "CC BY", "figures": 4,
                      "images": [[f"PMC{i}/fig{j}.jpg", f"{i * 7 + j:064x}", f"{(i * 31 + j) % 2 ** 64:016x}", True]
                                 for j in range(4)]}
                     for i in range(start, min(articles, start + 5000))]
        add_checkpoints(index, [{"release": "2026-11", "files": files, "articles": summaries}])
    index.write(folder)


def walk_release_index(folder: Path, articles: int) -> dict:
    from pmc_hub.index import ReleaseIndex

    start, imported = time.perf_counter(), _peak_mb()
    index = ReleaseIndex.read(folder)
    found = sum(index.articles.get(f"PMC{i}") is not None for i in range(0, articles, 7))
    images = sum(len(entry.images) for entry in index.articles.values())
    return {"looked_up": found, "images": images, "walk_seconds": round(time.perf_counter() - start, 1),
            "walk_peak_rss_mb": _peak_mb(), "imports_mb": imported}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def bench_dedup(images: int, seed: int = 1) -> dict:
    from pmc_hub.dedup import DuplicateIndex

    rng, imported = random.Random(seed), _peak_mb()
    index, duplicates, start = DuplicateIndex(), 0, time.perf_counter()
    for i in range(images):
        article = f"PMC{i // 4 + 1_000_000}"
        duplicates += index.add(f"{article}/{article}_fig{i % 4 + 1}.jpg", f"{rng.getrandbits(256):064x}",
                                f"{rng.getrandbits(64):016x}") is not None
    return {"images": images, "duplicates": duplicates, "seconds": round(time.perf_counter() - start, 1),
            "peak_rss_over_imports_mb": _peak_mb() - imported}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    release = sub.add_parser("release")
    release.add_argument("--articles", type=int, default=200_000)
    for step in ("write", "walk"):  # (run in a fresh interpreter each by `release`)
        child = sub.add_parser(step)
        child.add_argument("folder", type=Path)
        child.add_argument("--articles", type=int, required=True)
    dedup = sub.add_parser("dedup")
    dedup.add_argument("--images", type=int, default=200_000)
    args = parser.parse_args(argv)
    if args.what == "write":
        start = time.perf_counter()
        write_release_index(args.folder, args.articles)
        print(json.dumps({"write_seconds": round(time.perf_counter() - start, 1), "write_peak_rss_mb": _peak_mb()}))
    elif args.what == "walk":
        print(json.dumps(walk_release_index(args.folder, args.articles)))
    elif args.what == "release":
        with tempfile.TemporaryDirectory() as folder:
            n = str(args.articles)
            print(json.dumps({"articles": args.articles, **_child("write", folder, "--articles", n),
                              **_child("walk", folder, "--articles", n)}))
    else:
        print(json.dumps(bench_dedup(args.images)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
