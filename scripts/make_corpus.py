#!/usr/bin/env python
"""Write a synthetic corpus of realistic PMC articles (PMC Cloud layout and/or legacy .tar.gz).

    python scripts/make_corpus.py OUT --articles 1000 [--layout cloud|targz|both] [--seed 0] [--workers 2]

Reproducible: the same --seed and --articles give the same files. See pmc_hub/synthetic_corpus.py.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from pmc_hub.synthetic_corpus import LAYOUTS, CorpusError, CorpusOptions, write_corpus


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir", type=Path)
    p.add_argument("--articles", type=int, default=100)
    p.add_argument("--layout", choices=LAYOUTS, default="cloud")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--max-figures", type=int, default=12)
    p.add_argument("--min-side", type=int, default=300, help="smallest image side in pixels")
    p.add_argument("--max-side", type=int, default=2000, help="largest image side in pixels")
    p.add_argument("--template", type=Path, action="append", help="JATS file to template from (repeatable)")
    p.add_argument("--next-month", metavar="NEW,UPDATED,REMOVED",
                   help="a later month of the same corpus: NEW more articles, UPDATED revised (version 2), REMOVED gone")
    args = p.parse_args(argv)
    try:
        new, updated, removed = (int(x) for x in (args.next_month or "0,0,0").split(","))
    except ValueError:
        p.error(f"--next-month wants NEW,UPDATED,REMOVED (e.g. 1000,200,100), not {args.next_month!r}")
    options = CorpusOptions(out_dir=args.out_dir, articles=args.articles, seed=args.seed, layout=args.layout,
                            max_figures=args.max_figures, min_side=args.min_side, max_side=args.max_side,
                            templates=args.template, workers=args.workers, new=new, updated=updated, removed=removed)
    start = time.perf_counter()
    try:
        summary = write_corpus(options)
    except CorpusError as exc:
        print(f"make_corpus: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(summary) | {"seconds": round(time.perf_counter() - start, 2)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
