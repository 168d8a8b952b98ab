"""``pmc-hub fetch``: mirror selected PMC Cloud articles into a local folder, incrementally."""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from ..licenses import CATEGORIES
from ..pmc_cloud import CloudError, CloudOptions, CloudSource, RetryPolicy, Selection, IMAGE_SUFFIXES, parse_since, read_pmcid_file

STATE_NAME = ".pmc-cloud-state.json"


def _license_groups(text: str) -> frozenset[str]:
    groups = frozenset(g.strip() for g in text.split(",") if g.strip())
    bad = sorted(groups - set(CATEGORIES))
    if not groups or bad:
        raise argparse.ArgumentTypeError(f"unknown license group(s) {bad or [text]}: choose from {','.join(CATEGORIES)}")
    return groups


def _since(text: str):
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pmcids(text: str) -> frozenset[str]:
    try:
        return read_pmcid_file(Path(text))
    except (OSError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    p.add_argument("--endpoint", metavar="URL", help="S3-compatible endpoint, path-style (default: AWS)")
    p.add_argument("--client", choices=("https", "s3"), default="https", help="plain HTTPS GETs (default) or boto3 (needs the 'cloud' extra)")
    p.add_argument("--license", type=_license_groups, metavar="GROUPS", help=f"keep these license groups only: {','.join(CATEGORIES)}")
    p.add_argument("--pmcids", type=_pmcids, metavar="FILE", help="keep the PMCIDs listed in FILE (one per line)")
    p.add_argument("--since", type=_since, metavar="DATE", help="keep article versions updated on or after DATE (YYYY-MM-DD)")
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
    try:
        source = CloudSource(options)
        plan = source.plan()
        report = source.report
        with tqdm(total=len(plan.todo), unit="article", desc="fetch", file=sys.stderr) as bar:
            for _ in source.packages(plan):
                bar.n = len(report.yielded) + len(report.skipped) + len(report.failed) + 1
                bar.refresh()
            bar.n = len(report.yielded) + len(report.skipped) + len(report.failed)
            bar.refresh()
    except CloudError as exc:
        print(f"pmc-hub fetch: {exc}", file=sys.stderr)
        return 1
    if args.prune:
        for pid in report.removed + report.superseded:
            folder = out / pid
            if re.fullmatch(r"PMC\d+\.\d+", pid) and folder.is_dir():
                shutil.rmtree(folder)
    print(summary(report, out))
    return 1 if report.failed else 0


def summary(report, out: Path) -> str:
    t = report.transfer
    lines = [
        f"listed {report.listed} articles (latest versions): {len(report.new)} new, {len(report.updated)} updated, "
        f"{report.unchanged} unchanged since the last run, {report.excluded} outside --pmcids/--since",
        f"fetched {len(report.yielded)} articles into {out} ({t.downloaded_files} files, "
        f"{t.downloaded_bytes / 1e6:.1f} MB downloaded; {t.cached_files} files already cached)",
    ]
    if report.skipped:
        reasons = Counter(reason for _, reason in report.skipped)
        lines.append(f"skipped {len(report.skipped)}: " + "; ".join(f"{r} ({n})" for r, n in reasons.most_common()))
    if report.failed:
        lines.append(f"FAILED {len(report.failed)} (retried on the next run):")
        lines += [f"  {pid}: {reason}" for pid, reason in report.failed]
    if report.removed:
        lines.append(f"removed from PMC since the last run: {', '.join(report.removed)}")
    if report.superseded:
        lines.append(f"replaced by a newer version: {', '.join(report.superseded)}")
    return "\n".join(lines)
