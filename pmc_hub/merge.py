"""Merge the output folders of several `--shard I/N` builds into one Hub-ready folder."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pyarrow.parquet as pq

from .build import SPLIT, write_shards
from .report import REPORT_FILE, BuildReport
from .writers import ShardLayout


class MergeError(ValueError):
    """Folders that cannot be merged (not finished builds, the same article twice...)."""


def _report(folder: Path) -> dict:
    path = folder / REPORT_FILE
    if not path.is_file():
        raise MergeError(f"{folder}: no {REPORT_FILE}; is it a finished pmc-hub build?")
    return json.loads(path.read_text(encoding="utf-8"))


def merge_builds(folders: list[Path], out_dir: Path, layout: ShardLayout = ShardLayout(), write_card: bool = True,
                 dedup_distance: Optional[int] = 6) -> BuildReport:
    """Concatenate the builds' shards config by config (in the folders' order) and sum their reports.

    Each build removed its own duplicate images; with ``dedup_distance`` the merge also removes
    copies across builds (the first folder's copy is kept). None: keep them."""
    out_dir = Path(out_dir)
    if any(Path(f).resolve() == out_dir.resolve() for f in folders):
        raise MergeError("the merged folder must not be one of the inputs")
    reports = [_report(Path(f)) for f in folders]
    merged = BuildReport(options={"merged_from": [str(f) for f in folders], "shards": [r["options"].get("shard") for r in reports]},
                         license_table_version=reports[0]["license_table_version"], pmc_hub_version=reports[0]["pmc_hub_version"])
    for r in reports:
        for key in ("articles_in", "articles_written", "figures_in", "images_in", "images_written"):
            setattr(merged, key, getattr(merged, key) + r[key])
        merged.skipped.extend(r["skipped"])
        for reason, n in r["skip_counts"].items():
            merged.skip_counts[reason] = merged.skip_counts.get(reason, 0) + n
        for category, n in r["licenses"].items():
            merged.licenses[category] = merged.licenses.get(category, 0) + n
        for category, codes in r["license_codes"].items():
            for code, n in codes.items():
                merged.license_codes.setdefault(category, {})[code] = merged.license_codes.get(category, {}).get(code, 0) + n
        merged.elapsed_seconds += r["elapsed_seconds"]
    _check_unique_articles([Path(f) / rel for f, r in zip(folders, reports) for rel in r["files"].get("articles", [])])
    configs = {c for r in reports for c in r["configs"]}
    files = {c: [Path(f) / rel for f, r in zip(folders, reports) for rel in r["files"].get(c, [])] for c in configs}
    rows = {c: sum(r["configs"].get(c, {}).get(SPLIT, 0) for r in reports) for c in configs}
    write_shards(out_dir, files, rows, layout, dedup_distance, merged)
    merged.write(out_dir)
    if write_card and merged.configs:
        from .cards import write_card as write

        write(out_dir, json.loads(merged.to_json()))
    return merged


def _check_unique_articles(article_shards: list[Path]) -> None:
    seen: set[str] = set()
    for path in article_shards:
        for aid in pq.read_table(path, columns=["article_accession_id"]).column(0).to_pylist():
            if aid in seen:
                raise MergeError(f"{aid} is in more than one input build: were they built with the same --shard?")
            seen.add(aid)
