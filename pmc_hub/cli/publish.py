"""`pmc-hub publish DIR --repo ORG/NAME`: push a built folder to a Hub dataset repo."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import publish


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("publish", help="upload a built folder to a Hugging Face Hub dataset repo (resumable)")
    p.add_argument("dir", type=Path, help="a folder written by `pmc-hub build` (its .pmc-hub/ state is never uploaded)")
    p.add_argument("--repo", required=True, metavar="ORG/NAME", help="the dataset repo; created if missing")
    p.add_argument("--gated", choices=["manual", "auto"], help="require access requests (reviewed by hand, or auto-accepted)")
    p.add_argument("--private", action="store_true", help="create the repo private (or make it private)")
    p.add_argument("--revision", default="main", metavar="BRANCH", help="branch to commit to; created if missing")
    p.add_argument("--dry-run", action="store_true", help="show the plan; change nothing on the Hub")
    p.add_argument("--batch-files", type=int, default=50, metavar="N", help="data files per commit (default 50)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = publish.PublishOptions(folder=args.dir, repo_id=args.repo, gated=args.gated, private=args.private,
                                     revision=args.revision, dry_run=args.dry_run, batch_files=args.batch_files)
    try:
        result = publish.publish(options)
    except publish.PublishError as e:
        print(f"pmc-hub publish: {e}", file=sys.stderr)
        return 1
    print("\n".join(result.describe()))
    return 0
