"""``pmc-hub fetch``: mirror selected PMC Cloud articles into a local folder, incrementally."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..cloud import IMAGE_SUFFIXES, STATE_NAME, CloudOptions, Selection, SpecError, fetch_mirror, parse_since, read_pmcid_file, summary
from ..cloud.bucket import CLIENTS, check_endpoint
from ..licenses import CATEGORIES
from ..remote import RetryPolicy


def _license_groups(text: str) -> frozenset[str]:
    groups = frozenset(g.strip() for g in text.split(",") if g.strip())
    bad = sorted(groups - set(CATEGORIES))
    if not groups or bad:
        raise argparse.ArgumentTypeError(f"unknown license group(s) {bad or [text]}: choose from {','.join(CATEGORIES)}")
    return groups


def _checked(parse):
    """An argparse type from a parser that raises `SpecError`: a bad value is argparse's usage error."""
    def convert(text: str):
        try:
            return parse(text)
        except SpecError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = parse.__name__
    return convert


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def register(sub) -> None:
    p = sub.add_parser(
        "fetch", help="mirror PMC Cloud articles into a local folder (incremental)",
        description="Copy the selected articles of the PMC Cloud bucket (pmc-oa-opendata) into DIR, laid out as "
                    "DIR/PMC<id>.<N>/PMC<id>.<N>.{xml,json} + figure images. Only the highest version of each PMCID "
                    "is taken. A state file in DIR makes later runs fetch only new or updated versions.")
    p.add_argument("--to", required=True, type=Path, metavar="DIR", help="mirror folder (also the download cache)")
    p.add_argument("--endpoint", type=_checked(check_endpoint), metavar="URL", help="S3-compatible endpoint, path-style (default: AWS)")
    p.add_argument("--client", choices=CLIENTS, default="https", help="plain HTTPS GETs (default) or boto3 (needs the 'cloud' extra)")
    p.add_argument("--license", type=_license_groups, metavar="GROUPS", help=f"keep these license groups only: {','.join(CATEGORIES)}")
    p.add_argument("--pmcids", type=_checked(read_pmcid_file), metavar="FILE", help="keep the PMCIDs listed in FILE (one per line)")
    p.add_argument("--since", type=_checked(parse_since), metavar="DATE", help="keep article versions updated on or after DATE (YYYY-MM-DD)")
    p.add_argument("--limit", type=_positive, metavar="N", help="fetch at most N articles")
    p.add_argument("--inventory", nargs="?", const="latest", metavar="FOLDER",
                   help="enumerate from the daily S3 inventory (newest, or the named folder) instead of listing metadata/")
    p.add_argument("--include-non-oa", action="store_true", help="also take versions outside the open access subset (author manuscripts...)")
    p.add_argument("--all-media", action="store_true", help=f"fetch every media file, not only images ({' '.join(IMAGE_SUFFIXES)})")
    p.add_argument("--state", type=Path, metavar="FILE", help=f"state file (default: DIR/{STATE_NAME})")
    p.add_argument("--prune", action="store_true", help="delete the folders of removed and superseded versions")
    p.add_argument("--retries", type=_positive, default=5, metavar="N", help="attempts per request (default 5)")
    p.add_argument("--workers", type=_positive, default=8, metavar="N", help="articles downloaded in parallel (default 8)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out: Path = args.to
    options = CloudOptions(
        cache_dir=out, client=args.client, endpoint=args.endpoint,
        selection=Selection(licenses=args.license, pmcids=args.pmcids, since=args.since,
                            open_access_only=not args.include_non_oa, limit=args.limit),
        state_file=args.state or out / STATE_NAME, inventory=args.inventory,
        media_suffixes=None if args.all_media else IMAGE_SUFFIXES, retry=RetryPolicy(attempts=args.retries),
        download_workers=args.workers,
    )
    report = fetch_mirror(options, prune=args.prune)
    print(summary(report, out))
    return 1 if report.failed else 0
