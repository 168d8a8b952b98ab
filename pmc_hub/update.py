"""A release: bring a finished folder up to date with a newer source, adding files, never renaming.

`update` compares the source's article packages with the folder's release index: it builds only
new and updated article versions, into new shards under ``<config>/<release>/``; rows of updated,
removed and withdrawn articles leave their old shards, which are rewritten in place (same path);
new images are deduplicated against every published one; and it writes
``releases/<release>.json`` (what was added, rewritten and removed, per config), the card's
changelog and a manifest of the whole dataset. The old shards need not be on disk except those
it must rewrite: the index holds what it needs.

It is resumable like a build (same journal), and its removals are a two-phase rewrite like the
benchmark carve: every changed shard is written beside the original, recorded, then renamed.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Optional

from . import licenses
from .version import __version__
from .build import LEAVE_OUT, BuildError, Published, RowWriter, in_shard
from .config import BuildConfig, RunOptions
from .finish import publish_folder, release_record
from .index import IndexedArticle, ReleaseIndex, add_checkpoints, package_key, summary_images, summary_key
from .models import ArticlePackage, Skip
from .output import (CARD_FILE, OwnedFile, check_release, default_release, locked, read_manifest, schema_of,
                     shard_config)
from .ownership import UPDATE_SUFFIX, apply_edit, claim
from .report import BuildReport
from .sources import check_sources, open_sources
from .stage import package_version
from .state import BuildState
from .writers import checkpoint_files, read_tables, rows_without, write_file

log = logging.getLogger(__name__)

HELD_OUT = "held out"  # a new version of an article in the benchmark's test split: never in train


@dataclass
class UpdatePlan:
    """What a newer source changes, by article key."""

    updated: list[str] = field(default_factory=list)  # a new version to build; the old rows leave
    removed: list[str] = field(default_factory=list)  # gone from the source: the rows leave
    heldout: list[str] = field(default_factory=list)  # a new version of a benchmark test article: never in train
    new: int = 0

    def to_json(self) -> dict:
        return {"updated": self.updated, "removed": self.removed, "heldout": self.heldout, "new": self.new}


def plan_update(index: ReleaseIndex, config: BuildConfig) -> UpdatePlan:
    """Compare the source's packages (id and XML hash) with the index."""
    plan = UpdatePlan()
    seen: set[str] = set()  # (keys only: at the corpus's size their versions would double it)
    for package in open_sources(config.sources):
        key = package_key(package.package_id)
        if key in seen or not in_shard(package, config.shard):
            continue
        seen.add(key)
        entry = index.articles.get(key)
        if entry is None:
            plan.new += 1
        elif entry.version != package_version(package):
            (plan.heldout if entry.heldout else plan.updated).append(key)
    plan.removed = sorted(e.key for e in index.articles.values() if e.key not in seen and not e.heldout)
    return plan


class _Published:
    """The update's view of the published articles for `RowWriter`: an unchanged article is
    replayed (`Published`), a new version of a held-out one is left out, anything else is built."""

    def __init__(self, index: ReleaseIndex, plan: UpdatePlan):
        self.index, self.heldout = index, set(plan.heldout)

    def __call__(self, package: ArticlePackage):
        key = package_key(package.package_id)
        entry = self.index.articles.get(key)
        if key in self.heldout:
            return LEAVE_OUT
        if entry is None or entry.version != package_version(package):
            return None
        summary = entry.summary
        return Published(entry.article_id, summary.get("origin", ""), tuple(summary_images(summary)),
                         written=bool(summary.get("article_written")), rebuild=not entry.heldout)


def update(sources: list[str], run: RunOptions, release: Optional[str] = None) -> BuildReport:
    """Add a release to the finished folder ``run.out_dir`` from the newer ``sources``, built with
    the folder's own options (labels, MeSH, subfigures, dedup, layout)."""
    out = Path(run.out_dir)
    check_sources(sources)
    with locked(out, "update"):
        manifest = read_manifest(out)
        if manifest is None or not manifest.complete:
            raise BuildError(f"{out}: not a finished pmc-hub build; build it first (`pmc-hub build ... --out {out}`)")
        state = BuildState(out)
        st = state.read()
        index = ReleaseIndex.read(out)
        config = replace(index.config, sources=tuple(str(s) for s in sources), release=release, benchmark=0)
        started = time.time()
        if st.get("mode") == "update" and not st.get("complete"):
            config = config.with_release(st["release"])
            if st.get("fingerprint") != config.fingerprint():
                raise BuildError(f"{out} holds an unfinished update with other sources or options; run the same command to resume")
            plan = UpdatePlan(**st["plan"])
            claim(out, manifest, state, resuming=True)
        else:
            config = config.with_release(check_release(config.release or default_release()))
            if config.release in manifest.releases:
                raise BuildError(f"{out} already has a release {config.release!r}; name the new one with --release")
            claim(out, manifest, state, resuming=False)
            state.reset()
            plan = plan_update(index, config)
            state.update(mode="update", fingerprint=config.fingerprint(), release=config.release, complete=False,
                         started=started, rows_done=False, plan=plan.to_json())
        return _run(config, run, state, manifest, index, plan, started)


def _run(config: BuildConfig, run: RunOptions, state: BuildState, manifest, index: ReleaseIndex, plan: UpdatePlan,
         started: float) -> BuildReport:
    out = Path(run.out_dir)
    if not state.read().get("rows_done"):
        RowWriter(config, run, state, state.checkpoints(), published=_Published(index, plan)).write()
        state.update(rows_done=True)
    checkpoints = state.checkpoints()  # (what this update built: new, updated and rebuilt articles)
    rebuilt = [summary_key(s) for cp in checkpoints for s in cp["articles"] if s.get("replaces")]
    leaving = {k: index.articles[k] for k in (*plan.updated, *plan.removed, *rebuilt) if k in index.articles}
    edits = _drop_rows(out, state, manifest.files, {e.article_id: e for e in leaving.values()}, config)
    return _finish(config, run, state, manifest, index, plan, checkpoints, leaving, edits, time.time() - started)


def _drop_rows(out: Path, state: BuildState, files: dict[str, OwnedFile], leaving: dict[str, IndexedArticle],
               config: BuildConfig) -> dict:
    """Rewrite every shard holding rows of the leaving articles without them (two-phase, resumable);
    returns {"rewritten": {path: entry}, "removed": [paths]}."""
    done = state.edit_record("update", "done")
    if done is not None:
        return done
    prepared = state.edit_record("update", "prepared")
    if prepared is None:
        prepared = {"rewritten": {}, "removed": [], "renames": []}
        shards = sorted({path for entry in leaving.values() for path in entry.files.values() if path in files})
        for rel in shards:
            if not (out / rel).is_file():
                raise BuildError(f"{out / rel} is needed to remove the rows of updated or removed articles and is not on "
                                 "disk; download it from the published dataset into the folder, then run the update again")
            config_name = shard_config(rel)[0]
            kept = (rows_without(t, "article_accession_id", leaving)
                    for t in read_tables(out / rel, config.layout.row_group_rows))  # streamed: a row group at a time
            w = write_file(out, rel + UPDATE_SUFFIX, schema_of(config_name), kept, config.layout)
            if w is not None:
                prepared["rewritten"][rel] = asdict(w.owned())
                prepared["renames"].append([rel + UPDATE_SUFFIX, rel])
            else:
                prepared["removed"].append(rel)
        state.save_edit_record("update", "prepared", prepared)
    apply_edit(out, prepared)
    state.save_edit_record("update", "done", prepared)
    return prepared


def _finish(config: BuildConfig, run: RunOptions, state: BuildState, manifest, index: ReleaseIndex, plan: UpdatePlan,
            checkpoints: list[dict], leaving: dict[str, IndexedArticle], edits: dict, elapsed: float) -> BuildReport:
    out = Path(run.out_dir)
    for key in leaving:
        index.articles.pop(key, None)
    add_checkpoints(index, checkpoints)
    new = checkpoint_files(checkpoints)
    rewritten = {p: OwnedFile(**e) for p, e in edits["rewritten"].items()}
    files = {p: f for p, f in manifest.files.items() if p not in edits["removed"]}
    files.update(rewritten)
    files.update(new)
    report = _report(config, run, index, elapsed, manifest)
    held = [Skip(index.articles[k].article_id, HELD_OUT,
                 "a new version of an article of the benchmark's test split is never put in train") for k in plan.heldout]
    report.add_skips(s.__dict__ for s in held)
    index.write(out)
    rebuilt = sum(1 for cp in checkpoints for s in cp["articles"] if s.get("replaces"))
    record = release_record(config.release, added=new, updated=rewritten, removed=edits["removed"], articles=plan.new,
                            updated_articles=len(plan.updated), removed_articles=len(plan.removed))
    record["articles"]["rebuilt"] = rebuilt  # unchanged, built again: a duplicate decision changed
    publish_folder(out, report, files, [*manifest.releases, config.release], {config.release: record},
                   write_card=run.write_card and CARD_FILE in manifest.files, max_repo_files=config.layout.max_repo_files)
    state.update(complete=True, finished=time.time())
    return report


def _report(config: BuildConfig, run: RunOptions, index: ReleaseIndex, elapsed: float, manifest) -> BuildReport:
    """The whole dataset's report: every current article's summary, plus the benchmark as carved."""
    previous = BuildReport.read(Path(run.out_dir))
    report = BuildReport(options={**previous.options, "sources": list(config.sources), "release": config.release,
                                  "releases": [*manifest.releases, config.release]},
                         license_table_version=licenses.TABLE_VERSION, pmc_hub_version=__version__,
                         elapsed_seconds=round(elapsed, 3), benchmark=previous.benchmark)
    for entry in index.articles.values():
        report.add(entry.summary)
    return report
