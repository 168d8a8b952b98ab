"""`pmc-hub update OUT SOURCE... [--release NAME]`: add a release to a finished folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..config import RunOptions
from ..update import update
from .build import print_summary


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("update", help="add a release to a built folder from a newer source (only what changed)",
                       description="Build only new and updated article versions of SOURCE into new shards under "
                                   "<config>/<release>/, drop rows of removed, superseded and updated articles by "
                                   "rewriting the shards that hold them, dedup new images against every published one, "
                                   "and write releases/<release>.json and the card's changelog. SOURCE is the complete "
                                   "current corpus (a fetch mirror, the bucket): articles absent from it are removed. "
                                   "The folder's own build options (labels, MeSH, subfigures, dedup, layout) are used.")
    p.add_argument("out", type=Path, metavar="OUT", help="a finished build or update folder")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="the newer source, as for `pmc-hub build`")
    p.add_argument("--release", help="the new release's name (default: the month, YYYY-MM)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--article-seconds", type=float, default=300.0, metavar="S", help="time budget of one article (default 300)")
    p.add_argument("--article-memory", type=int, default=4096, metavar="MB", help="memory budget of one article (default 4096)")
    p.add_argument("--checkpoint-every", type=int, metavar="N", help="also record progress every N articles")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = RunOptions(out_dir=args.out, workers=args.workers, article_seconds=args.article_seconds,
                         article_memory_mb=args.article_memory, checkpoint_articles=args.checkpoint_every,
                         progress=not args.no_progress)
    report = update(args.sources, options, release=args.release)
    print_summary(report, args.out)
    return 0
