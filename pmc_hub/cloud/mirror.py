"""Fetch to a mirror: copy the selected versions into a local folder (what ``pmc-hub fetch`` does)."""
from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from .source import CloudOptions, CloudSource, FetchReport

STATE_NAME = ".pmc-cloud-state.json"  # the mirror's state file, inside the mirror folder
_PACKAGE_ID = re.compile(r"PMC\d+\.\d+")


def fetch_mirror(options: CloudOptions, prune: bool = False, progress: bool = True) -> FetchReport:
    """Fetch every selected new or updated version into ``options.cache_dir``; with ``prune``, delete
    the folders of removed and superseded versions. Per-version failures are in the report."""
    source = CloudSource(options)
    plan = source.plan()
    report = source.report
    with tqdm(total=len(plan.todo), unit="article", desc="fetch", file=sys.stderr, disable=not progress) as bar:
        for _ in source.packages(plan):
            bar.n = len(report.yielded) + len(report.skipped) + len(report.failed) + 1
            bar.refresh()
        bar.n = len(report.yielded) + len(report.skipped) + len(report.failed)
        bar.refresh()
    if prune:
        for pid in report.removed + report.superseded:
            folder = Path(options.cache_dir) / pid
            if _PACKAGE_ID.fullmatch(pid) and folder.is_dir():
                shutil.rmtree(folder)
    return report


def summary(report: FetchReport, out: Path) -> str:
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
    if report.problems:
        lines.append(f"metadata values dropped ({len(report.problems)}):")
        lines += [f"  {pid}: {problem}" for pid, problem in report.problems]
    if report.failed:
        lines.append(f"FAILED {len(report.failed)} (tried again on the next run):")
        lines += [f"  {pid}: {reason}" for pid, reason in report.failed]
    if report.removed:
        lines.append(f"removed from PMC since the last run: {', '.join(report.removed)}")
    if report.superseded:
        lines.append(f"replaced by a newer version: {', '.join(report.superseded)}")
    return "\n".join(lines)
