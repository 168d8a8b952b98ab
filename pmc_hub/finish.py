"""The end of a build: benchmark carve, report, release record, card, manifest, WebDataset copy.

Every step is idempotent, so a build killed here finishes when run again. The manifest is written
last and marks the folder complete: until then `publish` refuses it.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from . import licenses
from .version import __version__
from .config import BuildConfig, RunOptions
from .output import (CARD_FILE, FIGURE_CONFIGS, RELEASES_DIR, REPORT_FILE, Manifest, OutputError, OwnedFile,
                     shard_config, write_manifest, write_owned_text)
from .index import ReleaseIndex, add_checkpoints
from .report import BuildReport
from .state import BuildState
from .writers import checkpoint_files

log = logging.getLogger(__name__)


def finish(config: BuildConfig, run: RunOptions, state: BuildState, elapsed: float) -> BuildReport:
    """The report, release index, release record, card and manifest of a build whose rows are all
    written; the journal is read a checkpoint at a time."""
    out = Path(run.out_dir)
    report = BuildReport(options={"sources": list(config.sources) or ["<bundled sample>"], "shard": config.shard,
                                  "workers": run.workers, "release": config.release, **asdict(config.layout)},
                         license_table_version=licenses.TABLE_VERSION, pmc_hub_version=__version__,
                         elapsed_seconds=round(elapsed, 3))
    files: dict[str, OwnedFile] = {}
    index = ReleaseIndex()
    written = 0
    for cp in state.iter_checkpoints():
        files.update(checkpoint_files([cp]))
        for summary in cp["articles"]:
            report.add(summary)
            written += bool(summary["article_written"])  # (a written article id is never written twice)
        add_checkpoints(index, [cp])
    if config.benchmark and any(shard_config(p) and shard_config(p)[0] == "commercial" for p in files):
        from .benchmark import carve

        files, carved = carve(out, files, config.benchmark, config.release, config.layout, config.benchmark_seed)
        report.benchmark = carved.to_dict()
        mark_heldout(index, out, files)
    index.config = config
    index.write(out)
    release = release_record(config.release, added=files, articles=written)
    files = publish_folder(out, report, files, [config.release], {config.release: release}, write_card=run.write_card,
                           max_repo_files=config.layout.max_repo_files)
    state.update(complete=True, finished=time.time())
    if run.webdataset_dir and any(c in report.configs for c in FIGURE_CONFIGS):
        from .wds import export_build

        export_build(out, Path(run.webdataset_dir), report, files, config.layout, write_card=run.write_card)
    if not report.configs:
        log.warning("no rows were written: see %s for the reason of every skip", out / REPORT_FILE)
    return report


def release_record(release: str, added: dict[str, OwnedFile], articles: int, updated: Optional[dict] = None,
                   removed: Optional[dict] = None, removed_articles: int = 0, updated_articles: int = 0) -> dict:
    """What one release changed, per config: the changelog behind `releases/<release>.json` and the card."""
    def by_config(paths) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for p in sorted(paths or ()):
            if (cs := shard_config(p)) is not None:
                out.setdefault(cs[0], []).append(p)
        return out

    return {"release": release, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "articles": {"added": articles, "updated": updated_articles, "removed": removed_articles},
            "added": by_config(added), "updated": by_config(updated), "removed": by_config(removed)}


def publish_folder(out: Path, report: BuildReport, files: dict[str, OwnedFile], releases: list[str],
                   records: dict[str, dict], write_card: bool = True, max_repo_files: Optional[int] = None) -> dict[str, OwnedFile]:
    """Write the report, release records, card and finally the complete manifest of ``files`` (the shards
    and whatever else the folder already owns, earlier releases' records included);
    returns every file the manifest lists."""
    configs: dict[str, dict[str, int]] = {}
    report.files = {}
    for path, entry in files.items():
        if (cs := shard_config(path)) is not None:
            configs.setdefault(cs[0], {}).setdefault(cs[1], 0)
            configs[cs[0]][cs[1]] += entry.rows or 0
            report.files.setdefault(cs[0], []).append(path)
    report.configs = {c: configs[c] for c in sorted(configs) if sum(configs[c].values())}
    files = dict(files)
    total = len(files) + len(records) + 2
    if max_repo_files is not None and total > max_repo_files:
        raise OutputError(f"{out} would hold {total} files, over the limit of {max_repo_files} for one Hub repository "
                          "(--max-repo-files); build with larger shards (--shard-size) or publish the configs to separate repos")
    for name, record in records.items():
        files[f"{RELEASES_DIR}/{name}.json"] = write_owned_text(out, f"{RELEASES_DIR}/{name}.json", json.dumps(record, indent=1))
    files[REPORT_FILE] = write_owned_text(out, REPORT_FILE, report.to_json())
    if write_card and report.configs:
        from .cards import render_card

        files[CARD_FILE] = write_owned_text(out, CARD_FILE, render_card(out, json.loads(report.to_json()), files))
    write_manifest(out, Manifest(files, list(releases), complete=True))
    return files


def mark_heldout(index: ReleaseIndex, out: Path, files: dict[str, OwnedFile]) -> None:
    """Flag the articles of the benchmark's test split: no later release may put them in train."""
    import pyarrow.parquet as pq

    test = {a for p in files if (shard_config(p) or ("",))[0] == "benchmark"
            for a in pq.read_table(out / p, columns=["article_accession_id"]).column(0).to_pylist()}
    index.articles.hold_out(test)
