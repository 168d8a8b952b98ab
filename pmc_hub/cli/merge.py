"""`pmc-hub merge DIR... --out DIR`: one folder from the folders of `--shard I/N` builds."""
from __future__ import annotations

import argparse
from pathlib import Path

from .build import add_dedup_arguments, add_layout_arguments, layout_of


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="merge the output folders of --shard builds into one dataset folder",
                       description="Concatenate the shards of several finished builds (e.g. the jobs of "
                                   "`pmc-hub build --shard I/N`) config by config, remove images duplicated across "
                                   "them, sum their reports, write the card.")
    p.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    p.add_argument("--out", type=Path, required=True, help="the merged folder (new, or an earlier merge)")
    p.add_argument("--release", help="release name of the merged shards (default: the first input's)")
    add_layout_arguments(p)
    add_dedup_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..merge import merge_builds  # (here: only this command imports the merge)

    report = merge_builds(args.folders, args.out, layout_of(args), dedup_distance=None if args.no_dedup else args.dedup_distance,
                          release=args.release)
    print(f"merged {len(args.folders)} builds: {report.articles_in} articles, {report.images_written} images -> {args.out}")
    return 0
