#!/usr/bin/env python
"""Speed of `pmc_hub.jats.parse` against a bare lxml parse of the same XML, per source; and a
digest of every parsed article, to check that a faster parser gives the same output.

    python scripts/bench_jats.py [SOURCE ...] [--runs 7] [--save DIGESTS.json] [--check DIGESTS.json]

SOURCE is anything `pmc-hub build` reads (a synthetic corpus from scripts/make_corpus.py, article
folders, tarballs); the default is the real samples: tests/data/samples, the bundled sample and
tests/data/jats. All XML is read into memory first; each timing is the minimum over --runs passes
of the per-article mean (ms/article), measured in one process with the garbage collector off.
--save writes each article's digest (SHA-256 of its `Article` as sorted JSON, or of the error it
raises); --check compares against a saved file and exits 1 naming every article that differs.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Callable

from lxml import etree

from pmc_hub import jats
from pmc_hub.resources import sample_dir
from pmc_hub.sources import open_source

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = [REPO / "tests/data/samples", sample_dir(), REPO / "tests/data/jats"]


def load(source: Path) -> dict[str, bytes]:
    """Every article XML of one source, by its origin (file path, or tarball member)."""
    return {f"{pkg.origin}:{pkg.package_id}": pkg.xml for pkg in open_source(source) if pkg.xml}


def digest(xml: bytes) -> str:
    try:
        parsed = json.dumps(dataclasses.asdict(jats.parse(xml)), sort_keys=True, ensure_ascii=False)
    except jats.JATSError as exc:
        parsed = f"JATSError: {exc}"
    return hashlib.sha256(parsed.encode()).hexdigest()


def ms_per_article(fn: Callable[[bytes], object], xmls: list[bytes], runs: int) -> float:
    best = float("inf")
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter()
            for xml in xmls:
                try:
                    fn(xml)
                except jats.JATSError:
                    pass
            best = min(best, time.perf_counter() - start)
            gc.collect()
    finally:
        gc.enable()
    return 1000 * best / max(len(xmls), 1)


def bare_parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, jats._parser())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sources", nargs="*", type=Path, default=DEFAULT_SOURCES)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--save", type=Path, help="write every article's digest to this JSON file")
    p.add_argument("--check", type=Path, help="compare every article's digest with this JSON file")
    args = p.parse_args(argv)
    digests: dict[str, str] = {}
    rows = []
    for source in args.sources:
        xmls = load(source)
        digests.update((name, digest(xml)) for name, xml in xmls.items())
        data = list(xmls.values())
        parse_ms = ms_per_article(jats.parse, data, args.runs)
        lxml_ms = ms_per_article(bare_parse, data, args.runs)
        rows.append({"source": str(source), "articles": len(data), "mb": round(sum(map(len, data)) / 1e6, 1),
                     "parse_ms": round(parse_ms, 3), "lxml_ms": round(lxml_ms, 3), "ratio": round(parse_ms / lxml_ms, 2)})
    print(f"{'source':60} {'articles':>8} {'MB':>6} {'parse ms':>9} {'lxml ms':>8} {'ratio':>6}")
    for r in rows:
        print(f"{r['source'][-60:]:60} {r['articles']:>8} {r['mb']:>6} {r['parse_ms']:>9} {r['lxml_ms']:>8} {r['ratio']:>6}")
    print(json.dumps({"runs": args.runs, "sources": rows,
                      "digest": hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()}))
    if args.save:
        args.save.write_text(json.dumps(digests, indent=0, sort_keys=True) + "\n")
    if args.check:
        saved = json.loads(args.check.read_text())
        differ = sorted(name for name in saved.keys() | digests.keys() if saved.get(name) != digests.get(name))
        for name in differ:
            print(f"differs: {name}", file=sys.stderr)
        print(f"{len(digests) - len(differ)} of {len(saved)} saved articles identical", file=sys.stderr)
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
