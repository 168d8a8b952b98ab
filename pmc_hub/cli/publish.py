"""`pmc-hub publish DIR --repo ORG/NAME`: push a finished build to a Hub dataset repo as a tagged release."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from ..publish import PublishOptions, publish


def register(sub: argparse._SubParsersAction) -> None:
    defaults = PublishOptions(folder=Path("."), repo_id="")
    p = sub.add_parser("publish", help="upload a finished build to a Hugging Face Hub dataset repo and tag its release (resumable)")
    p.add_argument("dir", type=Path, help="a folder written by `pmc-hub build`: exactly the files of its manifest are published")
    p.add_argument("--repo", required=True, metavar="ORG/NAME", help="the dataset repo; created if missing")
    p.add_argument("--gated", choices=["manual", "auto"],
                   help="require access requests (reviewed by hand, or accepted at once); needed when the card is gated "
                        "and the repo is not yet")
    p.add_argument("--private", action="store_true", help="create the repo private (or make it private)")
    p.add_argument("--revision", default="main", metavar="BRANCH", help="branch to commit to; created if missing")
    p.add_argument("--dry-run", action="store_true", help="show the plan; change nothing on the Hub")
    p.add_argument("--batch-files", type=int, default=defaults.batch_files, metavar="N",
                   help=f"files per commit at most (default {defaults.batch_files}, the Hub's recommendation)")
    p.add_argument("--batch-gb", type=float, default=defaults.batch_bytes / 2**30, metavar="GB",
                   help=f"bytes per commit at most, in GiB (default {defaults.batch_bytes / 2**30:g})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.batch_files < 1 or args.batch_gb <= 0:
        raise UsageError("--batch-files and --batch-gb must be positive")
    options = PublishOptions(folder=args.dir, repo_id=args.repo, gated=args.gated, private=args.private,
                             revision=args.revision, dry_run=args.dry_run, batch_files=args.batch_files,
                             batch_bytes=int(args.batch_gb * 2**30))
    print("\n".join(publish(options).describe()))
    return 0
