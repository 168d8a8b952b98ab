#!/usr/bin/env python
"""Speed of `pmc_hub.jats.parse` against a bare lxml parse of the same XML (and, with --against,
against the parser of another git revision), per source; and a digest of every parsed article,
to check that a faster parser gives the same output.

    python scripts/bench_jats.py [SOURCE ...] [--runs 7] [--against REV] [--save DIGESTS.json] [--check DIGESTS.json]

SOURCE is anything `pmc-hub build` reads (a synthetic corpus from scripts/make_corpus.py, article
folders, tarballs); the default is the real samples: tests/data/samples, the bundled sample and
tests/data/jats. All XML is read into memory first. Each timing is the minimum over --runs passes
of the per-article mean CPU time (ms/article: the machine is shared, and CPU time is what a
waiting process does not spend), in one process with the garbage collector off; the parsers take
turns within each pass, so a busy machine slows them alike.
--save writes each article's digest (SHA-256 of its `Article` as sorted JSON, or of the error it
raises); --check compares against a saved file and exits 1 naming every article that differs.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
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


def parser_at(rev: str) -> ModuleType:
    """pmc_hub/jats.py as it was at git revision ``rev``, imported beside the current one."""
    code = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:pmc_hub/jats.py"], check=True,
                          capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(f"pmc_hub._jats_at_{rev.replace('~', '_').replace('^', '_')}", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "pmc_hub"  # its relative imports (.errors, .models) resolve to today's package
    exec(compile(code, f"{rev}:pmc_hub/jats.py", "exec"), module.__dict__)
    return module


def digest(xml: bytes) -> str:
    try:
        parsed = json.dumps(dataclasses.asdict(jats.parse(xml)), sort_keys=True, ensure_ascii=False)
    except jats.JATSError as exc:
        parsed = f"JATSError: {exc}"
    return hashlib.sha256(parsed.encode()).hexdigest()


def bare_parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, jats._parser())


def timed(fn: Callable[[bytes], object], xmls: list[bytes]) -> float:
    start = time.process_time()
    for xml in xmls:
        try:
            fn(xml)
        except ValueError:  # JATSError of either parser; the article is still timed
            pass
    return time.process_time() - start


def ms_per_article(parsers: dict[str, Callable[[bytes], object]], xmls: list[bytes], runs: int) -> dict[str, float]:
    best = {name: float("inf") for name in parsers}
    gc.disable()
    try:
        for _ in range(runs):
            for name, fn in parsers.items():
                best[name] = min(best[name], timed(fn, xmls))
            gc.collect()
    finally:
        gc.enable()
    return {name: round(1000 * seconds / max(len(xmls), 1), 3) for name, seconds in best.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sources", nargs="*", type=Path, default=DEFAULT_SOURCES)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--against", metavar="REV", help="also time the parser of this git revision (e.g. main)")
    p.add_argument("--save", type=Path, help="write every article's digest to this JSON file")
    p.add_argument("--check", type=Path, help="compare every article's digest with this JSON file")
    args = p.parse_args(argv)
    parsers = {"parse": jats.parse, "lxml": bare_parse}
    if args.against:
        parsers[args.against] = parser_at(args.against).parse
    digests: dict[str, str] = {}
    rows = []
    for source in args.sources:
        xmls = load(source)
        digests.update((name, digest(xml)) for name, xml in xmls.items())
        ms = ms_per_article(parsers, list(xmls.values()), args.runs)
        row = {"source": str(source), "articles": len(xmls), "mb": round(sum(map(len, xmls.values())) / 1e6, 1), **ms,
               "parse/lxml": round(ms["parse"] / ms["lxml"], 2)}
        if args.against:
            row["speedup"] = round(ms[args.against] / ms["parse"], 2)
        rows.append(row)
    columns = [c for c in rows[0] if c != "source"]
    print(f"{'source':50} " + " ".join(f"{c:>10}" for c in columns))
    for r in rows:
        print(f"{r['source'][-50:]:50} " + " ".join(f"{r[c]:>10}" for c in columns))
    print(json.dumps({"runs": args.runs, "sources": rows,
                      "digest": hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()}))
    if args.save:
        args.save.write_text(json.dumps(digests, indent=0, sort_keys=True) + "\n")
    if args.check:
        saved = json.loads(args.check.read_text())
        differ = sorted(name for name in saved.keys() & digests.keys() if saved[name] != digests[name])
        for name in differ:
            print(f"differs: {name}", file=sys.stderr)
        print(f"{len(saved.keys() & digests.keys()) - len(differ)} of {len(saved)} saved articles parsed here and identical, "
              f"{len(differ)} differ, {len(saved.keys() - digests.keys())} not among these sources, "
              f"{len(digests.keys() - saved.keys())} not saved", file=sys.stderr)
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
