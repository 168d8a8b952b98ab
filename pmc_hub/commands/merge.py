"""`pmc-hub merge DIR... --out DIR`: one folder from the folders of `--shard I/N` builds."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..merge import MergeError, merge_builds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="merge the output folders of --shard builds into one dataset folder",
                       description="Concatenate the shards of several finished builds (e.g. the jobs of "
                                   "`pmc-hub build --shard I/N`) config by config, sum their reports, write the card.")
    p.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        report = merge_builds(args.folders, args.out)
    except MergeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"merged {len(args.folders)} builds: {report.articles_in} articles, {report.images_written} images -> {args.out}")
    return 0
